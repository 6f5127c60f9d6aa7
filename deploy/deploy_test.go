// Package deploy holds deployment files (Marathon apps, docker-compose);
// its tests check they parse and say what the README promises.
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type marathonApp struct {
	ID          string     `json:"id"`
	Instances   int        `json:"instances"`
	CPUs        float64    `json:"cpus"`
	Mem         float64    `json:"mem"`
	Args        []string   `json:"args"`
	Constraints [][]string `json:"constraints"`
	Container   struct {
		Type   string `json:"type"`
		Docker struct {
			Image string `json:"image"`
		} `json:"docker"`
	} `json:"container"`
	HealthChecks []map[string]any `json:"healthChecks"`
}

func TestMarathonApps(t *testing.T) {
	for _, tc := range []struct {
		file, id string
	}{
		{"sparkhub.json", "/sparkhub/hub"},
		{"spark-shuffle-service.json", "/sparkhub/spark-shuffle-service"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("marathon", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var app marathonApp
			if err := json.Unmarshal(b, &app); err != nil {
				t.Fatalf("does not parse: %v", err)
			}
			if app.ID != tc.id || app.Instances < 1 || app.CPUs <= 0 || app.Mem <= 0 || app.Container.Type != "DOCKER" || app.Container.Docker.Image == "" || len(app.HealthChecks) == 0 {
				t.Errorf("app = %+v", app)
			}
			// One per agent (the shuffle service), one per machine (the hub).
			if !reflect.DeepEqual(app.Constraints, [][]string{{"hostname", "UNIQUE"}}) {
				t.Errorf("constraints = %q, want hostname UNIQUE", app.Constraints)
			}
			// The README: a cluster users share runs servers on BRIDGE.
			if tc.file == "sparkhub.json" && !slices.Equal(flagValue(app.Args, "--mesos-network"), []string{"BRIDGE"}) {
				t.Errorf("the hub's args %q do not run servers with --mesos-network BRIDGE", app.Args)
			}
		})
	}
}

func TestDockerCompose(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("does not parse: %v", err)
	}
	for _, s := range []string{"zookeeper", "mesos-master", "mesos-agent", "spark-shuffle-service", "hub"} {
		svc, ok := f.Services[s]
		if !ok {
			t.Errorf("no service %s", s)
			continue
		}
		if svc.Image == "" || !hasExactTag(svc.Image) {
			t.Errorf("%s: image %q is not pinned to an exact tag", s, svc.Image)
		}
	}
}

// flagValue is every value args give flag ("--flag", "value").
func flagValue(args []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			out = append(out, args[i+1])
		}
	}
	return out
}

func hasExactTag(image string) bool {
	for i := len(image) - 1; i >= 0 && image[i] != '/'; i-- {
		if image[i] == ':' {
			tag := image[i+1:]
			return tag != "latest" && tag != ""
		}
	}
	return false
}

// TestShufflePortAndUsers: the shuffle service listens on 7337 on every
// agent outside Mesos' accounting, so no agent offers 7337 (a server
// given it would take the service's port, and executors with dynamic
// allocation could not register); the hub keeps it from servers all the
// same; the users tasks and Spark register as are named, as agents that
// switch users need.
func TestShufflePortAndUsers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("marathon", "spark-shuffle-service.json"))
	if err != nil {
		t.Fatal(err)
	}
	var shuffle struct {
		PortDefinitions []any             `json:"portDefinitions"`
		RequirePorts    bool              `json:"requirePorts"`
		Env             map[string]string `json:"env"`
		HealthChecks    []struct {
			Port int `json:"port"`
		} `json:"healthChecks"`
	}
	if err := json.Unmarshal(b, &shuffle); err != nil {
		t.Fatal(err)
	}
	if len(shuffle.PortDefinitions) != 0 || shuffle.RequirePorts {
		t.Errorf("the shuffle service asks Mesos for ports %v: stock agents do not offer 7337", shuffle.PortDefinitions)
	}
	if !strings.Contains(shuffle.Env["SPARK_SHUFFLE_OPTS"], "-Dspark.shuffle.service.port=7337") || len(shuffle.HealthChecks) != 1 || shuffle.HealthChecks[0].Port != 7337 {
		t.Errorf("the shuffle service does not listen and get checked on 7337: %v %v", shuffle.Env, shuffle.HealthChecks)
	}

	b, err = os.ReadFile(filepath.Join("marathon", "sparkhub.json"))
	if err != nil {
		t.Fatal(err)
	}
	var hub marathonApp
	if err := json.Unmarshal(b, &hub); err != nil {
		t.Fatal(err)
	}
	compose := composeServices(t)
	hubArgs := map[string][]string{"marathon": hub.Args, "compose": splitFlags(compose["hub"].Command)}
	for where, args := range hubArgs {
		for _, f := range []string{"--mesos-user", "--spark-user"} {
			if v := flagValue(args, f); len(v) != 1 || v[0] == "" {
				t.Errorf("%s: the hub's %s is %q; agents that switch users need one that exists", where, f, v)
			}
		}
		if v := flagValue(args, "--spark-shuffle-port"); !slices.Equal(v, []string{"7337"}) {
			t.Errorf("%s: --spark-shuffle-port %q, want 7337", where, v)
		}
	}
	if v := flagValue(hubArgs["compose"], "--spark-user"); !slices.Equal(v, []string{"nobody"}) {
		t.Errorf("compose: --spark-user %q: the agent's container has nobody, and no other", v)
	}
	res := compose["mesos-agent"].Environment["MESOS_RESOURCES"]
	_, ports, ok := strings.Cut(res, "ports:[")
	if !ok {
		t.Fatalf("MESOS_RESOURCES %q offers no ports", res)
	}
	ports, _, _ = strings.Cut(ports, "]")
	for r := range strings.SplitSeq(ports, ",") {
		lo, hi, _ := strings.Cut(r, "-")
		a, _ := strconv.Atoi(lo)
		z, _ := strconv.Atoi(hi)
		if a <= 7337 && 7337 <= z {
			t.Errorf("the agent offers %s, with the shuffle service's port 7337", r)
		}
	}
}

type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("does not parse: %v", err)
	}
	return f.Services
}

// splitFlags turns "--flag=value" arguments into "--flag", "value".
func splitFlags(args []string) []string {
	var out []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
			out = append(out, k, v)
			continue
		}
		out = append(out, a)
	}
	return out
}
