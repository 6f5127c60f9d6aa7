package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// TestServerAPIStatuses: JupyterHub's codes for starting and stopping,
// and the limits' 429 with Retry-After, through the REST API.
func TestServerAPIStatuses(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	opts := DefaultOptions()
	key := make([]byte, 32)
	rand.Read(key)
	pw, _ := auth.NewPasswords(bcrypt.MinCost)
	a := auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(key, time.Hour), auth.Options{})
	fake := spawnertest.NewFake()
	t.Cleanup(fake.Close)
	cat := images.DefaultCatalog()
	m, err := spawner.New(context.Background(), gdb, spawner.Options{ConcurrentSpawnLimit: 1, StartTimeout: time.Minute, PollInterval: 20 * time.Millisecond,
		Profiles: images.Specs{Catalog: cat}, Users: a.Store}, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	logs := &bytes.Buffer{}
	h, err := New(opts, Deps{DB: gdb, Auth: a, Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "test", Spawner: m, Profiles: cat})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	th := &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb, logs: logs}
	th.addUser("alice", false)
	th.addUser("bob", false)
	alice, bob := "token "+th.token("alice"), "token "+th.token("bob")

	// A start that answers at once is 201; again is 400.
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.status, r.body)
	}
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusBadRequest || !strings.Contains(r.message(t), "already running") {
		t.Errorf("second start = %d %s", r.status, r.body)
	}
	// A stop is 204; a stop of nothing is 400.
	if r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusNoContent {
		t.Fatalf("stop = %d %s", r.status, r.body)
	}
	if r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusBadRequest {
		t.Errorf("stop again = %d", r.status)
	}
	// A server that does not answer yet: 202, and a second start while
	// it is pending is 400. The concurrent-spawn limit (1) makes bob's
	// start a 429 with Retry-After.
	fake.Hang("alice", true)
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusAccepted {
		t.Fatalf("pending start = %d %s", r.status, r.body)
	}
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusBadRequest || !strings.Contains(r.message(t), "starting or stopping") {
		t.Errorf("start while pending = %d %s", r.status, r.body)
	}
	r := th.do(nil, req{method: "POST", path: "/hub/api/users/bob/server", auth: bob})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("start over the spawn limit = %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if _, _, st, _ := m.Route("bob"); st.Live() {
		t.Error("a refused start left bob's server live")
	}
	// A start the backend refuses as the hub is set up (one user only
	// on a hub that is not root) is a 403 with its sentence; one that
	// went wrong stays a 500.
	fake.Hang("alice", false)
	m.Stop(context.Background(), "alice")
	waitUntil(t, "bob's turn", func() bool { _, _, st, _ := m.Route("alice"); return !st.Live() })
	fake.FailStart("bob", &spawner.Failure{Message: "Only one person can have a server here.", Refused: true})
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/bob/server", auth: bob}); r.status != http.StatusForbidden || r.message(t) != "Only one person can have a server here." {
		t.Errorf("refused start = %d %s", r.status, r.body)
	}
	fake.FailStart("bob", &spawner.Failure{Message: "No machine has 64 GiB free."})
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/bob/server", auth: bob}); r.status != http.StatusInternalServerError {
		t.Errorf("failed start = %d %s", r.status, r.body)
	}
}
