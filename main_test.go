package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
)

// TestLocalSpec: on one machine a profile's spec is what the admin
// wrote, with its own environment (the local backend says what of it a
// process does not get); the default catalog promises nothing; an
// unknown profile is refused.
func TestLocalSpec(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: small\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 2\n    mem: 8192\n    env: {TZ: Europe/Paris}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := defaults()
	cfg.Profiles = "p.yaml"
	spec, err := profileSpecs(cfg, cat).Resolve("small")
	small, _ := cat.Lookup("small")
	// Its environment carries the Spark settings sparkconf renders:
	// Spark inside the server, on the profile's cores.
	want := spawner.Spec{Image: "sparkhub/pyspark-notebook:3.5", CPUs: 2, Mem: 8192, Env: images.ProfileEnv(small, images.Cluster{})}
	if err != nil || !reflect.DeepEqual(spec, want) || spec.Env["TZ"] != "Europe/Paris" || spec.Env[images.EnvSparkMaster] != "" {
		t.Errorf("small = %+v, %v; want %+v", spec, err, want)
	}
	cfg.Profiles = ""
	spec, err = profileSpecs(cfg, defaultCatalog(cfg)).Resolve("")
	spec.Env = nil
	if err != nil || !reflect.DeepEqual(spec, spawner.Spec{}) {
		t.Errorf("without a catalog of the admin's, spec = %+v, %v; want no resources to apply", spec, err)
	}
	if _, err := profileSpecs(cfg, cat).Resolve("nope"); !errors.Is(err, spawner.ErrNoProfile) {
		t.Errorf("an unknown profile: %v, want ErrNoProfile", err)
	}
}

// TestMesosSpecFromCatalog: on Mesos a profile of the admin's catalog
// resolves into the same task spec the backend was given before specs
// were resolved by the manager: its image, resources, role, constraints
// and the environment the image's entrypoint reads; without --profiles
// the --mesos-* flags give the default server's spec, whose Spark runs
// on the cluster as the default profile promises (not local[*]).
func TestMesosSpecFromCatalog(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: big\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 8\n    mem: 65536\n    gpus: 1\n    constraints: [[\"hostname\", \"UNIQUE\"], [\"rack\", \"LIKE\", \"r[12]\"]]\n    env: {TZ: UTC}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := defaults()
	cfg.Spawner = "mesos"
	cfg.Mesos.Master = "http://m1:5050"
	def, err := profileSpecs(cfg, defaultCatalog(cfg)).Resolve("")
	if err != nil || def.Image != cfg.Mesos.Image || def.CPUs != cfg.Mesos.CPUs || def.Mem != cfg.Mesos.Mem || def.Disk != cfg.Mesos.Disk || def.GPUs != cfg.Mesos.GPUs {
		t.Errorf("without --profiles the flags must give the spec: %+v, %v", def, err)
	}
	cfg.Mesos.Constraints = "hostname:UNIQUE;gpu:LIKE:.*"
	if c, _ := profileSpecs(cfg, defaultCatalog(cfg)).Resolve(""); c.Env[images.EnvSparkConstraints] != "gpu:" {
		t.Errorf("without --profiles the executors' constraints are %q, want --mesos-constraints' gpu:", c.Env[images.EnvSparkConstraints])
	}
	cfg.Mesos.Constraints = ""
	if def.Env[images.EnvSparkMaster] != "mesos://m1:5050" || def.Env[images.EnvSparkUser] != "nobody" {
		t.Errorf("without --profiles the default profile's Spark: master %q, user %q; want the cluster's, as Spark's own user",
			def.Env[images.EnvSparkMaster], def.Env[images.EnvSparkUser])
	}
	cfg.Profiles = "p.yaml"
	spec, err := profileSpecs(cfg, cat).Resolve("big")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cat.Lookup("big")
	want := spawner.Spec{
		Image: "sparkhub/pyspark-notebook:3.5", CPUs: 8, Mem: 65536, GPUs: 1,
		Constraints: []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}, {Field: "rack", Operator: "LIKE", Value: "r[12]"}},
		Env:         images.ProfileEnv(p, images.Cluster{Master: cfg.Mesos.Master, Image: cfg.Mesos.Image, Role: cfg.Mesos.Role, User: "nobody"}),
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec =\n%+v\nwant\n%+v", spec, want)
	}
	if spec.Env["TZ"] != "UTC" || spec.Env[images.EnvSparkMaster] != "mesos://m1:5050" {
		t.Errorf("env = %v, want the profile's and Spark's", spec.Env)
	}
	if _, err := profileSpecs(cfg, cat).Resolve("small"); !errors.Is(err, spawner.ErrNoProfile) {
		t.Errorf("an unknown profile gave a spec: %v", err)
	}
}
