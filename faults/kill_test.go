package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

const (
	savers   = 8 // users saving notebooks at once
	spawners = 4 // of them, those also starting and stopping their server
	// killAfter is how many acknowledged saves the hub serves before it
	// is killed; killCap bounds the wait if it is slow.
	killAfter = 120
	killCap   = 20 * time.Second
)

// notebook is a save's body: a cell that names the save, and enough
// output that a write takes more than one page.
func notebook(user string, k int) map[string]any {
	return map[string]any{
		"type": "notebook",
		"content": map[string]any{
			"cells": []any{map[string]any{
				"cell_type": "code", "id": "c1", "metadata": map[string]any{}, "execution_count": k,
				"source":  fmt.Sprintf("save %s %d", user, k),
				"outputs": []any{map[string]any{"output_type": "stream", "name": "stdout", "text": strings.Repeat(fmt.Sprintf("%s %d\n", user, k), 2000)}},
			}},
			"metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5,
		},
	}
}

// TestHubKilledDuringSavesAndSpawns kills the hub with SIGKILL while
// users save notebooks and start and stop their servers, restarts it on
// the same data, and checks that nothing acknowledged was lost or
// half-written, no row is corrupt, and every server process there is
// belongs to a server the hub knows, one per user.
func TestHubKilledDuringSavesAndSpawns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the hub")
	}
	for _, engine := range dbtest.Engines {
		t.Run(engine, func(t *testing.T) { hubKilledDuringSavesAndSpawns(t, engine) })
	}
}

func hubKilledDuringSavesAndSpawns(t *testing.T, engine string) {
	dbURL := dbtest.NewURL(t, engine)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dataDir, tmp := t.TempDir(), t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	common := []string{"--data-dir", dataDir, "--db", dbURL}
	run(t, "", env, append([]string{"db", "migrate"}, common...)...)
	run(t, "", env, append([]string{"user", "add", "admin", "--admin"}, common...)...)
	adminTok := strings.TrimSpace(run(t, "", env, append([]string{"token", "create", "admin"}, common...)...))
	serveArgs := append([]string{"--local-cmd", self + " fake-jupyter", "--local-shared-account", "--idle-timeout", "0"}, common...)
	t.Cleanup(func() { killLeftovers(t, tmp) })

	hub := startHub(t, env, serveArgs...)
	c := &http.Client{Timeout: 30 * time.Second}
	users, tokens := usersWithTokens(t, c, hub.URL, adminTok, "u", savers, env, common)

	// The load: each saver writes new notebooks until the hub dies,
	// recording each save the hub acknowledged and the one in flight.
	var (
		mu       sync.Mutex
		acked    = map[string][]int{}
		inFlight = map[string]int{}
		total    atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				inFlight[u] = k
				mu.Unlock()
				code := api(c, hub.URL, "PUT", fmt.Sprintf("/user/%s/api/contents/nb-%d.ipynb", u, k), tokens[u], notebook(u, k), nil)
				if code == 0 {
					return // the hub is gone
				}
				if code == http.StatusCreated || code == http.StatusOK {
					mu.Lock()
					acked[u] = append(acked[u], k)
					mu.Unlock()
					total.Add(1)
				}
			}
		}()
	}
	for _, u := range users[:spawners] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if api(c, hub.URL, "POST", "/hub/api/users/"+u+"/server", tokens[u], nil, nil) == 0 {
					return
				}
				if api(c, hub.URL, "DELETE", "/hub/api/users/"+u+"/server", tokens[u], nil, nil) == 0 {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(killCap)
	for total.Load() < killAfter && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	hub.Kill()
	before := hub.Logs.String()
	close(stop)
	wg.Wait()
	if total.Load() == 0 {
		t.Fatalf("no save was acknowledged before the kill:\n%s", hub.Logs.String())
	}
	t.Logf("killed the hub after %d acknowledged saves", total.Load())

	// Restart on the same data.
	hub = startHub(t, env, serveArgs...)

	// Every acknowledged save is there, whole; the one in flight is
	// either there, whole, or not at all; nothing else appeared.
	for _, u := range users {
		want := map[string]bool{}
		for _, k := range acked[u] {
			want[fmt.Sprintf("nb-%d.ipynb", k)] = true
			checkNotebook(t, c, hub.URL, tokens[u], u, k, true)
		}
		if f := inFlight[u]; !want[fmt.Sprintf("nb-%d.ipynb", f)] {
			if checkNotebook(t, c, hub.URL, tokens[u], u, f, false) {
				want[fmt.Sprintf("nb-%d.ipynb", f)] = true
			}
		}
		var dir struct {
			Content []struct{ Name string }
		}
		if code := api(c, hub.URL, "GET", "/user/"+u+"/api/contents", tokens[u], nil, &dir); code != http.StatusOK {
			t.Fatalf("list %s: %d", u, code)
		}
		for _, e := range dir.Content {
			if !want[e.Name] {
				t.Errorf("%s has %s, which was never acknowledged nor in flight", u, e.Name)
			}
			delete(want, e.Name)
		}
		for name := range want {
			t.Errorf("%s's listing lacks %s", u, name)
		}
	}

	// Servers: once nothing is pending, a user has at most one server
	// process, and one the hub knows as running.
	type userModel struct {
		Name    string
		Servers map[string]struct {
			Ready   bool
			Pending *string
		}
	}
	var models []userModel
	hubtest.WaitFor(t, "no server pending", 60*time.Second, func() bool {
		models = nil
		if api(c, hub.URL, "GET", "/hub/api/users", adminTok, nil, &models) != http.StatusOK {
			return false
		}
		for _, m := range models {
			if s, ok := m.Servers[""]; ok && s.Pending != nil {
				return false
			}
		}
		return true
	})
	live := liveServers(t, tmp)
	for _, m := range models {
		ready := m.Servers[""].Ready
		switch n := len(live[m.Name]); {
		case n > 1:
			t.Errorf("%s has %d server processes %v: a duplicate", m.Name, n, live[m.Name])
		case n == 1 && !ready:
			t.Errorf("%s has a server process (pid %v) the hub does not know as running: an orphan\nwhat the hub logged about it:\n%s", m.Name, live[m.Name], linesAbout(m.Name, before+hub.Logs.String()))
		case n == 0 && ready:
			t.Errorf("the hub says %s's server is running, but no process is", m.Name)
		}
		if ready {
			if code := api(c, hub.URL, "GET", "/user/"+m.Name+"/api", tokens[m.Name], nil, nil); code != http.StatusOK {
				t.Errorf("%s's recovered server: %d through the proxy", m.Name, code)
			}
		}
	}
	// Stopping every server leaves no process behind.
	for _, m := range models {
		if m.Servers[""].Ready {
			api(c, hub.URL, "DELETE", "/hub/api/users/"+m.Name+"/server", adminTok, nil, nil)
		}
	}
	hubtest.WaitFor(t, "every server process to end", 30*time.Second, func() bool { return len(liveServers(t, tmp)) == 0 })
	hub.Stop()

	// No corrupt page or row in the database: SQLite checks itself; the
	// servers' engines survive a client's death by design, and the
	// contents read back above.
	if engine != db.SQLite {
		return
	}
	gdb, err := db.Open(context.Background(), dbURL, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	var check string
	if err := gdb.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

// checkNotebook reads u's nb-k.ipynb; when must is set it has to be
// there. What is there must be the whole save k. It reports whether
// the notebook exists.
func checkNotebook(t *testing.T, c *http.Client, base, token, u string, k int, must bool) bool {
	t.Helper()
	var m struct {
		Content struct {
			Cells []struct {
				Source  string
				Outputs []struct{ Text string }
			}
		}
	}
	code := api(c, base, "GET", fmt.Sprintf("/user/%s/api/contents/nb-%d.ipynb", u, k), token, nil, &m)
	switch {
	case code == http.StatusNotFound && !must:
		return false
	case code != http.StatusOK:
		t.Errorf("%s's nb-%d.ipynb: %d", u, k, code)
		return false
	}
	want := notebook(u, k)["content"].(map[string]any)["cells"].([]any)[0].(map[string]any)
	if len(m.Content.Cells) != 1 || m.Content.Cells[0].Source != want["source"] ||
		len(m.Content.Cells[0].Outputs) != 1 || m.Content.Cells[0].Outputs[0].Text != want["outputs"].([]any)[0].(map[string]any)["text"] {
		t.Errorf("%s's nb-%d.ipynb is not the save that was acknowledged (%d cells)", u, k, len(m.Content.Cells))
	}
	return true
}

// linesAbout are the last log lines that name the user.
func linesAbout(user, logs string) string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "user="+user+" ") || strings.Contains(l, "name="+user+" ") {
			out = append(out, l)
		}
	}
	if len(out) > 8 {
		out = out[len(out)-8:]
	}
	return strings.Join(out, "\n")
}

// killLeftovers ends the fake servers a failed test left running, by
// their pids.
func killLeftovers(t *testing.T, tmp string) {
	for _, pids := range liveServers(t, tmp) {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
