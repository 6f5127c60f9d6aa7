package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
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

// With --user-subdomains the hub names, at start, the users whose names
// cannot be a host name, so an admin can rename them.
func TestWarnUnreachable(t *testing.T) {
	ctx := context.Background()
	store := auth.NewStore(dbtest.Open(t, "sqlite"))
	for _, n := range []string{"alice", "a.b", "c_d", "data-team"} {
		if _, err := store.CreateUser(ctx, n, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := warnUnreachable(ctx, store, auth.Subdomains{}, log); err != nil || logs.Len() != 0 {
		t.Errorf("without --user-subdomains: %v, logged %q", err, logs.String())
	}
	sd, _ := auth.ParseSubdomains("hub.example.com")
	if err := warnUnreachable(ctx, store, sd, log); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "users=a.b,c_d") || strings.Contains(got, "alice") || !strings.Contains(got, "level=WARN") {
		t.Errorf("logged %q, want a warning naming a.b and c_d only", got)
	}
}
