// Package faults holds tests that break sparkhub on purpose, from the
// outside: the real binary, killed and restarted, on 127.0.0.1 only, each
// bounded in time. A Jupyter server is this test binary run as a fake
// (see fakeJupyter), so the tests need no Jupyter.
package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

var binary string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "fake-jupyter" {
		fakeJupyter(os.Args[2:])
		return
	}
	hubtest.Main(m, &binary)
}

// run runs a sparkhub command to completion and returns its stdout.
func run(t *testing.T, stdin string, env []string, args ...string) string {
	t.Helper()
	return hubtest.MustRun(t, binary, stdin, env, args...)
}

// hubProc is a running `sparkhub serve`.
type hubProc = hubtest.Hub

// startHub starts serve on 127.0.0.1 with the given arguments and waits
// until it says where it listens; when the test fails, what the hub
// logged is printed (hubtest.Start).
func startHub(t *testing.T, env []string, args ...string) *hubProc {
	t.Helper()
	return hubtest.Start(t, binary, env, args...)
}

// api does one JSON request with a token and decodes the answer into
// out (when given and the answer is JSON). It returns the status, or 0
// when the request failed on the way.
// usersWithTokens creates n users named prefix0, prefix1, … through the
// API, and a token for each with the operator's command line (common
// names the hub's database): an admin may not mint tokens that reach
// other users' notebooks unless the hub runs with --admin-access.
func usersWithTokens(t *testing.T, c *http.Client, base, adminTok, prefix string, n int, env, common []string) ([]string, map[string]string) {
	t.Helper()
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	if code := api(c, base, "POST", "/hub/api/users", adminTok, map[string]any{"usernames": users}, nil); code != http.StatusCreated {
		t.Fatalf("create users: %d", code)
	}
	tokens := map[string]string{}
	for _, name := range users {
		tokens[name] = strings.TrimSpace(run(t, "", env, append([]string{"token", "create", name, "--note", "faults"}, common...)...))
	}
	return users, tokens
}

func api(c *http.Client, base, method, path, token string, body any, out any) int {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "token "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

// fakeJupyter is what `--local-cmd "<this binary> fake-jupyter"` runs: a
// server on the socket of --ServerApp.sock under the base URL that answers with the token in
// JUPYTER_TOKEN (echoes websockets under ws-echo, and misbehaves on purpose under
// hang, slow, ws-drop and ws-silent), and leaves a marker file named after its user and
// pid in $TMPDIR/fake-jupyter, so a test can find every server process
// there is, whoever started it.
func fakeJupyter(args []string) {
	sock, base := "", "/"
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--ServerApp.sock="):
			sock = strings.TrimPrefix(a, "--ServerApp.sock=")
		case strings.HasPrefix(a, "--ServerApp.base_url="):
			base = strings.TrimPrefix(a, "--ServerApp.base_url=")
		}
	}
	dir := filepath.Join(os.TempDir(), "fake-jupyter")
	os.MkdirAll(dir, 0o700)
	marker := filepath.Join(dir, fmt.Sprintf("%s.%d", os.Getenv("SPARKHUB_USER"), os.Getpid()))
	os.WriteFile(marker, nil, 0o600)
	token := os.Getenv("JUPYTER_TOKEN")
	mux := http.NewServeMux()
	mux.HandleFunc(base, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token "+token {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, base) {
		case "hang":
			// A server that accepted the request and never answers.
			<-r.Context().Done()
			return
		case "slow":
			// One that answers, a byte a while.
			w.WriteHeader(http.StatusOK)
			for i := 0; i < 5 && r.Context().Err() == nil; i++ {
				io.WriteString(w, "x")
				http.NewResponseController(w).Flush()
				time.Sleep(200 * time.Millisecond)
			}
			return
		case "ws-drop":
			// A websocket the server drops without a close frame.
			c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			c.NetConn().Close()
			return
		case "ws-echo":
			// A websocket that sends back what it gets.
			c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				typ, data, err := c.ReadMessage()
				if err != nil || c.WriteMessage(typ, data) != nil {
					return
				}
			}
		case "ws-silent":
			// A websocket the server keeps open and never speaks on.
			c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"version": "fake"}`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		srv.Close()
	}()
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err == nil {
		err = srv.Serve(l)
	}
	if err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "fake-jupyter:", err)
		os.Exit(1)
	}
}

// liveServers lists the fake Jupyter processes alive now, by user.
func liveServers(t *testing.T, tmp string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	entries, _ := os.ReadDir(filepath.Join(tmp, "fake-jupyter"))
	for _, e := range entries {
		var pid int
		i := strings.LastIndexByte(e.Name(), '.')
		if i < 0 {
			continue
		}
		if _, err := fmt.Sscan(e.Name()[i+1:], &pid); err != nil || !alive(pid) {
			continue
		}
		out[e.Name()[:i]] = append(out[e.Name()[:i]], pid)
	}
	return out
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
