package hub

import (
	"net/http"
	"testing"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// TestJupyterHubVersionHeader: every /hub/api answer, refusals and
// errors too, names the JupyterHub version whose API sparkhub speaks, a
// PEP 440 version single-user servers accept.
func TestJupyterHubVersionHeader(t *testing.T) {
	th := newTestHub(t, dbtest.Open(t, db.SQLite), nil)
	th.addUser("alice", false)
	alice := "token " + th.token("alice")
	for _, c := range []struct {
		name   string
		rq     req
		status int
	}{
		{"root", req{method: "GET", path: "/hub/api"}, http.StatusOK},
		{"whoami", req{method: "GET", path: "/hub/api/user", auth: alice}, http.StatusOK},
		{"anonymous", req{method: "GET", path: "/hub/api/user"}, http.StatusUnauthorized},
		{"refused", req{method: "GET", path: "/hub/api/info", auth: alice}, http.StatusForbidden},
		{"bad body", req{method: "POST", path: "/hub/api/users/alice/activity", auth: alice, body: "{"}, http.StatusBadRequest},
		{"no endpoint", req{method: "GET", path: "/hub/api/nothing", auth: alice}, http.StatusNotFound},
		{"health", req{method: "GET", path: "/hub/api/health"}, http.StatusOK},
	} {
		r := th.do(nil, c.rq)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
		}
		if got := r.header.Get("X-JupyterHub-Version"); got != "3.0.0" {
			t.Errorf("%s: X-JupyterHub-Version %q, want 3.0.0", c.name, got)
		}
	}
}
