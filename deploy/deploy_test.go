// Package deploy holds deployment files (Marathon apps, docker-compose);
// its tests check they parse and say what the README promises.
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
