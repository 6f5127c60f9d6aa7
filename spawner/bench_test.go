package spawner_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// BenchmarkRoute is the proxy's route lookup on every request: a user
// with a running server among 1,000 users, and one without.
func BenchmarkRoute(b *testing.B) {
	gdb := dbtest.Open(b, "sqlite")
	store := auth.NewStore(gdb)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("user%04d", i)
	}
	users, err := store.CreateUsers(context.Background(), names, false)
	if err != nil {
		b.Fatal(err)
	}
	f := spawnertest.NewFake()
	defer f.Close()
	m, err := spawner.New(context.Background(), gdb, spawner.Options{Users: store, Logger: slog.New(slog.DiscardHandler)}, f)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 1000; i += 10 {
		u := spawner.User{ID: users[i].ID, Name: users[i].Name}
		if ready, err := m.Start(ctx, u, ""); err != nil || !ready {
			b.Fatalf("Start: %v, %v", ready, err)
		}
	}
	b.Run("running", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, ok := m.Route("user0500"); !ok {
				b.Fatal("no route")
			}
		}
	})
	b.Run("stopped", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, ok := m.Route("user0501"); ok {
				b.Fatal("a route")
			}
		}
	})
}
