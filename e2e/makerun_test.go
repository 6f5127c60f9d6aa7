package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// makeRunEnv is this process's environment without what would change
// what `make run` does on a fresh clone: sparkhub's own variables (the
// admin's password, the data folder), the Makefile's, and those of a
// make this test may run under.
func makeRunEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SPARKHUB_"):
		case k == "LISTEN", k == "DATA_DIR", k == "BIN", k == "GO",
			k == "MAKEFLAGS", k == "MFLAGS", k == "GNUMAKEFLAGS", k == "MAKELEVEL", k == "MAKEOVERRIDES":
		default:
			env = append(env, kv)
		}
	}
	return env
}

var (
	makeRunLoginURL = regexp.MustCompile(`sparkhub: open (\S+) and log in as admin`)
	makeRunPassword = regexp.MustCompile(`Created the user admin with the password (\S+)`)
)

// TestMakeRun does what the README says, as written: on a fresh clone of
// this repository's committed HEAD, `make run` with its default data
// folder (./data, relative), the URL and the admin password it prints,
// the admin's login making a user, and that user's server started with a
// kernel running 1+1 over the relayed websocket. Every other test gives
// the hub an absolute data folder; a relative one once broke every
// server's start (servers run in data/users/{name}, where data/python
// named nothing).
func TestMakeRun(t *testing.T) {
	needJupyter(t)
	needtest.Tool(t, "git", "the test clones the repository")
	needtest.Tool(t, "make", "the test runs make run")

	top, err := exec.Command("git", "rev-parse", "--show-toplevel").CombinedOutput()
	if err != nil {
		needtest.Missing(t, fmt.Sprintf("the tests do not run in a git repository to clone: git rev-parse --show-toplevel: %v: %s", err, strings.TrimSpace(string(top))))
	}
	// A folder other accounts may pass through, as a checkout under
	// /home or /srv is: run as root, the hub gives each user's server an
	// account of its own, whose home is in the clone's ./data.
	tmp, err := filepath.EvalSymlinks(spawnertest.TempDirForAccounts(t))
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(tmp, "sparkhub")
	if out, err := exec.Command("git", "clone", "-q", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	// Users' servers outlive the hub by design; this runs after make
	// run is stopped (cleanups run last first).
	dataDir := filepath.Join(clone, "data")
	t.Cleanup(func() { hubtest.KillServersUnder(dataDir) })

	// make run builds first; building before it too (make run's build is
	// then quick) picks the port just before the hub binds it, as other
	// tests take free ports meanwhile. On a cold build cache this build
	// is most of the test's time.
	start := time.Now()
	build := exec.Command("make", "build")
	build.Dir = clone
	build.Env = makeRunEnv()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	t.Logf("make build took %v", time.Since(start).Round(time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()

	out := &hubtest.Buffer{}
	cmd := exec.Command("make", "run", "LISTEN="+listen)
	cmd.Dir = clone
	cmd.Env = makeRunEnv()
	cmd.Stdout, cmd.Stderr = out, out
	// make and the hub in a group of their own, to stop both at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 10 * time.Second
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("make run did not stop within 30s of SIGTERM\n%s", out.String())
		}
	}
	t.Cleanup(stop)

	var loginURL, password string
	hubtest.WaitFor(t, "make run to print the admin's password and serve", 2*time.Minute, func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("make run exited: %v\n%s", err, out.String())
		default:
		}
		text := out.String()
		u, p := makeRunLoginURL.FindStringSubmatch(text), makeRunPassword.FindStringSubmatch(text)
		if u == nil || p == nil || !strings.Contains(text, "sparkhub serving") {
			return false
		}
		loginURL, password = u[1], p[1]
		return true
	})
	t.Logf("make run served after %v", time.Since(start).Round(time.Millisecond))
	if want := "http://" + listen + "/hub/login"; loginURL != want {
		t.Errorf("make run printed %s, want %s", loginURL, want)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "sparkhub.db")); err != nil {
		t.Errorf("the database is not in the clone's ./data: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the database's mode is %04o, want 0600: it holds the key that signs sessions", fi.Mode().Perm())
	}

	// The printed URL answers with the login page.
	resp, err := http.Get(loginURL)
	if err != nil {
		t.Fatalf("GET %s: %v", loginURL, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !xsrfField.Match(page) {
		t.Fatalf("GET %s = %d, want 200 and the login form", loginURL, resp.StatusCode)
	}
	base := strings.TrimSuffix(loginURL, "/hub/login")

	// The admin logs in with the printed password and makes a user with
	// a password, over the API with the session cookie.
	admin := newClient(t, base)
	if resp := admin.login("admin", password); resp.StatusCode != http.StatusFound {
		t.Fatalf("admin login = %d", resp.StatusCode)
	}
	const name, userPassword = "analyst", "an analyst's password"
	if code := admin.api("POST", "/hub/api/users/"+name, "cookie", map[string]any{}, nil); code != http.StatusCreated {
		t.Fatalf("create %s = %d", name, code)
	}
	if code := admin.api("PATCH", "/hub/api/users/"+name, "cookie", map[string]any{"password": userPassword}, nil); code != http.StatusOK {
		t.Fatalf("set %s's password = %d", name, code)
	}

	// The user logs in and starts a server; the progress stream ends
	// when it is ready (or failed).
	user := newClient(t, base)
	user.http.Timeout = 2 * time.Minute
	if resp := user.login(name, userPassword); resp.StatusCode != http.StatusFound {
		t.Fatalf("%s's login = %d", name, resp.StatusCode)
	}
	serverLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dataDir, "logs", name+".log"))
		return string(b)
	}
	var started map[string]any
	if code := user.api("POST", "/hub/api/users/"+name+"/server", "cookie", map[string]any{}, &started); code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("start = %d %v\nthe server's log:\n%s\nmake run's output:\n%s", code, started, serverLog(), out.String())
	}
	events := user.progress(name)
	if last := events[len(events)-1]; last["ready"] != true || last["url"] != "/user/"+name+"/" {
		t.Fatalf("the server did not start; progress events = %v\nthe server's log:\n%s", events, serverLog())
	}

	// A kernel, and 1+1 over the relayed websocket.
	if code := user.api("GET", "/user/"+name+"/api/contents", "cookie", nil, nil); code != http.StatusOK {
		t.Fatalf("list contents = %d", code)
	}
	onePlusOne(t, user, name)

	// Stop the server, then make run.
	if code := user.api("DELETE", "/hub/api/users/"+name+"/server", "cookie", nil, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop = %d", code)
	}
	hubtest.WaitFor(t, "the server to stop", 30*time.Second, func() bool {
		return user.api("GET", "/user/"+name+"/api/status", "cookie", nil, nil) == http.StatusServiceUnavailable
	})
	stop()
	if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		c.Close()
		t.Errorf("something still serves on %s after make run was stopped", listen)
	}
}
