package main

import (
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/hub"
	"github.com/sparkhub/sparkhub/images"
)

func TestLocalProfile(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: small\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 2\n    mem: 8192\n    env: {TZ: Europe/Paris}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	env, note, ok := localProfile(cat, true)("small")
	if !ok || env["TZ"] != "Europe/Paris" || !strings.Contains(note, "2 CPUs, 8192 MiB of memory") {
		t.Errorf("small = %v, %q, %v", env, note, ok)
	}
	if _, note, _ := localProfile(cat, false)("small"); note != "" {
		t.Errorf("without a catalog of the admin's, note = %q", note)
	}
	if _, _, ok := localProfile(cat, true)("nope"); ok {
		t.Error("an unknown profile was accepted")
	}
}

func TestMesosSpecFromCatalog(t *testing.T) {
	cat, problems := images.ParseCatalog("p.yaml", []byte("profiles:\n  - name: big\n    image: sparkhub/pyspark-notebook:3.5\n    cpus: 8\n    mem: 65536\n    gpus: 1\n    constraints: [[\"hostname\", \"UNIQUE\"], [\"rack\", \"LIKE\", \"r[12]\"]]\n    env: {TZ: UTC}\n"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cfg := hub.Defaults()
	cfg.Mesos.Master = "http://m1:5050"
	if mesosSpec(cfg, cat) != nil {
		t.Error("without --profiles the flags must give the spec")
	}
	cfg.Profiles = "p.yaml"
	spec, err := mesosSpec(cfg, cat)("big")
	if err != nil {
		t.Fatal(err)
	}
	if spec.CPUs != 8 || spec.Mem != 65536 || spec.GPUs != 1 || len(spec.Constraints) != 2 || spec.Env["TZ"] != "UTC" {
		t.Errorf("spec = %+v", spec)
	}
	if _, err := mesosSpec(cfg, cat)("small"); err == nil {
		t.Error("an unknown profile gave a spec")
	}
}
