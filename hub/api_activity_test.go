package hub

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// TestActivityReport: POST /hub/api/users/{name}/activity in
// JupyterHub's shape moves the user's and the server's last activity
// forward only; bad bodies are 400 and change nothing; bob may not
// report for alice.
func TestActivityReport(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th, _ := newPageHub(t, gdb)
	th.addUser("alice", false)
	th.addUser("bob", false)
	alice, bob := "token "+th.token("alice"), "token "+th.token("bob")
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.status, r.body)
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	lastActivity := func(name string) (user, server string) {
		t.Helper()
		var m userModel0
		r := th.do(nil, req{method: "GET", path: "/hub/api/users/" + name, auth: map[string]string{"alice": alice, "bob": bob}[name]})
		r.json(t, &m)
		return m.LastActivity, m.Servers[""].LastActivity
	}
	later := time.Now().Add(30 * time.Minute).Truncate(time.Millisecond)
	body := map[string]any{"last_activity": ts(later), "servers": map[string]any{"": map[string]any{"last_activity": ts(later)}}}
	r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/activity", auth: alice, body: body})
	if r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("report = %d %q, want 200 and an empty body", r.status, r.body)
	}
	if u, s := lastActivity("alice"); u != ts(later) || s != ts(later) {
		t.Errorf("after the report: user %s, server %s; want %s for both", u, s, ts(later))
	}
	// An earlier time is taken and changes nothing.
	earlier := later.Add(-2 * time.Hour)
	body = map[string]any{"last_activity": ts(earlier), "servers": map[string]any{"": map[string]any{"last_activity": ts(earlier)}}}
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/activity", auth: alice, body: body}); r.status != http.StatusOK {
		t.Fatalf("earlier report = %d %s", r.status, r.body)
	}
	if u, s := lastActivity("alice"); u != ts(later) || s != ts(later) {
		t.Errorf("an earlier report moved activity back: user %s, server %s; want %s", u, s, ts(later))
	}
	// The server's database row holds it too, for the culler after a
	// restart.
	srv, err := th.hub.servers.Server(context.Background(), serverUser(th.user("alice")))
	if err != nil || srv.LastActivity == nil || !srv.LastActivity.Equal(later) {
		t.Errorf("server model last activity = %v (%v), want %s", srv.LastActivity, err, later)
	}

	before := th.snapshot()
	beforeBob, _ := lastActivity("bob")
	far := ts(time.Now().Add(2 * time.Hour))
	for _, c := range []struct {
		name, path, auth string
		body             any
		status           int
		says             string
	}{
		{"bob for alice", "/hub/api/users/alice/activity", bob, map[string]any{"last_activity": far}, http.StatusNotFound, ""},
		{"anonymous", "/hub/api/users/alice/activity", "", map[string]any{"last_activity": ts(time.Now())}, http.StatusUnauthorized, ""},
		{"empty body", "/hub/api/users/bob/activity", bob, nil, http.StatusBadRequest, "JSON body"},
		{"empty object", "/hub/api/users/bob/activity", bob, "{}", http.StatusBadRequest, "at least one of"},
		{"not a time", "/hub/api/users/bob/activity", bob, `{"last_activity": "yesterday"}`, http.StatusBadRequest, "Not a valid timestamp"},
		{"a number", "/hub/api/users/bob/activity", bob, `{"last_activity": 12}`, http.StatusBadRequest, "last_activity"},
		{"the future", "/hub/api/users/bob/activity", bob, map[string]any{"last_activity": far}, http.StatusBadRequest, "in the future"},
		{"named server", "/hub/api/users/bob/activity", bob, `{"servers": {"gpu": {"last_activity": "2026-01-01T00:00:00Z"}}}`, http.StatusBadRequest, "No such server"},
		{"server without a time", "/hub/api/users/bob/activity", bob, `{"servers": {"": {}}}`, http.StatusBadRequest, "servers must be"},
		// bob never started a server: nothing is written, his own time
		// included.
		{"server never started", "/hub/api/users/bob/activity", bob, `{"last_activity": "2026-01-01T00:00:00Z", "servers": {"": {"last_activity": "2026-01-01T00:00:00Z"}}}`, http.StatusBadRequest, "No such server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := th.do(nil, req{method: "POST", path: c.path, auth: c.auth, body: c.body})
			if r.status != c.status {
				t.Fatalf("%s = %d %s, want %d", c.name, r.status, r.body, c.status)
			}
			if msg := r.message(t); !strings.Contains(msg, c.says) {
				t.Errorf("message %q does not say %q", msg, c.says)
			}
		})
	}
	if after := th.snapshot(); after != before {
		t.Errorf("refused reports changed users or tokens:\n%s\nwas\n%s", after, before)
	}
	if u, s := lastActivity("alice"); u != ts(later) || s != ts(later) {
		t.Errorf("refused reports moved alice's activity: user %s, server %s", u, s)
	}
	if u, _ := lastActivity("bob"); u != beforeBob {
		t.Errorf("refused reports moved bob's activity from %s to %s", beforeBob, u)
	}
}

// userModel0 is the part of the user model the activity tests read.
type userModel0 struct {
	LastActivity string `json:"last_activity"`
	Servers      map[string]struct {
		LastActivity string `json:"last_activity"`
		Stopped      bool   `json:"stopped"`
		Ready        bool   `json:"ready"`
		Pending      *string
	} `json:"servers"`
}

func (th *testHub) user(name string) *auth.User {
	th.t.Helper()
	u, err := th.auth.Store.UserByName(context.Background(), name)
	if err != nil {
		th.t.Fatal(err)
	}
	return u
}

// TestIncludeStoppedServers: ?include_stopped_servers shows a stopped
// default server as JupyterHub does, only to those who may read
// servers; without it (or =false) servers lists only live ones.
func TestIncludeStoppedServers(t *testing.T) {
	th, _ := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	th.addUser("bob", false)
	alice, bob := "token "+th.token("alice"), "token "+th.token("bob")
	narrow := "token " + th.token("alice", "read:users!user=alice")
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.status, r.body)
	}
	if r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusNoContent {
		t.Fatalf("stop = %d %s", r.status, r.body)
	}
	get := func(path, tok string) (int, map[string]any) {
		t.Helper()
		r := th.do(nil, req{method: "GET", path: path, auth: tok})
		var m map[string]any
		if r.status == http.StatusOK {
			r.json(t, &m)
		}
		return r.status, m
	}
	for _, q := range []string{"", "?include_stopped_servers=false", "?include_stopped_servers=0"} {
		if _, m := get("/hub/api/users/alice"+q, alice); len(m["servers"].(map[string]any)) != 0 {
			t.Errorf("%q: servers = %v, want {}", q, m["servers"])
		}
	}
	for _, path := range []string{"/hub/api/users/alice?include_stopped_servers", "/hub/api/users/alice?include_stopped_servers=1", "/hub/api/user?include_stopped_servers"} {
		_, m := get(path, alice)
		s, ok := m["servers"].(map[string]any)[""].(map[string]any)
		if !ok {
			t.Fatalf("%s: no stopped server in %v", path, m)
		}
		if s["stopped"] != true || s["ready"] != false || s["pending"] != nil || s["started"] == nil || s["url"] != "/user/alice/" {
			t.Errorf("%s: stopped server = %v, want stopped, not ready, pending null, started kept", path, s)
		}
		if m["server"] != nil {
			t.Errorf("%s: server = %v, want null for a stopped server", path, m["server"])
		}
	}
	// bob learns nothing of alice's stopped server; a token without
	// read:servers sees no servers at all.
	if st, _ := get("/hub/api/users/alice?include_stopped_servers", bob); st != http.StatusNotFound {
		t.Errorf("bob reading alice with include_stopped_servers = %d, want 404", st)
	}
	if _, m := get("/hub/api/users/alice?include_stopped_servers", narrow); m == nil || m["servers"] != nil {
		t.Errorf("a read:users token sees servers: %v", m)
	}
	// bob never started one: nothing to show, even when asked.
	if _, m := get("/hub/api/users/bob?include_stopped_servers", bob); len(m["servers"].(map[string]any)) != 0 {
		t.Errorf("bob's servers = %v, want {}", m["servers"])
	}
}
