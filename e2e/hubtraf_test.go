package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/internal/hubtraf"
)

// TestHubtraf plays hubtraf's simulated analysts (internal/hubtraf makes
// hubtraf's requests, which is not on PyPI) against the built hub with
// the real Jupyter: each logs in through the form, opens /hub/spawn
// until it lands in Jupyter, starts a kernel with Jupyter's _xsrf, runs
// 5 * 4 over the relayed websocket for a few seconds, then stops the
// kernel and, with the session cookie and Jupyter's _xsrf, the server.
// Every session completes, and no server is left running.
func TestHubtraf(t *testing.T) {
	dataDir, common := jupyterUsers(t)
	const n = 4
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("hubtraf-%d", i)
		mustRun(t, "password of "+names[i]+"\n", append([]string{"user", "add", names[i], "--password-stdin"}, common...)...)
	}
	mustRun(t, "the watcher's password\n", append([]string{"user", "add", "watcher", "--admin", "--password-stdin"}, common...)...)
	watcher := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "watcher", "--scopes", "read:users,read:servers"}, common...)...))
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results := make([]hubtraf.Result, n)
	var mu sync.Mutex
	steps := map[string]int{}
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			results[i] = hubtraf.Run(ctx, hubtraf.Options{
				Hub: h.URL, User: name, Password: "password of " + name,
				Execute: 3 * time.Second, SpawnRefresh: 2 * time.Second, SpawnTimeout: 3 * time.Minute,
				Step: func(step string, _ time.Duration) { mu.Lock(); steps[step]++; mu.Unlock() },
			})
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.Outcome != hubtraf.Completed || !r.Stopped {
			t.Errorf("%s: %s (%v); stopped: %v (%v)", names[i], r.Outcome, r.Err, r.Stopped, r.StopErr)
		}
	}
	for _, step := range []string{"login", "server-start", "kernel-start", "kernel-stop", "server-stop"} {
		if steps[step] != n {
			t.Errorf("%d analysts did %s, want %d", steps[step], step, n)
		}
	}
	if steps["code-execute"] < n {
		t.Errorf("code ran %d times for %d analysts", steps["code-execute"], n)
	}
	c := newClient(t, h.URL)
	for _, name := range names {
		var model struct {
			Servers map[string]any `json:"servers"`
		}
		if code := c.api("GET", "/hub/api/users/"+name, watcher, nil, &model); code != 200 || len(model.Servers) != 0 {
			t.Errorf("after the session, %s = %d with servers %v", name, code, model.Servers)
		}
	}
}
