package e2e

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// frontEndHub is a hub whose local servers run cmd from the test
// virtualenv (JupyterLab 4.6 or Notebook 7.6, as root each as its user's
// own account), with alice logged in and her server running, and bob
// logged in. extra are more flags for sparkhub serve.
func frontEndHub(t *testing.T, cmd string, extra ...string) (h *hubtest.Hub, alice, bob *client) {
	t.Helper()
	h, alice, bob, _ = frontEndHubWith(t, cmd, extra...)
	return h, alice, bob
}

// frontEndHubWith is frontEndHub, also returning the flags that reach
// the hub's data (for sparkhub user and token commands).
func frontEndHubWith(t *testing.T, cmd string, extra ...string) (h *hubtest.Hub, alice, bob *client, common []string) {
	t.Helper()
	bin, shared := needtest.VenvToolForServers(t, cmd)
	dataDir, common := jupyterUsers(t)
	args := []string{"--data-dir", dataDir, "--idle-timeout", "0", "--local-cmd", bin}
	if shared {
		args = append(args, "--local-shared-account")
	} else if len(common) > 4 {
		args = append(args, common[4:]...)
	}
	h = startHub(t, nil, append(args, extra...)...)
	alice, bob = newClient(t, h.URL), newClient(t, h.URL)
	for _, u := range []struct {
		c              *client
		name, password string
	}{{alice, "alice", "alice's password"}, {bob, "bob", "bob's password!"}} {
		if resp := u.c.login(u.name, u.password); resp.StatusCode != http.StatusFound {
			t.Fatalf("login %s = %d", u.name, resp.StatusCode)
		}
	}
	// With a token, through a client without a timeout: the start
	// answers once the server is ready or after the hub's own wait.
	token := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "alice"}, common...)...))
	if code := alice.api("POST", "/hub/api/users/alice/server", token, map[string]any{}, nil); code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("start = %d", code)
	}
	hubtest.WaitFor(t, "alice's "+cmd+" ready", 3*time.Minute, func() bool {
		var st struct{ Server *string }
		alice.api("GET", "/hub/api/users/alice", "cookie", nil, &st)
		return st.Server != nil
	})
	return h, alice, bob, common
}

// page GETs path as a browser with c's cookie, following redirects
// under /user/, and returns the final status, path and body.
func (c *client) page(path string, hdr ...string) (int, string, string) {
	c.t.Helper()
	for range 5 {
		req, _ := http.NewRequest("GET", c.base+path, nil)
		req.Header.Set("Accept", "text/html")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.http.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/user/") {
			return resp.StatusCode, path, string(body)
		}
		path = loc
	}
	c.t.Fatalf("%s: too many redirects", path)
	return 0, "", ""
}

var pageConfigRE = regexp.MustCompile(`(?s)<script id="jupyter-config-data" type="application/json">(.*?)</script>`)

// pageConfig is the page config of a JupyterLab or Notebook 7 page.
func pageConfig(t *testing.T, body string) map[string]any {
	t.Helper()
	m := pageConfigRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page config in the page:\n%.2000s", body)
	}
	var pc map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &pc); err != nil {
		t.Fatalf("page config: %v\n%s", err, m[1])
	}
	return pc
}

// checkHubKeys: the keys @jupyterlab/hub-extension reads, for visitor on
// alice's server, and no token.
func checkHubKeys(t *testing.T, pc map[string]any, visitor string) {
	t.Helper()
	want := map[string]string{
		"hubPrefix": "/hub/", "hubHost": "", "hubUser": visitor, "hubServerUser": "alice",
		"hubServerName": "", "shareUrl": "/hub/user-redirect", "baseUrl": "/user/alice/", "token": "",
	}
	for k, v := range want {
		if got, ok := pc[k].(string); !ok || got != v {
			t.Errorf("page config %s = %#v, want %q", k, pc[k], v)
		}
	}
}

// TestJupyterLabThroughTheHub runs JupyterLab 4.6 from the test
// virtualenv as alice's server: its page config carries the hub's keys
// for the visitor and no token, its contents manager (jupyter_server 2)
// reads her notebooks from the database, checkpoints create and
// restore, the notebook is there with the server stopped, and
// Jupyter's logout leads to the hub's logout page and nowhere else. bob
// reads nothing of it.
func TestJupyterLabThroughTheHub(t *testing.T) {
	_, alice, bob := frontEndHub(t, "jupyter-lab")

	code, _, body := alice.page("/user/alice/lab")
	if code != http.StatusOK {
		t.Fatalf("lab = %d:\n%.2000s", code, body)
	}
	checkHubKeys(t, pageConfig(t, body), "alice")
	// A visitor claiming to be bob is still alice to the page.
	if code, _, body := alice.page("/user/alice/lab", "X-Sparkhub-User", "bob"); code != http.StatusOK {
		t.Errorf("lab with a forged visitor = %d", code)
	} else {
		checkHubKeys(t, pageConfig(t, body), "alice")
	}

	// The attack: bob asks for alice's Lab and her logout.
	for _, p := range []string{"/user/alice/lab", "/user/alice/logout", "/user/alice/lab/tree/x.ipynb"} {
		code, _, body := bob.page(p)
		if code != http.StatusNotFound || strings.Contains(body, "hubServerUser") || strings.Contains(body, "jupyter-config-data") {
			t.Errorf("bob GET %s = %d (want 404, nothing of alice's):\n%.500s", p, code, body)
		}
	}

	// A notebook through the contents API, read back by the server's
	// own contents manager (nbconvert asks it), with a checkpoint.
	nb := map[string]any{"type": "notebook", "content": map[string]any{
		"cells": []any{map[string]any{"cell_type": "code", "source": "print('from lab')", "metadata": map[string]any{},
			"outputs": []any{}, "execution_count": nil}},
		"metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5}}
	if code := alice.api("PUT", "/user/alice/api/contents/lab.ipynb", "cookie", nb, nil); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("save = %d", code)
	}
	if code, _, body := alice.page("/user/alice/nbconvert/script/lab.ipynb?download=false"); code != http.StatusOK || !strings.Contains(body, "print('from lab')") {
		t.Errorf("nbconvert through jupyter_server 2's contents manager = %d:\n%.1000s", code, body)
	}
	var cp struct{ ID string }
	if code := alice.api("POST", "/user/alice/api/contents/lab.ipynb/checkpoints", "cookie", nil, &cp); code != http.StatusCreated || cp.ID == "" {
		t.Fatalf("checkpoint = %d %+v", code, cp)
	}
	nb["content"].(map[string]any)["cells"] = []any{}
	if code := alice.api("PUT", "/user/alice/api/contents/lab.ipynb", "cookie", nb, nil); code != http.StatusOK {
		t.Fatalf("second save = %d", code)
	}
	if code := alice.api("POST", "/user/alice/api/contents/lab.ipynb/checkpoints/"+cp.ID, "cookie", nil, nil); code != http.StatusNoContent {
		t.Fatalf("restore = %d", code)
	}
	if code, _, body := alice.page("/user/alice/nbconvert/script/lab.ipynb?download=false"); code != http.StatusOK || !strings.Contains(body, "print('from lab')") {
		t.Errorf("after restoring the checkpoint, the server reads = %d:\n%.1000s", code, body)
	}

	// Jupyter's logout (hub-extension's Log Out) goes to the hub's
	// logout page, whatever the link asks, and logs no one out by a GET.
	for _, p := range []string{"/user/alice/logout", "/user/alice/logout?next=https://evil.example/", "/user/alice/logout?next=//evil.example"} {
		resp, err := alice.http.Get(alice.base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/hub/logout" {
			t.Errorf("GET %s = %d %q, want 302 to /hub/logout", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if code, _, body := alice.page("/hub/logout"); code != http.StatusOK || !strings.Contains(body, "<form") {
		t.Errorf("the hub's logout page = %d", code)
	}
	if code := alice.api("GET", "/hub/api/user", "cookie", nil, nil); code != http.StatusOK {
		t.Errorf("after GETs of the logouts, alice's session = %d, want still 200", code)
	}

	// Stopped, the notebook is still hers, from the database.
	if code := alice.api("DELETE", "/hub/api/users/alice/server", "cookie", nil, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop = %d", code)
	}
	hubtest.WaitFor(t, "alice's server stopped", time.Minute, func() bool {
		var st struct{ Server *string }
		alice.api("GET", "/hub/api/users/alice", "cookie", nil, &st)
		return st.Server == nil
	})
	var model struct {
		Content struct {
			Cells []struct{ Source string }
		}
	}
	if code := alice.api("GET", "/user/alice/api/contents/lab.ipynb", "cookie", nil, &model); code != http.StatusOK || len(model.Content.Cells) != 1 || model.Content.Cells[0].Source != "print('from lab')" {
		t.Errorf("with the server stopped: %d %+v", code, model)
	}
}

// TestNotebook7DefaultURL runs Notebook 7.6 from the test virtualenv
// under a profile whose default_url is /tree: alice's server opens on
// Notebook's file list, whose page config carries the hub's keys.
func TestNotebook7DefaultURL(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(catalog, []byte("profiles:\n  - name: notebook\n    cpus: 1\n    mem: 1024\n    default_url: /tree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, alice, _ := frontEndHub(t, "jupyter-notebook", "--profiles", catalog)
	code, path, body := alice.page("/user/alice/")
	if code != http.StatusOK || strings.TrimSuffix(path, "?") != "/user/alice/tree" {
		t.Fatalf("/user/alice/ = %d at %s, want 200 at /user/alice/tree", code, path)
	}
	checkHubKeys(t, pageConfig(t, body), "alice")
}
