package images

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/spawner"
)

// Agent is where a server's task landed and the ports it holds; with
// AgentEnv, the tests render the variables spawner/mesos sets from the
// offer it accepted, to run the entrypoint on them.
type Agent struct {
	Host     string // the agent's IP: what executors and the master reach
	Hostname string
	// Bridge is true for Docker BRIDGE networking (host port ==
	// container port): the driver and libprocess bind 0.0.0.0 and
	// advertise Host.
	Bridge                                               bool
	DriverPort, BlockManagerPort, UIPort, LibprocessPort uint64
}

// SparkEnv is the whole environment the entrypoint needs for profile p
// on agent a: ProfileEnv and AgentEnv together.
func SparkEnv(p Profile, c Cluster, a Agent) map[string]string {
	env := ProfileEnv(p, c)
	for k, v := range AgentEnv(a) {
		env[k] = v
	}
	return env
}

// AgentEnv is the driver's networking for a task on agent a.
func AgentEnv(a Agent) map[string]string {
	port := func(p uint64) string { return strconv.FormatUint(p, 10) }
	env := map[string]string{
		EnvAgentHost:             a.Host,
		EnvAgentHostname:         a.Hostname,
		EnvSparkDriverPort:       port(a.DriverPort),
		EnvSparkBlockManagerPort: port(a.BlockManagerPort),
		EnvSparkUIPort:           port(a.UIPort),
		EnvLibprocessPort:        port(a.LibprocessPort),
	}
	if a.Bridge {
		env[EnvSparkBindAddress] = "0.0.0.0"
		env[EnvLibprocessIP] = "0.0.0.0"
		env[EnvLibprocessAdvertiseIP] = a.Host
		env[EnvLibprocessAdvertisePort] = port(a.LibprocessPort)
	} else {
		env[EnvSparkBindAddress] = a.Host
		env[EnvLibprocessIP] = a.Host
	}
	return env
}

func TestSparkMaster(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"zk://h1:2181,h2:2181/mesos", "mesos://zk://h1:2181,h2:2181/mesos"},
		{"http://m1:5050/", "mesos://m1:5050"},
		{"m1:5050", "mesos://m1:5050"},
		{"mesos://m1:5050", "mesos://m1:5050"},
	} {
		if got, err := SparkMaster(tc.in); got != tc.want || err != nil {
			t.Errorf("SparkMaster(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// A driver given one of several masters hangs when it is not the
	// leader; libmesos has no TLS.
	for _, bad := range []string{"http://m1:5050,http://m2:5050", "m1:5050,m2:5050", "https://m1:5050", "mesos://https://m1:5050", "http://m1:5050/api/v1"} {
		if got, err := SparkMaster(bad); err == nil {
			t.Errorf("SparkMaster(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSparkConstraints(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []spawner.Constraint
		want string
	}{
		{"none", nil, ""},
		{"cluster", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "eu-1a"}}, "zone:eu-1a"},
		{"cluster without value places the notebook only", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER"}}, ""},
		{"like alternatives", []spawner.Constraint{{Field: "os", Operator: "LIKE", Value: "bookworm|jammy"}}, "os:bookworm,jammy"},
		{"like anything is attribute exists", []spawner.Constraint{{Field: "gpu", Operator: "LIKE", Value: ".*"}}, "gpu:"},
		{"like regex needs the attribute", []spawner.Constraint{{Field: "rack", Operator: "LIKE", Value: "r[12]"}}, "rack:"},
		{"unlike places the notebook only", []spawner.Constraint{{Field: "rack", Operator: "UNLIKE", Value: "r9"}}, ""},
		{"hostname and placement operators", []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}, {Field: "hostname", Operator: "CLUSTER", Value: "a"}, {Field: "rack", Operator: "GROUP_BY", Value: "3"}, {Field: "rack", Operator: "MAX_PER", Value: "2"}}, ""},
		{"several", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "a"}, {Field: "os", Operator: "LIKE", Value: "x|y"}}, "zone:a;os:x,y"},
		{"two on one attribute intersect", []spawner.Constraint{{Field: "zone", Operator: "LIKE", Value: "a|b|c"}, {Field: "os", Operator: "LIKE", Value: ".*"}, {Field: "zone", Operator: "CLUSTER", Value: "b"}, {Field: "zone", Operator: "LIKE", Value: "b|c"}}, "zone:b;os:"},
		{"exists then values", []spawner.Constraint{{Field: "zone", Operator: "LIKE", Value: "z.*"}, {Field: "zone", Operator: "LIKE", Value: "z1|z2"}}, "zone:z1,z2"},
	} {
		if got := SparkConstraints(tc.in); got != tc.want {
			t.Errorf("%s: SparkConstraints = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProfileEnvDefaults(t *testing.T) {
	p := Profile{Name: "p", CPUs: 2.5, Mem: 4096, Env: map[string]string{"TZ": "UTC"}}
	got := ProfileEnv(p, Cluster{Master: "zk://z:2181/mesos", Image: "img:1"})
	want := map[string]string{
		"TZ":                      "UTC",
		EnvProfile:                "p",
		EnvProfileCPUs:            "2.5",
		EnvProfileMem:             "4096",
		EnvSparkMaster:            "mesos://zk://z:2181/mesos",
		EnvSparkExecutorImage:     "img:1",
		EnvSparkRole:              "",
		EnvSparkConstraints:       "",
		EnvSparkCachedIdleTimeout: "30min",
		EnvSparkForcePull:         "true",
		EnvSparkExecutorCores:     "2", EnvSparkExecutorMemory: "4096m", EnvSparkDriverMemory: "2048m",
		EnvSparkDynamic: "true", EnvSparkShuffleService: "true",
		EnvSparkMinExecutors: "0", EnvSparkMaxExecutors: "10", EnvSparkCoresMax: "20",
		EnvSparkConf: "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ProfileEnv =\n%v\nwant\n%v", got, want)
	}
}

func TestProfileEnvSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spark map[string]string
		want  map[string]string
	}{
		{"cores.max gives max executors", map[string]string{"spark.cores.max": "64", "spark.executor.cores": "4"},
			map[string]string{EnvSparkCoresMax: "64", EnvSparkMaxExecutors: "16", EnvSparkExecutorCores: "4"}},
		{"max executors gives cores.max", map[string]string{"spark.dynamicAllocation.maxExecutors": "3", "spark.executor.cores": "2"},
			map[string]string{EnvSparkCoresMax: "6", EnvSparkMaxExecutors: "3"}},
		{"both kept as given", map[string]string{"spark.dynamicAllocation.maxExecutors": "3", "spark.cores.max": "5"},
			map[string]string{EnvSparkCoresMax: "5", EnvSparkMaxExecutors: "3"}},
		{"cores.max below one executor", map[string]string{"spark.cores.max": "1", "spark.executor.cores": "4"},
			map[string]string{EnvSparkMaxExecutors: "1"}},
		{"no dynamic allocation turns the shuffle service off", map[string]string{"spark.dynamicAllocation.enabled": "False"},
			map[string]string{EnvSparkDynamic: "false", EnvSparkShuffleService: "false"}},
		{"shuffle service alone", map[string]string{"spark.dynamicAllocation.enabled": "false", "spark.shuffle.service.enabled": "true"},
			map[string]string{EnvSparkDynamic: "false", EnvSparkShuffleService: "true"}},
		{"overrides and the rest", map[string]string{"spark.mesos.role": "r", "spark.mesos.constraints": "os:x", "spark.mesos.executor.docker.image": "other:2",
			"spark.executor.memory": "3g", "spark.driver.memory": "1g", "spark.dynamicAllocation.minExecutors": "1", "spark.sql.shuffle.partitions": "8", "spark.eventLog.enabled": "true"},
			map[string]string{EnvSparkRole: "r", EnvSparkConstraints: "os:x", EnvSparkExecutorImage: "other:2", EnvSparkExecutorMemory: "3g", EnvSparkDriverMemory: "1g",
				EnvSparkMinExecutors: "1", EnvSparkConf: "spark.eventLog.enabled true\nspark.sql.shuffle.partitions 8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Profile{Name: "p", Image: "img:1", CPUs: 1, Mem: 512, Role: "notebooks", Constraints: []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "a"}}, Spark: tc.spark}
			got := ProfileEnv(p, Cluster{})
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestAgentEnv(t *testing.T) {
	a := Agent{Host: "10.0.0.5", Hostname: "agent-5", DriverPort: 31001, BlockManagerPort: 31002, UIPort: 31003, LibprocessPort: 31004}
	host := AgentEnv(a)
	want := map[string]string{
		EnvAgentHost: "10.0.0.5", EnvAgentHostname: "agent-5", EnvSparkBindAddress: "10.0.0.5",
		EnvSparkDriverPort: "31001", EnvSparkBlockManagerPort: "31002", EnvSparkUIPort: "31003",
		EnvLibprocessIP: "10.0.0.5", EnvLibprocessPort: "31004",
	}
	if !reflect.DeepEqual(host, want) {
		t.Errorf("HOST: AgentEnv =\n%v\nwant\n%v", host, want)
	}
	a.Bridge = true
	bridge := AgentEnv(a)
	want[EnvSparkBindAddress] = "0.0.0.0"
	want[EnvLibprocessIP] = "0.0.0.0"
	want[EnvLibprocessAdvertiseIP] = "10.0.0.5"
	want[EnvLibprocessAdvertisePort] = "31004"
	if !reflect.DeepEqual(bridge, want) {
		t.Errorf("BRIDGE: AgentEnv =\n%v\nwant\n%v", bridge, want)
	}
	all := SparkEnv(Profile{Name: "p", CPUs: 1, Mem: 1024}, Cluster{}, a)
	if all[EnvProfile] != "p" || all[EnvAgentHost] != "10.0.0.5" {
		t.Errorf("SparkEnv lacks a part: %v", all)
	}
}

// Spark's executors run under the role the notebook runs under: the
// profile's, else the framework's; spark.mesos.role in the profile's
// settings wins over both.
func TestSparkRole(t *testing.T) {
	for _, tc := range []struct {
		name, profile, framework, setting, want string
	}{
		{"profile", "analytics", "jupyter", "", "analytics"},
		{"framework", "", "jupyter", "", "jupyter"},
		{"neither", "", "", "", ""},
		{"setting", "analytics", "jupyter", "etl", "etl"},
	} {
		p := Profile{Name: "p", CPUs: 1, Mem: 1024, Role: tc.profile}
		if tc.setting != "" {
			p.Spark = map[string]string{"spark.mesos.role": tc.setting}
		}
		if got := ProfileEnv(p, Cluster{Role: tc.framework})[EnvSparkRole]; got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.name, EnvSparkRole, got, tc.want)
		}
	}
}

// TestSparkConstraintsSaysWhatSparkCannot: what Spark cannot follow is a
// warning, what Spark would refuse (or no agent could satisfy) a problem
// that keeps the catalog from loading.
func TestSparkConstraintsSaysWhatSparkCannot(t *testing.T) {
	for _, tc := range []struct {
		name            string
		in              []spawner.Constraint
		notes, problems int
	}{
		{"exists", []spawner.Constraint{{Field: "gpu", Operator: "LIKE", Value: ".*"}}, 0, 0},
		{"regex", []spawner.Constraint{{Field: "rack", Operator: "LIKE", Value: "r[12]"}}, 1, 0},
		{"unlike", []spawner.Constraint{{Field: "rack", Operator: "UNLIKE", Value: "r9"}}, 1, 0},
		{"unique host", []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}}, 1, 0},
		{"disjoint", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "a"}, {Field: "zone", Operator: "CLUSTER", Value: "b"}}, 0, 1},
		{"value Spark would split", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "a:b"}}, 0, 1},
		{"value with a comma", []spawner.Constraint{{Field: "zone", Operator: "CLUSTER", Value: "a,b"}}, 0, 1},
	} {
		_, notes, problems := sparkConstraints(tc.in)
		if len(notes) != tc.notes || len(problems) != tc.problems {
			t.Errorf("%s: notes %q, problems %q; want %d and %d", tc.name, notes, problems, tc.notes, tc.problems)
		}
	}
	_, problems := ParseCatalog("c.yaml", []byte("profiles:\n- name: a\n  cpus: 1\n  mem: 512\n  constraints: [[zone, CLUSTER, a], [zone, LIKE, b|c]]\n"))
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "no value in common") || problems[0].Line != 5 {
		t.Errorf("disjoint constraints: problems %v", problems)
	}
	for _, bad := range []string{"zone", "zone:a;zone:b", "zone:a:b", ":a", "zone: a"} {
		if checkSparkValue("spark.mesos.constraints", bad) == "" {
			t.Errorf("spark.mesos.constraints %q accepted", bad)
		}
	}
	for _, good := range []string{"zone:", "zone:a,b;os:x", "gpu:;zone:a"} {
		if msg := checkSparkValue("spark.mesos.constraints", good); msg != "" {
			t.Errorf("spark.mesos.constraints %q refused: %s", good, msg)
		}
	}
}

// The agents' shuffle service's port reaches Spark when it is not
// Spark's default.
func TestShufflePortRendered(t *testing.T) {
	p := Profile{Name: "p", CPUs: 1, Mem: 1024}
	if got := ProfileEnv(p, Cluster{Master: "m:5050", ShufflePort: 7447})[EnvSparkShufflePort]; got != "7447" {
		t.Errorf("%s = %q, want 7447", EnvSparkShufflePort, got)
	}
	if got, ok := ProfileEnv(p, Cluster{Master: "m:5050", ShufflePort: 7337})[EnvSparkShufflePort]; ok {
		t.Errorf("Spark's default port rendered as %q", got)
	}
	conf, _, errOut, err := runEntrypoint(t, ProfileEnv(p, Cluster{Master: "m:5050", ShufflePort: 7447}), "true")
	if err != nil || !strings.Contains(conf, "\nspark.shuffle.service.port 7447\n") {
		t.Errorf("spark-defaults.conf lacks the port: %v %s\n%s", err, errOut, conf)
	}
}
