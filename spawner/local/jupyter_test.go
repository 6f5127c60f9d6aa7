package local

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// jupyterNotebook is Debian's Jupyter (packages jupyter-notebook and
// python3-ipykernel). The full path, because the PATH's python3 may be
// another one without Jupyter.
const jupyterNotebook = "/usr/bin/jupyter-notebook"

// requireJupyter skips the test when Debian's Jupyter is missing, or
// fails it when CI=true.
func requireJupyter(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(jupyterNotebook); err != nil {
		missing = append(missing, jupyterNotebook+" (Debian package jupyter-notebook)")
	}
	if _, err := os.Stat("/usr/lib/python3/dist-packages/ipykernel"); err != nil {
		missing = append(missing, "ipykernel (Debian package python3-ipykernel)")
	}
	if len(missing) == 0 {
		return
	}
	needtest.Missing(t, "needs "+strings.Join(missing, ", ")+"; apt-get install -y jupyter-notebook python3-ipykernel")
}

// jupyterOptions run Debian's Jupyter as every user's server: as root,
// as accounts of their own; otherwise as the hub's account, declared
// shared (the suite starts servers for several users).
func jupyterOptions(t *testing.T) Options {
	return Options{DataDir: spawnertest.TempDirForAccounts(t), Cmd: []string{jupyterNotebook}, SharedAccount: os.Geteuid() != 0, AccountPrefix: testAccountPrefix}
}

func TestJupyterConforms(t *testing.T) {
	requireJupyter(t)
	spawnertest.Run(t, harness(jupyterOptions, false))
}

// TestJupyterEndToEnd starts Debian's Jupyter through the manager, talks
// to it with its token, restarts the hub in the middle (the server keeps
// running and is recovered, not started again) and stops it.
func TestJupyterEndToEnd(t *testing.T) {
	requireJupyter(t)
	ctx := context.Background()
	gdb := dbtest.Open(t, db.SQLite)
	users := auth.NewStore(gdb)
	u, err := users.CreateUser(ctx, "alice", false, "")
	if err != nil {
		t.Fatal(err)
	}
	alice := spawner.User{ID: u.ID, Name: u.Name}
	opts := jupyterOptions(t)
	newManager := func() *spawner.Manager {
		m, err := spawner.New(ctx, gdb, spawner.Options{StopGrace: 5 * time.Second, Users: users}, newBackend(t, opts))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}

	m1 := newManager()
	startCtx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	ready, err := m1.Start(startCtx, alice, "")
	if err != nil || !ready {
		md, _ := m1.Server(ctx, alice)
		t.Fatalf("Start = %v, %v; log: %s", ready, err, strings.Join(md.LogTail, "\n"))
	}
	t.Cleanup(func() {
		// Whatever happened, leave no Jupyter behind.
		m, err := spawner.New(ctx, gdb, spawner.Options{Users: users}, newBackend(t, opts))
		if err == nil {
			m.RecoverAll(ctx)
			m.Stop(ctx, "alice")
			m.Close()
		}
	})
	target, token, _, ok := m1.Route("alice")
	if !ok {
		t.Fatal("no route to a ready server")
	}
	api := target.String() + "/user/alice/api"
	tests := []struct {
		path, token string
		want        int
	}{
		{"", token, http.StatusOK},
		{"/kernels", token, http.StatusOK},
		{"/kernels", "", http.StatusForbidden},
		{"/kernels", "wrong", http.StatusForbidden},
	}
	check := func(label string) {
		t.Helper()
		for _, tt := range tests {
			if code, body := getWithToken(t, api+tt.path, tt.token); code != tt.want {
				t.Errorf("%s: GET /user/alice/api%s with token %v = %d %s, want %d", label, tt.path, tt.token != "", code, body, tt.want)
			}
		}
	}
	check("first hub")
	_, body := getWithToken(t, api, token)
	var version struct{ Version string }
	if err := json.Unmarshal(body, &version); err != nil || version.Version == "" {
		t.Errorf("GET /user/alice/api = %s, want Jupyter's version", body)
	}

	var raw []byte
	gdb.Raw("SELECT handle_state FROM hub_servers").Row().Scan(&raw)
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("stored handle: %v", err)
	}

	// The hub restarts: the server keeps running and is taken over.
	if err := m1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !sameProcess(st) {
		t.Fatal("closing the manager stopped Jupyter")
	}
	m2 := newManager()
	if err := m2.RecoverAll(ctx); err != nil {
		t.Fatalf("RecoverAll: %v", err)
	}
	target2, token2, state2, ok := m2.Route("alice")
	if !ok || target2.String() != target.String() || token2 != token {
		t.Fatalf("route after restart = %v, %s, %v; want the same server", target2, state2, ok)
	}
	check("second hub")
	var pid int
	gdb.Raw("SELECT handle_state FROM hub_servers").Row().Scan(&raw)
	var st2 state
	json.Unmarshal(raw, &st2)
	pid = st2.PID
	if pid != st.PID {
		t.Errorf("pid after recovery = %d, want %d (no new start)", pid, st.PID)
	}

	stopped, err := m2.Stop(ctx, "alice")
	if err != nil || !stopped {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	if sameProcess(st) {
		t.Errorf("Jupyter still runs after Stop")
	}
	if err := syscall.Kill(-st.PID, 0); err == nil {
		t.Errorf("Jupyter's process group still has members after Stop")
	}
	md, err := m2.Server(ctx, alice)
	if err != nil || md.State != spawner.Stopped {
		t.Errorf("model after stop = %+v, %v", md, err)
	}
	logText, _ := os.ReadFile(filepath.Join(opts.DataDir, "logs", "alice.log"))
	if !strings.Contains(string(logText), "NotebookApp") || strings.Contains(string(logText), token) {
		t.Errorf("server log lacks Jupyter's output or shows the token:\n%s", logText)
	}
}
