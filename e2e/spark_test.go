package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// TestSparkThroughTheHub: a server from the test virtualenv (PySpark
// 3.5) on a profile with Spark settings. Alice runs Spark from a
// notebook over the relayed websocket with nothing set, and gets the
// profile's settings; her Spark UI loads through the hub with every link
// under /user/alice/spark/; the home and admin pages and /hub/metrics
// show her application. Bob, whose server runs on the same machine, is
// refused alice's UI, and his own /spark/ says he runs no application
// although alice's driver listens on the port his would take.
func TestSparkThroughTheHub(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "profiles.yaml")
	os.WriteFile(catalog, []byte(`profiles:
  - name: spark
    display_name: Spark in the server
    cpus: 2
    mem: 2048
    spark:
      spark.sql.shuffle.partitions: "7"
`), 0o644)
	h, alice, bob, common := frontEndHubWith(t, "jupyter-server", "--profiles", catalog, "--spark-interval", "1s")

	// The contents service leaves the _xsrf cookie Jupyter's pages use.
	alice.page("/user/alice/api/contents")
	var kernel struct{ ID string }
	if code := alice.api("POST", "/user/alice/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}
	conn := dialKernel(t, alice, "alice", kernel.ID)
	defer conn.Close()
	// A JVM starting on a loaded machine: minutes, not seconds.
	if got := executeWithin(t, conn, `from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print(spark.range(10**6).selectExpr("sum(id)").collect()[0][0])`, 5*time.Minute); lastLine(got) != "499999500000" {
		t.Fatalf("the sum = %q", got)
	}
	if got := execute(t, conn, `print(spark.conf.get("spark.master"), spark.conf.get("spark.sql.shuffle.partitions"), spark.conf.get("spark.driver.memory"))`); lastLine(got) != "local[2] 7 1024m" {
		t.Errorf("master, shuffle partitions, driver memory = %q, want the profile's: local[2] 7 1024m", got)
	}

	// The UI through the hub: the jobs page and a stage page, every link
	// under alice's prefix.
	link := regexp.MustCompile(`(?:href|src)="([^"#]+)"`)
	for _, path := range []string{"/user/alice/spark/jobs/", "/user/alice/spark/stages/stage/?id=0&attempt=0"} {
		code, _, body := alice.page(path)
		if code != http.StatusOK || !strings.Contains(body, "/user/alice/spark/static/") {
			t.Fatalf("%s = %d (%d bytes)\n%.800q", path, code, len(body), body)
		}
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			l := m[1]
			if strings.HasPrefix(l, "?") || strings.HasPrefix(l, "javascript:") {
				continue
			}
			if !strings.HasPrefix(l, "/user/alice/spark/") {
				t.Errorf("%s links to %q, outside /user/alice/spark/", path, l)
				continue
			}
			if c, _, _ := alice.page(l); c != http.StatusOK {
				t.Errorf("%s: its link %s = %d", path, l, c)
			}
		}
	}
	if code, path, _ := alice.page("/user/alice/spark/"); code != http.StatusOK || path != "/user/alice/spark/jobs/" {
		t.Errorf("/user/alice/spark/ = %d at %q, want the jobs page", code, path)
	}
	if code, _, _ := alice.page("/user/alice/spark/jobs/job/kill/?id=0"); code != http.StatusForbidden {
		t.Errorf("a kill link through the hub = %d, want 403", code)
	}

	// Bob: not alice's UI; and his own server, whose UI would take the
	// same port, shows no application even while alice's listens.
	if code, _, _ := bob.page("/user/alice/spark/jobs/"); code != http.StatusNotFound {
		t.Errorf("bob at alice's Spark UI = %d, want 404", code)
	}
	anon := newClient(t, h.URL)
	if resp, err := anon.http.Get(h.URL + "/user/alice/spark/jobs/"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/hub/login") {
		t.Errorf("anonymous at alice's Spark UI = %d to %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	bobToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "bob"}, common...)...))
	if code := bob.api("POST", "/hub/api/users/bob/server", bobToken, map[string]any{}, nil); code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("start bob = %d", code)
	}
	hubtest.WaitFor(t, "bob's server", 3*time.Minute, func() bool {
		return bob.api("GET", "/user/bob/api/status", bobToken, nil, nil) == http.StatusOK
	})
	// (Servers run as accounts of their own only when the hub is root;
	// otherwise users share one account, and trust each other.)
	if code, _, body := bob.page("/user/bob/spark/jobs/"); os.Geteuid() == 0 && code != http.StatusNotFound || !strings.Contains(body, "No Spark application is running in your server") || strings.Contains(body, "alice") {
		t.Errorf("bob's own Spark UI while alice's driver runs = %d:\n%.300s", code, body)
	}

	// The hub's pages and metrics.
	hubtest.WaitFor(t, "alice's application on her home page", time.Minute, func() bool {
		_, _, body := alice.page("/hub/home")
		return strings.Contains(body, `id="spark-name"`) && strings.Contains(body, "/user/alice/spark/")
	})
	mustRun(t, "the admin's password\n", append([]string{"user", "add", "boss", "--admin", "--password-stdin"}, common...)...)
	boss := newClient(t, h.URL)
	boss.login("boss", "the admin's password")
	if _, _, body := boss.page("/hub/admin"); !strings.Contains(body, `id="spark-alice"`) || strings.Contains(body, `id="spark-bob"`) {
		t.Errorf("the admin page does not show alice's Spark alone:\n%s", body)
	}
	metricsToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "boss", "--scopes", "read:metrics"}, common...)...))
	metrics := metricsOf(t, h.URL, metricsToken)
	for _, want := range []string{`sparkhub_spark_executors{user="alice"} 0`, `sparkhub_spark_cores{user="alice"} 0`, `sparkhub_spark_active_jobs{user="alice"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/hub/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `sparkhub_spark_executors{user="bob"}`) {
		t.Errorf("/hub/metrics shows a Spark application for bob")
	}
}

// lastLine is the last line of a cell's output: what it printed after
// Spark's own log lines and progress bar, which also reach the notebook.
func lastLine(out string) string {
	lines := strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := len(lines) - 1; i >= 0; i-- {
		// Spark's progress bar goes to stderr, which may reach the
		// notebook after what the code printed.
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "[Stage ") {
			return l
		}
	}
	return ""
}

// metricsOf is the hub's /hub/metrics as a holder of token reads it.
func metricsOf(t *testing.T, base, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/hub/metrics", nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
