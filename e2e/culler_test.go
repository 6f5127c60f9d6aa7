package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// TestJupyterHubIdleCuller runs JupyterHub's own idle culler (pinned in
// .ci/requirements.txt), unchanged, against the built hub with its own
// culling off: alice's idle server is culled; bob's, whose only traffic
// is saving a notebook through the hub's contents service, is kept;
// carol's, whose kernel was busy when her browser went away, is culled
// once the kernel is idle.
func TestJupyterHubIdleCuller(t *testing.T) {
	python := needtest.VenvTool(t, "python")
	dataDir, common := jupyterUsers(t)
	mustRun(t, "the culler's password\n", append([]string{"user", "add", "culler", "--admin", "--password-stdin"}, common...)...)
	mustRun(t, "carol's password\n", append([]string{"user", "add", "carol", "--password-stdin"}, common...)...)
	cullerToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "culler",
		"--scopes", "list:users,read:users:activity,read:servers,delete:servers", "--note", "idle culler"}, common...)...))
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0")
	tokens := map[string]string{}
	c := newClient(t, h.URL)
	for _, name := range []string{"alice", "bob", "carol"} {
		tokens[name] = strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", name}, common...)...))
		if code := c.api("POST", "/hub/api/users/"+name+"/server", tokens[name], map[string]any{}, nil); code != 201 && code != 202 {
			t.Fatalf("start %s = %d", name, code)
		}
	}
	hubtest.WaitFor(t, "both servers ready", 60*time.Second, func() bool {
		return c.api("GET", "/user/alice/api/status", tokens["alice"], nil, nil) == 200 &&
			c.api("GET", "/user/bob/api/status", tokens["bob"], nil, nil) == 200 &&
			c.api("GET", "/user/carol/api/status", tokens["carol"], nil, nil) == 200
	})
	busyThenGone(t, newClient(t, h.URL), "carol", tokens["carol"], 4)

	// bob saves a notebook every half second, as autosave does.
	ctx, cancel := context.WithCancel(context.Background())
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		for i := 0; ctx.Err() == nil; i++ {
			nb := map[string]any{"type": "notebook", "format": "json", "content": map[string]any{
				"cells":    []any{map[string]any{"cell_type": "code", "source": fmt.Sprint(i), "metadata": map[string]any{}, "outputs": []any{}, "execution_count": nil}},
				"metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5}}
			c.api("PUT", "/user/bob/api/contents/autosaved.ipynb", tokens["bob"], nb, nil)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(); <-saved }()

	const timeout, every = 6, 2
	culler := exec.Command(python, "-m", "jupyterhub_idle_culler", "--url="+h.URL+"/hub/api",
		fmt.Sprintf("--timeout=%d", timeout), fmt.Sprintf("--cull-every=%d", every))
	culler.Env = []string{"JUPYTERHUB_API_TOKEN=" + cullerToken}
	out := &hubtest.Buffer{}
	culler.Stdout, culler.Stderr = out, out
	if err := culler.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { culler.Process.Kill(); culler.Wait() }()

	running := func(name string) bool {
		var model struct {
			Servers map[string]any `json:"servers"`
		}
		c.api("GET", "/hub/api/users/"+name, tokens[name], nil, &model)
		return len(model.Servers) > 0
	}
	hubtest.WaitFor(t, "the culler to stop alice's idle server", 90*time.Second, func() bool { return !running("alice") })
	hubtest.WaitFor(t, "the culler to stop carol's server once her kernel is idle", 90*time.Second, func() bool { return !running("carol") })
	// Two more rounds of the culler, bob's server as long idle by
	// proxied traffic as alice's was.
	time.Sleep((2*every + 1) * time.Second)
	if !running("bob") {
		t.Errorf("the culler stopped bob's server, whose notebook was being saved:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "alice") {
		t.Errorf("the culler's log does not name alice:\n%s", out.String())
	}
	if code := c.api("GET", "/user/bob/api/status", tokens["bob"], nil, nil); code != http.StatusOK {
		t.Errorf("bob's server = %d", code)
	}
}
