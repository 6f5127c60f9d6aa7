package main

import (
	"testing"
)

// Without --profiles the one profile says what a server really gets.
func TestDefaultCatalog(t *testing.T) {
	cfg := defaults()
	if p := defaultCatalog(cfg).Profiles[0]; p.DisplayName != "Python (this machine)" || p.CPUs != 0 || p.Mem != 0 || p.Image != "" {
		t.Errorf("local default profile = %+v", p)
	}
	cfg.Spawner = "mesos"
	cfg.Mesos.CPUs, cfg.Mesos.Mem, cfg.Mesos.Image = 2, 4096, "example/notebook:1"
	if p := defaultCatalog(cfg).Profiles[0]; p.CPUs != 2 || p.Mem != 4096 || p.Image != "example/notebook:1" {
		t.Errorf("Mesos default profile = %+v, want the --mesos-* flags' resources", p)
	}
}
