package images

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/local"
)

var secretRE = regexp.MustCompile(`spark\.authenticate\.secret [0-9a-f]{64}`)

var update = flag.Bool("update", false, "rewrite the entrypoint's golden files")

// runEntrypoint runs entrypoint.sh with sh, only env in its environment
// (and PATH), and returns spark-defaults.conf, its output and its error.
func runEntrypoint(t *testing.T, env map[string]string, args ...string) (conf, stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", append([]string{"entrypoint.sh"}, args...)...)
	pkg, _ := filepath.Abs(filepath.Join("python", "sparkhub_contents"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SPARK_HOME=/opt/spark", "SPARK_CONF_DIR=" + dir, "PYTHONPATH=" + pkg}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	b, _ := os.ReadFile(filepath.Join(dir, "spark-defaults.conf"))
	return string(b), out.String(), errb.String(), err
}

// printEnv is what the tests exec instead of Jupyter: the libmesos
// variables the entrypoint exported.
var printEnv = []string{"sh", "-c", `env | grep -E '^LIBPROCESS_' | sort`}

// TestEntrypointGolden renders each profile of the sample catalog with
// the environment ProfileEnv and AgentEnv give, and compares
// spark-defaults.conf and what the entrypoint exported with
// testdata/entrypoint/NAME.golden.
func TestEntrypointGolden(t *testing.T) {
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := Cluster{Master: "zk://zk1:2181,zk2:2181/mesos", Image: DefaultImage}
	agent := Agent{Host: "10.1.2.3", Hostname: "agent-3.example.com", DriverPort: 31101, BlockManagerPort: 31102, UIPort: 31103, LibprocessPort: 31104}
	type tc struct {
		golden string
		env    map[string]string
		args   []string
	}
	var cases []tc
	for _, p := range cat.Profiles {
		a := agent
		a.Bridge = p.Name == "spark-large" // one profile on BRIDGE networking
		cases = append(cases, tc{p.Name, SparkEnv(p, cluster, a), printEnv})
	}
	// A cluster with framework authentication and a profile with its
	// own volumes, pinned image and idle timeout.
	authed := cluster
	authed.User, authed.Principal, authed.SecretFile = "spark", "spark-analysts", "/etc/sparkhub/spark-secret"
	own := Profile{Name: "own-volumes", CPUs: 2, Mem: 4096, Image: "sparkhub/pyspark-notebook@sha256:" + strings.Repeat("ab", 32),
		Constraints: []spawner.Constraint{{Field: "gpu", Operator: "LIKE", Value: ".*"}, {Field: "zone", Operator: "LIKE", Value: "a|b"}, {Field: "zone", Operator: "CLUSTER", Value: "b"}},
		Spark:       map[string]string{"spark.mesos.executor.docker.volumes": "/data/ref:/ref:ro", "spark.dynamicAllocation.cachedExecutorIdleTimeout": "2h"}}
	cases = append(cases, tc{"authenticated", SparkEnv(own, authed, agent), printEnv})

	// Without a cluster (a server of the hub's with no Mesos master):
	// Spark in the server, the options leading back to the hub and
	// Jupyter's arguments after the command.
	small, _ := cat.Lookup("spark-small")
	noCluster := ProfileEnv(small, Cluster{})
	noCluster["SPARKHUB_JUPYTER_COMMAND"] = "echo"
	noCluster["SPARKHUB_BASE_URL"] = "/user/alice/"
	cases = append(cases, tc{"local", noCluster, []string{"--ip=127.0.0.1", "--port=8888"}})

	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			env := map[string]string{"SPARKHUB_USER": "alice"}
			for k, v := range c.env {
				env[k] = v
			}
			conf, out, errOut, err := runEntrypoint(t, env, c.args...)
			if err != nil {
				t.Fatalf("entrypoint: %v\n%s", err, errOut)
			}
			// The RPC secret of Spark inside a server is new at every start.
			conf = secretRE.ReplaceAllString(conf, "spark.authenticate.secret (random)")
			got := "## spark-defaults.conf\n" + conf + "## exec\n" + out
			path := filepath.Join("testdata", "entrypoint", c.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./images -run TestEntrypointGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

func TestEntrypointNoArguments(t *testing.T) {
	_, out, errOut, err := runEntrypoint(t, map[string]string{"SPARKHUB_JUPYTER_COMMAND": "pwd"})
	if err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("no arguments: out %q, err %v %s", out, err, errOut)
	}
}

// TestEntrypointHubOptions: a server the hub started gets the options
// that lead back to the hub, the same a local server gets from
// local.Backend.Args, before the arguments it was given; the image run
// by hand gets none.
func TestEntrypointHubOptions(t *testing.T) {
	args := func(opts local.Options) []string {
		opts.DataDir, opts.SharedAccount = t.TempDir(), true
		b, err := local.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return b.Args("/user/alice/")
	}
	plain := map[string]bool{}
	for _, a := range args(local.Options{}) {
		plain[a] = true
	}
	var hub []string
	hubJupyter := spawner.Jupyter{LogoutHandlerClass: LogoutHandlerClass, NotebookExtensions: []string{NotebookExtension}, ServerExtensions: []string{ServerExtension}}
	for _, a := range args(local.Options{Jupyter: hubJupyter}) {
		if !plain[a] {
			hub = append(hub, a)
		}
	}
	if len(hub) == 0 {
		t.Fatal("local.Backend.Args gives no options of sparkhub_contents")
	}
	given := []string{"--ip=0.0.0.0", "--port=31000"}
	mesos := append(append([]string{}, given...), hub...)
	for _, tc := range []struct {
		name    string
		baseURL string
		args    []string
		want    []string
	}{
		{"started by the hub", "/user/alice/", given, append(append([]string{}, hub...), given...)},
		{"run by hand", "", given, given},
		// The Mesos spawner gives them too: Jupyter refuses a
		// one-valued option twice, so none is added again.
		{"given them already", "/user/alice/", mesos, mesos},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SPARKHUB_JUPYTER_COMMAND": "echo"}
			if tc.baseURL != "" {
				env["SPARKHUB_BASE_URL"] = tc.baseURL
			}
			_, out, errOut, err := runEntrypoint(t, env, tc.args...)
			if err != nil {
				t.Fatalf("entrypoint: %v\n%s", err, errOut)
			}
			if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Jupyter's arguments:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestEntrypointRefuses(t *testing.T) {
	base := func() map[string]string {
		p := Profile{Name: "p", CPUs: 1, Mem: 1024}
		return SparkEnv(p, Cluster{Master: "m:5050", Image: "i"}, Agent{Host: "10.0.0.1", DriverPort: 1, BlockManagerPort: 2, UIPort: 3, LibprocessPort: 4})
	}
	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"missing port", map[string]string{EnvSparkUIPort: ""}, "SPARKHUB_SPARK_UI_PORT="},
		{"not a port", map[string]string{EnvSparkDriverPort: "80x"}, "SPARKHUB_SPARK_DRIVER_PORT=80x"},
		{"port out of range", map[string]string{EnvSparkBlockManagerPort: "70000"}, "SPARKHUB_SPARK_BLOCKMANAGER_PORT=70000"},
		{"libprocess port", map[string]string{EnvLibprocessPort: "x"}, "LIBPROCESS_PORT=x"},
		{"master", map[string]string{EnvSparkMaster: "yarn"}, "want mesos://"},
		{"standalone master", map[string]string{EnvSparkMaster: "spark://m:7077/x"}, "want spark://host:port"},
		{"memory", map[string]string{EnvSparkDriverMemory: "lots"}, "SPARKHUB_SPARK_DRIVER_MEMORY=lots"},
		{"count", map[string]string{EnvSparkCoresMax: "lots"}, "SPARKHUB_SPARK_CORES_MAX=lots"},
		{"conf key", map[string]string{EnvSparkConf: "spark.a 1\nhadoop.b 2"}, `"hadoop.b" is not a Spark setting`},
		{"conf without value", map[string]string{EnvSparkConf: "spark.a"}, "spark.a has no value"},
		{"line break", map[string]string{EnvSparkRole: "a\nb"}, "spark.mesos.role: the value has a line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := base()
			for k, v := range tc.change {
				env[k] = v
			}
			_, out, errOut, err := runEntrypoint(t, env, "echo", "ran")
			if err == nil || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("err %v, out %q, stderr %q; want a failure saying %q", err, out, errOut, tc.want)
			}
		})
	}
}

// sparkKeysSource lists Spark 3.5 settings the sample catalog passes
// through, beyond RenderedSparkKeys, with where Spark 3.5 documents them.
var sparkKeysSource = map[string]string{
	"spark.sql.shuffle.partitions": "docs/configuration.md, Runtime SQL Configuration",
	"spark.hadoop.":                "docs/configuration.md, Custom Hadoop/Hive Configuration (any spark.hadoop.* key)",
}

// TestRenderedKeysAreSpark35 reads every golden spark-defaults.conf: each
// key must be one the entrypoint is known to render, or a documented
// Spark 3.5 key the sample catalog passes through.
func TestRenderedKeysAreSpark35(t *testing.T) {
	known := map[string]bool{}
	for _, k := range RenderedSparkKeys {
		known[k] = true
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "entrypoint", "*.golden"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		inConf := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "## spark-defaults.conf":
				inConf = true
				continue
			case strings.HasPrefix(line, "## "):
				inConf = false
			}
			if !inConf || line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			key, _, _ := strings.Cut(line, " ")
			seen[key] = true
			ok := known[key] || sparkKeysSource[key] != ""
			if !ok && strings.HasPrefix(key, "spark.hadoop.") {
				ok = true
			}
			if !ok {
				t.Errorf("%s: %s is not a Spark 3.5 key this project knows; add it to RenderedSparkKeys with its source", f, key)
			}
		}
	}
	// Every key the list names is rendered by some golden case, so the
	// list stays honest.
	var unused []string
	for _, k := range RenderedSparkKeys {
		if !seen[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("RenderedSparkKeys not rendered by any golden case: %v", unused)
	}
}
