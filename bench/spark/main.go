// Command spark measures Spark through the hub with the real thing: the
// built hub on the local spawner, JupyterLab and PySpark 3.5 from a
// virtualenv (scripts/test-venv). It reports the time from an analyst's
// "Start" (their first visit of /hub/spawn, as a browser makes it) to a
// finished first Spark job in the new server, and the Spark UI's jobs
// page loaded through the hub against the same page from the driver's
// own port.
//
//	go build -o /tmp/sparkhub . && go run ./bench/spark -hub /tmp/sparkhub -venv "$(scripts/test-venv)"
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/internal/hubtraf"
)

func main() {
	hubBin := flag.String("hub", "", "the sparkhub binary (go build -o /tmp/sparkhub .)")
	venv := flag.String("venv", os.Getenv("SPARKHUB_TEST_VENV"), "a virtualenv with JupyterLab and PySpark (scripts/test-venv)")
	loads := flag.Int("loads", 30, "how many times to load the Spark UI's jobs page each way")
	flag.Parse()
	if *hubBin == "" || *venv == "" {
		fmt.Fprintln(os.Stderr, "give -hub PATH-TO-SPARKHUB and -venv PATH (or SPARKHUB_TEST_VENV)")
		os.Exit(2)
	}
	if err := run(*hubBin, *venv, *loads); err != nil {
		fmt.Fprintln(os.Stderr, "spark:", err)
		os.Exit(1)
	}
}

func run(hubBin, venv string, loads int) error {
	dir, err := os.MkdirTemp("", "sparkhub-bench-spark")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // servers' own accounts pass through to their homes
	catalog := filepath.Join(dir, "profiles.yaml")
	os.WriteFile(catalog, []byte("profiles:\n  - name: spark\n    display_name: PySpark 3.5\n    cpus: 2\n    mem: 2048\n"), 0o644)
	const password = "the bench analyst's password"
	add := exec.Command(hubBin, "user", "add", "bench", "--password-stdin", "--data-dir", dir)
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %v: %s", err, out)
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--idle-timeout", "0",
		"--profiles", catalog, "--local-cmd", filepath.Join(venv, "bin", "jupyter-lab")}
	if os.Geteuid() != 0 {
		args = append(args, "--local-shared-account")
	}
	hub := exec.Command(hubBin, args...)
	stderr, _ := hub.StderrPipe()
	if err := hub.Start(); err != nil {
		return err
	}
	defer func() {
		hub.Process.Signal(syscall.SIGTERM)
		hub.Wait()
	}()
	base, err := waitListening(stderr)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, stderr)

	ctx := context.Background()
	a := hubtraf.New(hubtraf.Options{Hub: base, User: "bench", Password: password, SpawnRefresh: 500 * time.Millisecond, SpawnTimeout: 5 * time.Minute})
	if err := a.Login(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := a.EnsureServer(ctx); err != nil {
		return err
	}
	ready := time.Since(start)
	if err := a.StartKernel(ctx); err != nil {
		return err
	}
	out, err := a.Output(ctx, `from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print(spark.range(10**6).selectExpr("sum(id)").collect()[0][0])
print(spark.sparkContext.uiWebUrl)`)
	firstJob := time.Since(start)
	if err != nil {
		return err
	}
	ui := regexp.MustCompile(`http://\S+`).FindString(out)
	if !strings.Contains(out, "499999500000") || ui == "" {
		return fmt.Errorf("the first job printed %q", out)
	}
	defer a.StopServer(ctx)

	var tt, dd []time.Duration
	for range loads {
		t := time.Now()
		if code, err := a.Get(ctx, "/user/bench/spark/jobs/"); err != nil || code != http.StatusOK {
			return fmt.Errorf("the Spark UI through the hub: %d %v", code, err)
		}
		tt = append(tt, time.Since(t))
		t = time.Now()
		resp, err := http.Get(ui + "/jobs/")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		dd = append(dd, time.Since(t))
	}
	slices.Sort(tt)
	slices.Sort(dd)
	fmt.Println("| measure | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| Start to server ready (/hub/spawn until JupyterLab) | %s |\n", ready.Round(10*time.Millisecond))
	fmt.Printf("| Start to a finished first Spark job (new server, new kernel, JVM) | %s |\n", firstJob.Round(10*time.Millisecond))
	fmt.Printf("| Spark UI jobs page through the hub, p50 / p90 (%d loads) | %s / %s |\n", loads, ms(tt[len(tt)/2]), ms(tt[len(tt)*9/10]))
	fmt.Printf("| the same page from the driver's port, p50 / p90 | %s / %s |\n", ms(dd[len(dd)/2]), ms(dd[len(dd)*9/10]))
	fmt.Printf("| through the hub / direct, p50 | %.2f |\n", float64(tt[len(tt)/2])/float64(dd[len(dd)/2]))
	return nil
}

var servingURL = regexp.MustCompile(`url=(http://[^ ]+)/hub/`)

func waitListening(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("the hub exited before serving")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
