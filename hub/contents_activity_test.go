package hub

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// newContentsServersHub is newContentsHub with a spawner manager over
// the fake backend, culling after idle.
func newContentsServersHub(t *testing.T, adminAccess bool, idle time.Duration) (*testHub, *spawner.Manager) {
	t.Helper()
	fake := spawnertest.NewFake()
	t.Cleanup(fake.Close)
	var m *spawner.Manager
	th := newContentsHubDeps(t, adminAccess, nil, func(d *Deps) {
		var err error
		m, err = spawner.New(context.Background(), d.DB, spawner.Options{Logger: d.Logger, PollInterval: 20 * time.Millisecond,
			IdleTimeout: idle, Users: d.Auth.Store}, fake)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		d.Spawner, d.SpawnerName = m, "fake"
	})
	return th, m
}

// activityOf is the last activity the manager holds for user's server:
// its start if nothing was active since.
func activityOf(t *testing.T, th *testHub, m *spawner.Manager, user string) time.Time {
	t.Helper()
	u, err := th.auth.Store.UserByName(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	md, err := m.Server(context.Background(), spawner.User{ID: u.ID, Name: u.Name})
	if err != nil {
		t.Fatal(err)
	}
	if md.LastActivity != nil {
		return *md.LastActivity
	}
	if md.Started == nil {
		t.Fatalf("%s's server has not started", user)
	}
	return *md.Started
}

// TestContentsActivity: the owner's contents traffic through the hub
// (and an admin's with --admin-access) keeps the owner's server from
// being culled; refused requests, bob's among them, and the server's
// own token do not, and neither does traffic while no server runs.
func TestContentsActivity(t *testing.T) {
	const idle = time.Hour
	th, m := newContentsServersHub(t, true, idle)
	alice := "token " + th.token("alice")
	save := map[string]any{"type": "file", "format": "text", "content": "autosave"}

	// No server: a save is not activity, and nothing is made to run.
	if r := th.do(nil, req{method: "PUT", path: "/user/alice/api/contents/a.txt", auth: alice, body: save}); r.status != http.StatusCreated {
		t.Fatalf("save without a server = %d %s", r.status, r.body)
	}
	au, err := th.auth.Store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if md, _ := m.Server(context.Background(), spawner.User{ID: au.ID, Name: au.Name}); md.LastActivity != nil {
		t.Errorf("activity %v recorded with no server running", md.LastActivity)
	}

	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice, body: map[string]any{}}); r.status != http.StatusCreated && r.status != http.StatusAccepted {
		t.Fatalf("start alice = %d %s", r.status, r.body)
	}
	waitUntil(t, "alice's server", func() bool { _, _, _, ok := m.Route("alice"); return ok })

	// Saves through the hub and reads of /files count, whoever may make
	// them: alice, and root with --admin-access.
	for _, tt := range []struct {
		who string
		rq  req
	}{
		{"alice", req{method: "PUT", path: "/user/alice/api/contents/a.txt", auth: alice, body: save}},
		{"alice", req{method: "GET", path: "/user/alice/files/a.txt", auth: alice}},
		{"root", req{method: "GET", path: "/user/alice/api/contents/a.txt", auth: "token " + th.token("root")}},
	} {
		before := activityOf(t, th, m, "alice")
		if r := th.do(nil, tt.rq); r.status/100 != 2 {
			t.Fatalf("%s's %s %s = %d %s", tt.who, tt.rq.method, tt.rq.path, r.status, r.body)
		}
		if after := activityOf(t, th, m, "alice"); !after.After(before) {
			t.Errorf("%s's %s %s: activity %v, not after %v", tt.who, tt.rq.method, tt.rq.path, after, before)
		}
	}
	last := activityOf(t, th, m, "alice")
	if got := m.Cull(context.Background(), last.Add(idle)); len(got) != 0 {
		t.Fatalf("culled %v one idle timeout after alice's save", got)
	}

	// The user's own last_activity says so too.
	var u struct {
		LastActivity string `json:"last_activity"`
	}
	th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: alice}).json(t, &u)
	if got, err := time.Parse(time.RFC3339Nano, u.LastActivity); err != nil || got.Before(last.Truncate(time.Millisecond)) {
		t.Errorf("alice's last_activity = %q, want %s", u.LastActivity, last.Format(time.RFC3339Nano))
	}

	// Refused requests and the server's own token leave it alone.
	_, serverTok, err := th.auth.Store.CreateToken(context.Background(), au.ID, auth.NewToken{
		Kind: auth.KindServer, Note: "contents access of the user's server", Scopes: []string{auth.ScopeContents + "!user=alice"}})
	if err != nil {
		t.Fatal(err)
	}
	bob := "token " + th.token("bob")
	for _, rq := range []req{
		{method: "PUT", path: "/user/alice/api/contents/a.txt", auth: bob, body: save},
		{method: "GET", path: "/user/alice/api/contents", auth: bob},
		{method: "GET", path: "/user/alice/files/a.txt", auth: bob},
		{method: "GET", path: "/user/alice/api/contents", auth: "token " + th.token("alice", "read:users")},
		{method: "GET", path: "/user/alice/api/contents", auth: "token not-a-token"},
		{method: "GET", path: "/user/alice/api/contents/a.txt", auth: "token " + serverTok},
	} {
		th.do(nil, rq)
	}
	if after := activityOf(t, th, m, "alice"); !after.Equal(last) {
		t.Errorf("refused requests and the server's own token moved alice's activity from %v to %v", last, after)
	}
	if got := m.Cull(context.Background(), last.Add(idle+time.Microsecond)); len(got) != 1 || got[0] != "alice" {
		t.Errorf("culled %v once idle after bob's requests, want [alice]", got)
	}
}
