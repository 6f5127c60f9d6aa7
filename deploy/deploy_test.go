// Package deploy holds deployment files (Marathon apps, docker-compose);
// its tests check they parse and say what the README promises.
package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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

func hasExactTag(image string) bool {
	for i := len(image) - 1; i >= 0 && image[i] != '/'; i-- {
		if image[i] == ':' {
			tag := image[i+1:]
			return tag != "latest" && tag != ""
		}
	}
	return false
}
