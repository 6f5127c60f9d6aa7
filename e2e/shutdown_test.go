package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// TestShutDownFromJupyter: the real notebook's File > Shut Down (its
// POST api/shutdown) ends the server, and the home page says so in
// words the user knows, without sending them to the page they are on.
func TestShutDownFromJupyter(t *testing.T) {
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
	// Jupyter's own page sets its _xsrf cookie, which its menu sends.
	if code := alice.api("GET", "/user/alice/tree", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("tree = %d", code)
	}
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
