package images

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/internal/needtest"
	"github.com/sparkhub/sparkhub/spawner"
)

// sparkAccepts is run by the venv's Python with PySpark 3.5: for each
// spark-defaults.conf named on the command line it reads the file with
// Spark's own parser (Utils.getPropertiesFromFile, what spark-submit
// uses), splits spark.mesos.constraints with the Guava splitter Spark's
// Mesos backend uses (MesosSchedulerUtils.parseConstraintString), and
// starts a driver with every setting, the master overridden to local[1],
// running one small job (once for files that differ only in those
// overridden settings). It prints a JSON object: file -> the settings
// as the driver holds them, or the error.
const sparkAccepts = `
import json, sys
from pyspark import SparkConf, SparkContext
SparkContext._ensure_initialized()
jvm = SparkContext._jvm
out = {}
started = {}
for path in sys.argv[1:]:
    try:
        props = jvm.org.apache.spark.util.Utils.getPropertiesFromFile(path)
        it = props.iterator()
        settings = {}
        while it.hasNext():
            kv = it.next()
            settings[kv._1()] = kv._2()
        c = settings.get("spark.mesos.constraints")
        parsed = {}
        if c:
            m = jvm.com.google.common.base.Splitter.on(";").trimResults().withKeyValueSeparator(":").split(c)
            es = m.entrySet().iterator()
            while es.hasNext():
                e = es.next()
                parsed[e.getKey()] = e.getValue()
        # Files that differ only in what is overridden here share a driver.
        key = json.dumps(sorted((k, v) for k, v in settings.items() if k != "spark.master" and not k.startswith("spark.driver.")))
        if key in started:
            out[path] = {"settings": settings, "held": started[key], "constraints": parsed}
            continue
        conf = SparkConf(loadDefaults=False).setAll(list(settings.items()))
        conf.setAppName("sparkhub-check").set("spark.master", "local[1]").set("spark.ui.enabled", "false")
        conf.set("spark.driver.port", "0").set("spark.driver.blockManager.port", "0").set("spark.driver.bindAddress", "127.0.0.1").set("spark.driver.host", "127.0.0.1")
        sc = SparkContext(conf=conf)
        try:
            assert sc.parallelize(range(10), 2).sum() == 45
            held = dict(sc.getConf().getAll())
        finally:
            sc.stop()
        started[key] = held
        out[path] = {"settings": settings, "held": held, "constraints": parsed}
    except Exception as e:
        out[path] = {"error": str(e)[:2000]}
print("RESULT " + json.dumps(out))
`

// TestSparkAcceptsRenderedSettings renders the sample catalog's profiles
// as sparkhub_contents.sparkconf does (on Mesos, HOST and BRIDGE; in a
// local server; on a standalone cluster) and has Spark 3.5 itself read
// each file, parse its constraints and start a driver with it.
func TestSparkAcceptsRenderedSettings(t *testing.T) {
	python := needtest.VenvTool(t, "python")
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := Cluster{Master: "zk://zk1:2181,zk2:2181/mesos", Image: DefaultImage}
	agent := Agent{Host: "10.1.2.3", Hostname: "agent-3", DriverPort: 31101, BlockManagerPort: 31102, UIPort: 31103, LibprocessPort: 31104}
	cases := map[string]map[string]string{}
	for _, p := range cat.Profiles {
		cases[p.Name+"-host"] = SparkEnv(p, cluster, agent)
		bridge := agent
		bridge.Bridge = true
		cases[p.Name+"-bridge"] = SparkEnv(p, cluster, bridge)
		cases[p.Name+"-local"] = ProfileEnv(p, Cluster{})
		standalone := p
		standalone.Spark = map[string]string{"spark.master": "spark://127.0.0.1:7077"}
		for k, v := range p.Spark {
			standalone.Spark[k] = v
		}
		cases[p.Name+"-standalone"] = ProfileEnv(standalone, Cluster{})
	}
	// What a catalog may say that Spark's Mesos backend must still
	// parse: an attribute that only has to exist, two constraints on one
	// attribute, an expression and UNLIKE (which Spark cannot say), the
	// profile's own volumes, Spark's own credentials, one master by
	// address, on HOST and BRIDGE.
	matrix := Profile{Name: "matrix", CPUs: 2, Mem: 4096,
		Constraints: []spawner.Constraint{
			{Field: "gpu", Operator: "LIKE", Value: ".*"},
			{Field: "zone", Operator: "LIKE", Value: "a|b|c"}, {Field: "zone", Operator: "CLUSTER", Value: "b"},
			{Field: "rack", Operator: "LIKE", Value: "r[12]"}, {Field: "os", Operator: "UNLIKE", Value: "centos.*"},
			{Field: "hostname", Operator: "UNIQUE"},
		},
		Spark: map[string]string{"spark.mesos.executor.docker.volumes": "/data/ref:/ref:ro,/scratch", "spark.dynamicAllocation.cachedExecutorIdleTimeout": "2h"}}
	authed := Cluster{Master: "http://m1:5050", Image: DefaultImage, User: "spark", Principal: "spark-analysts", SecretFile: "/etc/sparkhub/spark-secret"}
	cases["matrix-host"] = SparkEnv(matrix, authed, agent)
	bridge := agent
	bridge.Bridge = true
	cases["matrix-bridge"] = SparkEnv(matrix, cluster, bridge)
	dir := t.TempDir()
	var files []string
	for name, env := range cases {
		env["SPARKHUB_USER"] = "alice"
		conf, _, errOut, err := runEntrypoint(t, env, "true")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, errOut)
		}
		f := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command(python, append([]string{"-c", sparkAccepts}, files...)...)
	cmd.Env = append(os.Environ(), "SPARK_CONF_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	_, result, ok := strings.Cut(string(out), "RESULT ")
	if err != nil || !ok {
		t.Fatalf("pyspark: %v\n%s", err, out)
	}
	var got map[string]struct {
		Settings    map[string]string
		Held        map[string]string
		Constraints map[string]string
		Error       string
	}
	if err := json.Unmarshal([]byte(result), &got); err != nil {
		t.Fatalf("%v: %s", err, result)
	}
	for _, f := range files {
		r := got[f]
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		if r.Error != "" {
			t.Errorf("%s: Spark refused the settings: %s", name, r.Error)
			continue
		}
		for k, v := range r.Settings {
			if k == "spark.master" || strings.HasPrefix(k, "spark.driver.") || k == "spark.ui.enabled" {
				continue // overridden to run here
			}
			if r.Held[k] != v {
				t.Errorf("%s: the driver holds %s = %q, want %q", name, k, r.Held[k], v)
			}
		}
	}
	for _, name := range []string{"matrix-host", "matrix-bridge"} {
		r := got[filepath.Join(dir, name+".conf")]
		want := map[string]string{"gpu": "", "zone": "b", "rack": ""}
		if fmt.Sprint(r.Constraints) != fmt.Sprint(want) {
			t.Errorf("%s: Spark's splitter reads the constraints as %v, want %v", name, r.Constraints, want)
		}
		if v := r.Held["spark.mesos.executor.docker.volumes"]; v != "/var/lib/sparkhub/shuffle:/var/lib/sparkhub/shuffle:rw,/data/ref:/ref:ro,/scratch" {
			t.Errorf("%s: volumes %q, want the shuffle folder's and the profile's", name, v)
		}
	}
	if h := got[filepath.Join(dir, "matrix-host.conf")].Held; h["spark.mesos.principal"] != "spark-analysts" || h["spark.mesos.secret.file"] != "/etc/sparkhub/spark-secret" {
		t.Errorf("matrix-host: Spark's credentials: %v", h)
	}
	if s := got[filepath.Join(dir, "matrix-host.conf")].Settings; s["spark.master"] != "mesos://m1:5050" || s["spark.mesos.principal"] != "spark-analysts" {
		t.Errorf("matrix-host: master %q, principal %q", s["spark.master"], s["spark.mesos.principal"])
	}
	if s := got[filepath.Join(dir, "spark-small-local.conf")].Settings; s["spark.master"] != "local[2]" {
		t.Errorf("spark-small in a local server: master %q, want local[2]", s["spark.master"])
	}
	if s := got[filepath.Join(dir, "spark-small-standalone.conf")].Settings; s["spark.master"] != "spark://127.0.0.1:7077" ||
		s["spark.dynamicAllocation.enabled"] != "true" || s["spark.shuffle.service.enabled"] != "true" || s["spark.executor.memory"] != "4g" {
		t.Errorf("spark-small on a standalone cluster: %v", s)
	}
}

// twoDrivers is run by the venv's Python with PySpark 3.5: a driver
// started through Spark's own launcher (spark-submit, which sources
// $SPARK_CONF_DIR/spark-env.sh), the master overridden to local[1] as
// the cluster is not here; it prints the ports it bound, then holds
// them until its input closes.
const twoDrivers = `
import json, sys
from pyspark.sql import SparkSession
s = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "true").getOrCreate()
c = s.sparkContext.getConf()
print(json.dumps({k: c.get(k) for k in ("spark.driver.port", "spark.driver.blockManager.port", "spark.ui.port")}), flush=True)
sys.stdin.read()
s.stop()
`

// TestTwoSparkApplicationsInOneServer: a server on Mesos may run a
// Spark application in each of several kernels. With the rendered
// configuration, Spark's launcher gives the second driver the second set
// of the task's ports (the first would fail to bind: spark.port.maxRetries
// is 0), and a third, with no set left, is refused with a sentence.
func TestTwoSparkApplicationsInOneServer(t *testing.T) {
	python := needtest.VenvTool(t, "python")
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("needs flock (util-linux), as the image has")
	}
	var ports []string
	for range 8 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		l.Close()
	}
	conf := t.TempDir()
	p := Profile{Name: "two", CPUs: 1, Mem: 1024}
	env := ProfileEnv(p, Cluster{Master: "zk://zk1:2181/mesos", Image: DefaultImage})
	for k, v := range map[string]string{
		EnvAgentHost: "127.0.0.1", EnvSparkBindAddress: "127.0.0.1", EnvLibprocessIP: "127.0.0.1",
		EnvSparkDriverPort: ports[0], EnvSparkBlockManagerPort: ports[1], EnvSparkUIPort: ports[2], EnvLibprocessPort: ports[3],
		EnvSparkPorts:   strings.Join(ports[0:4], ",") + " " + strings.Join(ports[4:8], ","),
		"SPARKHUB_USER": "alice",
	} {
		env[k] = v
	}
	pkg, _ := filepath.Abs(filepath.Join("python", "sparkhub_contents"))
	write := exec.Command(python, "-m", "sparkhub_contents.sparkconf")
	write.Env = append(os.Environ(), "SPARK_CONF_DIR="+conf, "PYTHONPATH="+pkg)
	for k, v := range env {
		write.Env = append(write.Env, k+"="+v)
	}
	if out, err := write.CombinedOutput(); err != nil {
		t.Fatalf("sparkconf: %v\n%s", err, out)
	}
	start := func() (*exec.Cmd, io.WriteCloser, *bufio.Reader, *bytes.Buffer) {
		cmd := exec.Command(python, "-c", twoDrivers)
		cmd.Env = append(os.Environ(), "SPARK_CONF_DIR="+conf, "SPARK_LOCAL_IP=127.0.0.1")
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close(); cmd.Wait() })
		return cmd, in, bufio.NewReader(out), &errb
	}
	var got []map[string]string
	for i := range 2 {
		cmd, _, out, errb := start()
		line, err := out.ReadString('\n')
		if err != nil {
			cmd.Wait()
			t.Fatalf("driver %d: %v\n%s", i+1, err, errb)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("driver %d: %q", i+1, line)
		}
		got = append(got, m)
	}
	for i, m := range got {
		want := map[string]string{"spark.driver.port": ports[4*i], "spark.driver.blockManager.port": ports[4*i+1], "spark.ui.port": ports[4*i+2]}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Errorf("driver %d bound %v, want its own set %v", i+1, m, want)
		}
	}
	cmd, in, out, errb := start()
	in.Close()
	if line, _ := out.ReadString('\n'); line != "" {
		t.Errorf("a third driver started with %s; the task has ports for two", line)
	}
	cmd.Wait()
	if !strings.Contains(errb.String(), "runs 2 Spark applications already") {
		t.Errorf("a third driver: %s", errb)
	}
}
