package images

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/spawner"
)

func TestLoadCatalogSample(t *testing.T) {
	c, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Names(), []string{"spark-small", "spark-large", "fixed-four"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("names = %v, want %v", got, want)
	}
	small, ok := c.Lookup("spark-small")
	if !ok {
		t.Fatal("spark-small not found")
	}
	want := Profile{
		Name: "spark-small", DisplayName: "PySpark 3.5, 2 CPU, 8 GiB", Description: "For exploring data up to a few GB",
		Image: "sparkhub/pyspark-notebook:3.5", CPUs: 2, Mem: 8192, GPUs: 0, Disk: 10240, Role: "notebooks",
		Constraints: []spawner.Constraint{{Field: "rack", Operator: "LIKE", Value: "r[12]"}, {Field: "hostname", Operator: "UNIQUE"}},
		Env:         map[string]string{"TZ": "UTC"},
		Spark:       map[string]string{"spark.executor.memory": "4g", "spark.dynamicAllocation.maxExecutors": "20"},
		DefaultURL:  "/lab",
	}
	if !reflect.DeepEqual(small, want) {
		t.Errorf("spark-small =\n%+v\nwant\n%+v", small, want)
	}
	fixed, _ := c.Lookup("fixed-four")
	if fixed.DisplayName != "Four fixed executors, no dynamic allocation" || fixed.Spark["spark.dynamicAllocation.enabled"] != "false" {
		t.Errorf("fixed-four = %+v", fixed)
	}
}

func TestLookup(t *testing.T) {
	c := DefaultCatalog()
	for _, tc := range []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"", "default", true},
		{"default", "default", true},
		{"nope", "", false},
	} {
		p, ok := c.Lookup(tc.name)
		if p.Name != tc.want || ok != tc.wantOK {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.name, p.Name, ok, tc.want, tc.wantOK)
		}
	}
	if _, ok := (&Catalog{}).Lookup(""); ok {
		t.Error("an empty catalog found a profile")
	}
}

func TestLoadCatalogDefault(t *testing.T) {
	c, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Profiles) != 1 || c.Profiles[0].Image != DefaultImage || c.Profiles[0].CPUs <= 0 || c.Profiles[0].Mem <= 0 {
		t.Errorf("default catalog = %+v", c.Profiles)
	}
}

// The local default claims nothing a local process does not get.
func TestLocalCatalog(t *testing.T) {
	c := LocalCatalog()
	if len(c.Profiles) != 1 {
		t.Fatalf("local catalog = %+v", c.Profiles)
	}
	p := c.Profiles[0]
	if p.Name != "default" || p.DisplayName != "Python (this machine)" || p.Image != "" || p.CPUs != 0 || p.Mem != 0 || p.GPUs != 0 || p.Disk != 0 || len(p.Spark) != 0 ||
		strings.Contains(p.DisplayName+p.Description, "Spark") {
		t.Errorf("local default profile = %+v", p)
	}
}

func TestLoadCatalogRefusesProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("profiles:\n  - name: a\n    cpus: -1\n    mem: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCatalog(path)
	var ce *CatalogError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 {
		t.Fatalf("err = %v, want one problem", err)
	}
	if got, want := ce.Problems[0].String(), path+":3: profile a: cpus: -1 is negative"; got != want {
		t.Errorf("problem = %q, want %q", got, want)
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestCheckMissingFile(t *testing.T) {
	got := Check(filepath.Join(t.TempDir(), "missing.yaml"))
	if len(got) != 1 || got[0].Line != 0 || !strings.Contains(got[0].String(), "no such file") {
		t.Errorf("Check(missing) = %v", got)
	}
}

// TestCheck lists each kind of problem with the line and field it names.
func TestCheck(t *testing.T) {
	const ok = "profiles:\n  - name: a\n    cpus: 1\n    mem: 1024\n"
	tests := []struct {
		name string
		yaml string
		want []string // "line field: message fragment"
	}{
		{"fine", ok, nil},
		{"empty file", "", []string{"0 profiles: the file is empty"}},
		{"not yaml", "profiles: [\n", []string{"1 : not valid YAML"}},
		{"not a mapping", "- a\n", []string{"1 : the catalog must be a mapping"}},
		{"top-level unknown", ok + "extra: 1\n", []string{"5 extra: unknown field"}},
		{"no profiles key", "other: 1\n", []string{"1 other: unknown field", "1 profiles: missing"}},
		{"profiles not a list", "profiles: {a: 1}\n", []string{"1 profiles: must be a list"}},
		{"empty list", "profiles: []\n", []string{"1 profiles: the list is empty"}},
		{"profile not a mapping", "profiles:\n  - just-a-name\n", []string{"2 profiles[0]: a profile must be a mapping"}},
		{"unknown field", ok + "    memory: 2\n", []string{"5 memory: unknown field"}},
		{"missing resources", "profiles:\n  - name: a\n", []string{"2 cpus: missing", "2 mem: missing"}},
		{"missing name", "profiles:\n  - cpus: 1\n    mem: 1\n", []string{"2 name: missing"}},
		{"bad name", "profiles:\n  - name: Big_One\n    cpus: 1\n    mem: 1\n", []string{"2 name: \"Big_One\": use lowercase"}},
		{"name too long", "profiles:\n  - name: " + strings.Repeat("a", 64) + "\n    cpus: 1\n    mem: 1\n", []string{"2 name: "}},
		{"duplicate", ok + "  - name: a\n    cpus: 2\n    mem: 2\n", []string{"5 name: duplicate; the profile on line 2"}},
		{"negative", "profiles:\n  - name: a\n    cpus: 1\n    mem: 1\n    disk: -5\n    gpus: -1\n", []string{"5 disk: -5 is negative", "6 gpus: -1 is negative"}},
		{"zero cpus", "profiles:\n  - name: a\n    cpus: 0\n    mem: 1\n", []string{"3 cpus: must be more than 0"}},
		{"not a number", "profiles:\n  - name: a\n    cpus: 1\n    mem: 8 GiB\n", []string{"4 mem: \"8 GiB\" must be a number (MiB)"}},
		{"quoted number", "profiles:\n  - name: a\n    cpus: \"1\"\n    mem: 1\n", []string{"3 cpus: \"1\" must be a number"}},
		{"half a gpu", ok + "    gpus: 0.5\n", []string{"5 gpus: 0.5: GPUs come whole"}},
		{"bad role", ok + "    role: -x\n", []string{"5 role: \"-x\" is not a Mesos role"}},
		{"star role", ok + "    role: \"*\"\n", nil},
		{"unknown operator", ok + "    constraints: [[rack, NEAR, r1]]\n", []string{"5 constraints[0]: operator \"NEAR\" does not exist"}},
		{"lowercase operator", ok + "    constraints: [[rack, like, r1]]\n", []string{"5 constraints[0]: operator \"like\" does not exist"}},
		{"unique with value", ok + "    constraints: [[hostname, UNIQUE, x]]\n", []string{"5 constraints[0]: UNIQUE takes no value"}},
		{"like without regex", ok + "    constraints: [[rack, LIKE]]\n", []string{"5 constraints[0]: LIKE needs a regular expression"}},
		{"like bad regex", ok + "    constraints: [[rack, UNLIKE, \"r[\"]]\n", []string{"5 constraints[0]: UNLIKE \"r[\" is not a regular expression"}},
		{"max_per", ok + "    constraints:\n      - [rack, MAX_PER, 2]\n      - [rack, MAX_PER, zero]\n", []string{"7 constraints[1]: MAX_PER needs a whole number"}},
		{"group_by", ok + "    constraints: [[rack, GROUP_BY], [zone, GROUP_BY, 3], [os, GROUP_BY, x]]\n", []string{"5 constraints[2]: GROUP_BY takes an optional whole number"}},
		{"cluster", ok + "    constraints: [[rack, CLUSTER], [zone, CLUSTER, a]]\n", nil},
		{"constraint shape", ok + "    constraints: [[rack]]\n", []string{"5 constraints[0]: must be [field, OPERATOR]"}},
		{"constraints not a list", ok + "    constraints: rack:LIKE:r1\n", []string{"5 constraints: must be a list"}},
		{"env", ok + "    env:\n      TZ: UTC\n      1X: a\n      JUPYTER_TOKEN: t\n      SPARKHUB_USER: u\n      LIST: [a]\n",
			[]string{"7 env.1X: not a variable name", "8 env.JUPYTER_TOKEN: set by the hub", "9 env.SPARKHUB_USER: set by the hub", "10 env.LIST: must be a single value"}},
		{"spark", ok + "    spark:\n      spark.sql.shuffle.partitions: 64\n      executor.memory: 4g\n      spark.driver.port: 4000\n      spark.executor.memory: lots\n      spark.cores.max: 0\n      spark.dynamicAllocation.enabled: maybe\n      spark.executor.cores: \"\"\n",
			[]string{"7 executor.memory: not a Spark setting", "8 spark.driver.port: set by the hub", "9 spark.executor.memory: \"lots\" must be a size", "10 spark.cores.max: \"0\" must be a whole number", "11 spark.dynamicAllocation.enabled: \"maybe\" must be true or false", "12 spark.executor.cores: \"\" must be a whole number"}},
		{"two documents", ok + "---\nprofiles: []\n", []string{"5 : more than one YAML document"}},
		{"default_url lab", ok + "    default_url: /lab\n", nil},
		{"default_url tree", ok + "    default_url: /tree/\n", nil},
		{"default_url a notebook", ok + "    default_url: /lab/tree/Welcome.ipynb\n", nil},
		{"default_url elsewhere", ok + "    default_url: https://evil.example/\n", []string{"5 default_url: \"https://evil.example/\": use /lab"}},
		{"default_url another host", ok + "    default_url: //evil.example/lab\n", []string{"5 default_url: "}},
		{"default_url climbs", ok + "    default_url: /lab/../../hub/admin\n", []string{"5 default_url: "}},
		{"default_url hub", ok + "    default_url: /hub/home\n", []string{"5 default_url: "}},
		{"default_url query", ok + "    default_url: /lab?reset\n", []string{"5 default_url: "}},
		{"env jupyterhub", ok + "    env:\n      JUPYTERHUB_USER: bob\n", []string{"6 env.JUPYTERHUB_USER: set by the hub"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := ParseCatalog("c.yaml", []byte(tc.yaml))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				line, rest, _ := strings.Cut(w, " ")
				field, frag, _ := strings.Cut(rest, ": ")
				p := problems[i]
				if strconv.Itoa(p.Line) != line || p.Field != field || !strings.Contains(p.Message, frag) {
					t.Errorf("problem %d = line %d field %q %q; want line %s field %q containing %q", i, p.Line, p.Field, p.Message, line, field, frag)
				}
			}
		})
	}
}

// TestCheckNamesTheProfile: problems found before the name say which
// profile once it is known.
func TestCheckNamesTheProfile(t *testing.T) {
	_, problems := ParseCatalog("c.yaml", []byte("profiles:\n  - cpus: -1\n    name: late\n    mem: 1\n  - cpus: 1\n    mem: 1\n"))
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{"c.yaml:2: profile late: cpus: -1 is negative", "c.yaml:5: profile #2: name: missing"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSpecs: a profile resolves into the spec the backends get: what it
// says, with the Spark settings the entrypoint renders when Spark runs
// on a cluster; an unknown name is ErrNoProfile.
func TestSpecs(t *testing.T) {
	c, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	small, _ := c.Lookup("spark-small")
	cluster := Cluster{Master: "http://m1:5050", Image: "sparkhub/default:1", Role: "*"}
	want := spawner.Spec{
		Image: "sparkhub/pyspark-notebook:3.5", CPUs: 2, Mem: 8192, Disk: 10240, Role: "notebooks",
		Constraints: []spawner.Constraint{{Field: "rack", Operator: "LIKE", Value: "r[12]"}, {Field: "hostname", Operator: "UNIQUE"}},
		Env:         ProfileEnv(small, cluster),
		Spark:       small.Spark,
		DefaultURL:  "/lab",
	}
	got, err := Specs{Catalog: c, Cluster: &cluster}.Resolve("spark-small")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("on a cluster: %+v, %v\nwant %+v", got, err, want)
	}
	if got.Env["TZ"] != "UTC" || got.Env[EnvSparkMaster] != "mesos://m1:5050" || got.Env[EnvSparkRole] != "notebooks" {
		t.Errorf("env on a cluster = %v", got.Env)
	}
	// Without a cluster the environment is the profile's own.
	want.Env = map[string]string{"TZ": "UTC"}
	if got, err := (Specs{Catalog: c}).Resolve("spark-small"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("without a cluster: %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := (Specs{Catalog: c}).Resolve(""); err != nil || got.CPUs != 2 || got.Mem != 8192 {
		t.Errorf(`Resolve("") = %+v, %v; want the first profile's`, got, err)
	}
	if _, err := (Specs{Catalog: c}).Resolve("huge"); !errors.Is(err, spawner.ErrNoProfile) || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("Resolve(huge) = %v, want ErrNoProfile naming it", err)
	}
}
