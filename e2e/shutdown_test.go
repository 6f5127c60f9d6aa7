package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// aliceInJupyter is a hub whose users' servers run Jupyter, and alice
// logged in with her server running and its page opened: Jupyter's
// page leaves the _xsrf cookie its menus send.
func aliceInJupyter(t *testing.T) (*hubtest.Hub, *client) {
	t.Helper()
	needJupyter(t)
	dataDir := t.TempDir()
	t.Cleanup(func() { hubtest.KillServersUnder(dataDir) })
	mustRun(t, "alice's password\n", "user", "add", "alice", "--password-stdin", "--data-dir", dataDir, "--bcrypt-cost", "4")
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0")
	alice := newClient(t, h.URL)
	if resp := alice.login("alice", "alice's password"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	alice.startServer("alice")
	if code := alice.api("GET", "/user/alice/tree", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("tree = %d", code)
	}
	return h, alice
}

// TestShutDownFromJupyter: the real notebook's File > Shut Down (its
// POST api/shutdown) ends the server, and the home page says so in
// words the user knows, without sending them to the page they are on.
func TestShutDownFromJupyter(t *testing.T) {
	h, alice := aliceInJupyter(t)
	if code := alice.api("POST", "/user/alice/api/shutdown", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("shutdown = %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	var home string
	for {
		resp, err := alice.http.Get(h.URL + "/hub/home")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if home = string(b); strings.Contains(home, "Not running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still runs 30 s after its shutdown:\n%s\n%s", home, h.Logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(home, "Your server stopped: it was shut down from inside Jupyter (File &gt; Shut Down).") || strings.Contains(home, "home page") {
		t.Errorf("home page after a shutdown from Jupyter:\n%s", home)
	}
}

// TestStopWithJupytersXSRF is what hubtraf and JupyterLab's Shut Down
// do: DELETE /hub/api/users/{name}/server with the session cookie and
// X-XSRFToken set to the _xsrf cookie Jupyter's page left under
// /user/{name}/. A made-up token stops nothing.
func TestStopWithJupytersXSRF(t *testing.T) {
	h, alice := aliceInJupyter(t)
	// Jupyter's own writes still work with the cookie it was given.
	if code := alice.api("GET", "/user/alice/api/kernels", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("kernels = %d", code)
	}
	v := alice.xsrf("/user/alice/")
	if v == "" {
		t.Fatal("no _xsrf cookie under /user/alice/")
	}
	stop := func(token string) int {
		req, _ := http.NewRequest("DELETE", h.URL+"/hub/api/users/alice/server", nil)
		req.Header.Set("X-XSRFToken", token)
		resp, err := alice.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := stop("forged-" + v); code != http.StatusForbidden {
		t.Fatalf("stop with a made-up _xsrf = %d, want 403", code)
	}
	if code := alice.api("GET", "/user/alice/api", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("after a refused stop the server answers %d", code)
	}
	if code := stop(v); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop with Jupyter's _xsrf = %d, want 204 or 202", code)
	}
}
