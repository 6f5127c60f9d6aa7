package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// standaloneSpark starts a Spark standalone cluster on loopback from the
// test virtualenv's PySpark (its launcher, spark-class): a master and two
// workers of one core each, the first running the external shuffle
// service (one per host, and both workers are on this one), and returns
// the master's URL and the shuffle service's port.
func standaloneSpark(t *testing.T) (master string, shufflePort int) {
	t.Helper()
	python := needtest.VenvTool(t, "python")
	out, err := exec.Command(python, "-c", "from pyspark.find_spark_home import _find_spark_home as f; print(f())").Output()
	if err != nil {
		t.Fatalf("find SPARK_HOME: %v", err)
	}
	home := strings.TrimSpace(string(out))
	dir := t.TempDir()
	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	masterPort, masterUI, shufflePort := port(), port(), port()
	master = fmt.Sprintf("spark://127.0.0.1:%d", masterPort)
	ctx, cancel := context.WithCancel(context.Background())
	var procs []*exec.Cmd
	t.Cleanup(func() {
		cancel()
		for _, p := range procs {
			p.Wait()
		}
	})
	start := func(name string, opts string, args ...string) {
		cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "spark-class"), args...)
		// Ended with the test even when the test binary is killed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		cmd.Env = append(os.Environ(), "SPARK_HOME="+home, "SPARK_CONF_DIR="+dir, "SPARK_DAEMON_MEMORY=256m",
			"SPARK_LOCAL_IP=127.0.0.1", "SPARK_WORKER_OPTS="+opts, "SPARK_NO_DAEMONIZE=1")
		log := &hubtest.Buffer{}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s logged:\n%s", name, log.String())
			}
		})
	}
	start("master", "", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
		"--port", strconv.Itoa(masterPort), "--webui-port", strconv.Itoa(masterUI))
	for i, opts := range []string{
		fmt.Sprintf("-Dspark.shuffle.service.enabled=true -Dspark.shuffle.service.port=%d", shufflePort), "",
	} {
		work := filepath.Join(dir, fmt.Sprintf("worker%d", i))
		os.MkdirAll(work, 0o755)
		start(fmt.Sprintf("worker %d", i), opts, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
			"--cores", "1", "--memory", "1g", "--work-dir", work, "--webui-port", strconv.Itoa(port()), master)
	}
	hubtest.WaitFor(t, "two Spark workers", 3*time.Minute, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/", masterUI))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			AliveWorkers int `json:"aliveworkers"`
		}
		json.NewDecoder(resp.Body).Decode(&st)
		return st.AliveWorkers == 2
	})
	return master, shufflePort
}

// TestSparkDynamicAllocation proves what the default profile promises,
// on a real standalone cluster: a notebook's job over many partitions
// scales executors up, the hub's metrics and pages show them as they
// change, they are released after the idle timeout, and the shuffle data
// they wrote is still served (the next job skips the map stage).
func TestSparkDynamicAllocation(t *testing.T) {
	master, shufflePort := standaloneSpark(t)
	catalog := filepath.Join(t.TempDir(), "profiles.yaml")
	os.WriteFile(catalog, fmt.Appendf(nil, `profiles:
  - name: cluster
    display_name: Spark on the team's cluster
    cpus: 1
    mem: 2048
    spark:
      spark.master: %s
      spark.executor.cores: "1"
      spark.executor.memory: 512m
      spark.dynamicAllocation.maxExecutors: "2"
      spark.dynamicAllocation.executorIdleTimeout: 5s
      spark.shuffle.service.port: "%d"
`, master, shufflePort), 0o644)
	h, alice, _, common := frontEndHubWith(t, "jupyter-server", "--profiles", catalog, "--spark-interval", "1s")
	mustRun(t, "the admin's password\n", append([]string{"user", "add", "boss", "--admin", "--password-stdin"}, common...)...)
	metricsToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "boss", "--scopes", "read:metrics"}, common...)...))
	executors := func() int {
		m := regexp.MustCompile(`sparkhub_spark_executors\{user="alice"\} (\d+)`).FindStringSubmatch(metricsOf(t, h.URL, metricsToken))
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	alice.page("/user/alice/api/contents")
	var kernel struct{ ID string }
	if code := alice.api("POST", "/user/alice/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}
	conn := dialKernel(t, alice, "alice", kernel.ID)
	defer conn.Close()
	if got := executeWithin(t, conn, `from operator import add
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
print(spark.conf.get("spark.master"), spark.conf.get("spark.dynamicAllocation.enabled"), spark.conf.get("spark.shuffle.service.enabled"))`, 5*time.Minute); lastLine(got) != master+" true true" {
		t.Fatalf("the session's master and allocation = %q", got)
	}
	hubtest.WaitFor(t, "the hub to see alice's application, with no executor yet", 2*time.Minute, func() bool { return executors() == 0 })

	// A job over many partitions: executors come while it runs.
	msgID := sendExecute(t, conn, `def slow(x):
    import time
    time.sleep(0.5)
    return (x % 10, 1)
counts = sc.parallelize(range(80), 40).map(slow).reduceByKey(add)
print(sorted(counts.collect())[:2])`)
	hubtest.WaitFor(t, "executors while the job runs", 5*time.Minute, func() bool { return executors() > 0 })
	if _, _, body := alice.page("/hub/home"); !regexp.MustCompile(`id="spark-executors">[12] executor`).MatchString(body) {
		t.Errorf("alice's home page does not show her executors:\n%s", body)
	}
	if got := readOutput(t, conn, msgID, 10*time.Minute); lastLine(got) != "[(0, 8), (1, 8)]" {
		t.Fatalf("the job's result = %q", got)
	}
	// Idle, they go back to the cluster (idle timeout 5 s, a margin for
	// a loaded machine).
	hubtest.WaitFor(t, "the executors to be released", 2*time.Minute, func() bool { return executors() == 0 })

	// The shuffle files of the released executors are still served: the
	// next job over the same data skips the map stage.
	if got := executeWithin(t, conn, `print(sorted(counts.collect())[:2])
import json, urllib.request
jobs = json.load(urllib.request.urlopen(sc.uiWebUrl + "/api/v1/applications/" + sc.applicationId + "/jobs"))
print(max(jobs, key=lambda j: j["jobId"])["numSkippedStages"])`, 10*time.Minute); lastLine(got) != "1" {
		t.Errorf("the second job skipped %q stages, want 1 (its map output served by the shuffle service):\n%s", lastLine(got), got)
	}
}
