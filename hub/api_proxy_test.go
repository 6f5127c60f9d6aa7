package hub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
)

// TestProxyTable: GET /hub/api/proxy is JupyterHub's routing table for
// admins; a user may not read it (the targets of everyone's servers),
// nor mint a token that may, and no server token is in it.
func TestProxyTable(t *testing.T) {
	th, _ := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	th.addUser("root", true)
	alice, root := "token "+th.token("alice"), "token "+th.token("root")
	if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.status, r.body)
	}
	target, token, _, ok := th.hub.servers.Route("alice")
	if !ok || token == "" {
		t.Fatal("alice's server has no route")
	}

	r := th.do(nil, req{method: "GET", path: "/hub/api/proxy", auth: root})
	if r.status != http.StatusOK {
		t.Fatalf("admin reading the table = %d %s", r.status, r.body)
	}
	var table map[string]struct {
		RouteSpec string         `json:"routespec"`
		Target    string         `json:"target"`
		Data      map[string]any `json:"data"`
	}
	r.json(t, &table)
	a := table["/user/alice/"]
	if a.RouteSpec != "/user/alice/" || a.Target != routeTarget(target) || a.Data["user"] != "alice" || a.Data["server_name"] != "" || a.Data["last_activity"] == nil {
		t.Errorf("alice's route = %+v", a)
	}
	if hub := table["/"]; hub.RouteSpec != "/" || hub.Data["hub"] != true || hub.Target != th.srv.URL {
		t.Errorf("the hub's route = %+v, want / to %s", hub, th.srv.URL)
	}
	if len(table) != 2 {
		t.Errorf("table has %d routes, want the hub's and alice's: %s", len(table), r.body)
	}
	if strings.Contains(string(r.body), token) {
		t.Error("the routing table shows alice's server token")
	}

	// A user, anonymous, a token of root's for something else: refused.
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"user", alice, http.StatusForbidden},
		{"anonymous", "", http.StatusUnauthorized},
		{"admin token without proxy", "token " + th.token("root", "read:hub"), http.StatusForbidden},
		{"user token asking for proxy", "token " + th.token("alice", "proxy"), http.StatusForbidden},
	} {
		r := th.do(nil, req{method: "GET", path: "/hub/api/proxy", auth: c.auth})
		if r.status != c.status || strings.Contains(string(r.body), "/user/alice/") {
			t.Errorf("%s reading the table = %d %s, want %d", c.name, r.status, r.body, c.status)
		}
	}
	if r := th.do(nil, req{method: "GET", path: "/hub/api/proxy", auth: "token " + th.token("root", "proxy")}); r.status != http.StatusOK {
		t.Errorf("a proxy token of root's = %d", r.status)
	}
}

// TestRouteTarget: a Unix socket shows as http+unix:// with its path.
func TestRouteTarget(t *testing.T) {
	if got, want := routeTarget(spawner.SocketTarget("/var/lib/sparkhub/run/alice.sock")), "http+unix://%2Fvar%2Flib%2Fsparkhub%2Frun%2Falice.sock"; got != want {
		t.Errorf("socket target = %q, want %q", got, want)
	}
	tcp := spawner.SocketTarget("/x")
	tcp.Host = "10.0.0.5:8888"
	if got := routeTarget(tcp); got != "http://10.0.0.5:8888" {
		t.Errorf("TCP target = %q", got)
	}
}
