package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// TestMain doubles as a tiny Jupyter stand-in (spawnertest.FakeJupyter)
// when a backend starts the test binary as a server.
// With attackEnv set it is instead the code of another user's server
// (accounts_test.go).
func TestMain(m *testing.M) {
	if os.Getenv(attackEnv) != "" {
		attackMain()
		return
	}
	spawnertest.FakeJupyterMain(m.Run)
}

// fakeOptions run the test binary as every user's server, as the hub's
// own account: only the hub's account may run it (accounts_test.go runs
// servers as accounts of their own).
func fakeOptions(t *testing.T) Options {
	return Options{
		DataDir:       t.TempDir(),
		Cmd:           []string{os.Args[0]},
		Env:           map[string]string{"SPARKHUB_FAKE_JUPYTER": "1"},
		SharedAccount: true,
	}
}

func newBackend(t *testing.T, opts Options) *Backend {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serverEnv is what the fake server saw: its environment, with its
// arguments in ARGS and its folder in CWD.
func serverEnv(t *testing.T, st spawner.Started, token, user string) map[string]string {
	t.Helper()
	code, body := getWithToken(t, st.Target.String()+"/user/"+user+"/env", token)
	if code != http.StatusOK {
		t.Fatalf("GET env: %d %s", code, body)
	}
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

func pidOf(t *testing.T, h spawner.Handle) int {
	t.Helper()
	st, err := parseState(h)
	if err != nil {
		t.Fatalf("handle state: %v", err)
	}
	return st.PID
}

func harness(opts func(t *testing.T) Options, echoes bool) spawnertest.Harness {
	return spawnertest.Harness{
		New:       func(t *testing.T) spawner.Backend { return newBackend(t, opts(t)) },
		Reopen:    func(t *testing.T, b spawner.Backend) spawner.Backend { return newBackend(t, b.(*Backend).opts) },
		Crash:     func(t *testing.T, _ spawner.Backend, h spawner.Handle) { syscall.Kill(pidOf(t, h), syscall.SIGKILL) },
		EchoesEnv: echoes,
	}
}

func TestConformance(t *testing.T) {
	spawnertest.Run(t, harness(fakeOptions, true))
}

func startFake(t *testing.T, b *Backend, user string, env map[string]string) (spawner.Started, string) {
	t.Helper()
	token := "secret-token-" + user
	st, err := b.Start(context.Background(), spawner.StartRequest{User: user, BaseURL: spawner.UserURL(user), Token: token, Env: env})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { b.Stop(context.Background(), st.Handle, time.Second) })
	return st, token
}

func getWithToken(t *testing.T, u, token string) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "token "+token)
		}
		resp, err := spawnertest.Client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestArgumentsEnvironmentAndFolders(t *testing.T) {
	t.Setenv("SPARKHUB_ADMIN_PASSWORD", "hub-secret")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("PYTHONPATH", "/already/there")
	opts := fakeOptions(t)
	opts.PythonPath = "/opt/sparkhub/python"
	opts.Jupyter = spawner.Jupyter{
		ContentsManagerClass: "sparkhub_contents.HubContentsManager",
		LogoutHandlerClass:   "sparkhub_contents.HubLogoutHandler",
		NotebookExtensions:   []string{"sparkhub_contents.notebook6_hub"},
	}
	b := newBackend(t, opts)
	st, token := startFake(t, b, "alice", map[string]string{"SPARKHUB_CONTENTS_URL": "http://127.0.0.1:8000/user/alice/api/contents"})
	env := serverEnv(t, st, token, "alice")
	for _, want := range []string{
		"--NotebookApp.sock=.sparkhub/jupyter.sock", "--ServerApp.sock=.sparkhub/jupyter.sock", "--no-browser",
		"--NotebookApp.allow_remote_access=True", "--ServerApp.allow_remote_access=True",
		"--NotebookApp.base_url=/user/alice/", "--ServerApp.base_url=/user/alice/",
		"--NotebookApp.contents_manager_class=sparkhub_contents.HubContentsManager",
		"--ServerApp.contents_manager_class=sparkhub_contents.HubContentsManager",
		"--NotebookApp.logout_handler_class=sparkhub_contents.HubLogoutHandler",
		"--ServerApp.logout_handler_class=sparkhub_contents.HubLogoutHandler",
		"--IdentityProvider.logout_handler_class=sparkhub_contents.HubLogoutHandler",
		"--NotebookApp.nbserver_extensions=sparkhub_contents.notebook6_hub=True",
	} {
		if !strings.Contains(" "+env["ARGS"]+" ", " "+want+" ") {
			t.Errorf("arguments %q lack %s", env["ARGS"], want)
		}
	}
	if strings.Contains(env["ARGS"], token) {
		t.Errorf("the token is on the command line")
	}
	tests := []struct{ key, want string }{
		{"JUPYTER_TOKEN", token},
		{"SPARKHUB_USER", "alice"},
		{"SPARKHUB_SOCKET", filepath.Join(opts.DataDir, "users", "alice", ".sparkhub", "jupyter.sock")},
		{"HOME", filepath.Join(opts.DataDir, "users", "alice")},
		{"JUPYTER_RUNTIME_DIR", filepath.Join(opts.DataDir, "users", "alice", ".local", "share", "jupyter", "runtime")},
		{"IPYTHONDIR", filepath.Join(opts.DataDir, "users", "alice", ".ipython")},
		{"SPARKHUB_BASE_URL", "/user/alice/"},
		{"SPARKHUB_CONTENTS_URL", "http://127.0.0.1:8000/user/alice/api/contents"},
		{"PYTHONPATH", "/opt/sparkhub/python:/already/there"},
		{"LANG", "C.UTF-8"},
		{"SPARKHUB_ADMIN_PASSWORD", ""},
		{"CWD", filepath.Join(opts.DataDir, "users", "alice")},
	}
	for _, tt := range tests {
		if got := env[tt.key]; got != tt.want {
			t.Errorf("server's %s = %q, want %q", tt.key, got, tt.want)
		}
	}
	pid := pidOf(t, st.Handle)
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("server's process group = %d, %v; want its own (%d)", pgid, err, pid)
	}
	lines, err := b.LogTail(context.Background(), st.Handle, 10)
	if err != nil {
		t.Fatalf("LogTail: %v", err)
	}
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "fake jupyter listening") || strings.Contains(got, token) {
		t.Errorf("log tail = %q, want the server's output and no token", got)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	opts := fakeOptions(t)
	opts.Env["FAKE_IGNORE_TERM"] = "1"
	b := newBackend(t, opts)
	st, token := startFake(t, b, "stubborn", nil)
	if code, _ := getWithToken(t, st.Target.String()+"/user/stubborn/api", token); code != http.StatusOK {
		t.Fatalf("server answers %d", code)
	}
	if err := b.Stop(context.Background(), st.Handle, 200*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s, err := b.Status(context.Background(), st.Handle)
	if err != nil || s.Running || !strings.Contains(s.Reason, "killed (signal 9)") {
		t.Errorf("Status = %+v, %v; want killed (signal 9)", s, err)
	}
}

func TestRecoverRefusesAnotherProcess(t *testing.T) {
	b := newBackend(t, fakeOptions(t))
	self := os.Getpid()
	ticks, err := startTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		st   state
	}{
		{"pid reused", state{PID: self, StartTicks: ticks + 1, BootID: bootID()}},
		{"other boot", state{PID: self, StartTicks: ticks, BootID: "another-boot"}},
		{"no such pid", state{PID: 1 << 30, StartTicks: 1, BootID: bootID()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.st)
			h := spawner.Handle{Backend: Name, ID: "x", State: raw}
			if err := b.Recover(context.Background(), h); !errors.Is(err, spawner.ErrGone) {
				t.Errorf("Recover = %v, want ErrGone", err)
			}
			if err := b.Stop(context.Background(), h, 0); err != nil {
				t.Errorf("Stop = %v, want nil (and nothing signalled)", err)
			}
		})
	}
	// This test process is alive and its own: same start, same boot, but
	// not a group leader, so not one of ours either.
	raw, _ := json.Marshal(state{PID: self, StartTicks: ticks, BootID: bootID()})
	if pgid, _ := syscall.Getpgid(self); pgid != self {
		if err := b.Recover(context.Background(), spawner.Handle{Backend: Name, ID: "y", State: raw}); !errors.Is(err, spawner.ErrGone) {
			t.Errorf("Recover of a process outside its own group = %v, want ErrGone", err)
		}
	}
}

func TestCommandFromPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("PATH", dir)
	b := newBackend(t, Options{DataDir: t.TempDir(), SharedAccount: true})
	if _, err := b.Command(); err == nil || !strings.Contains(err.Error(), "apt-get install jupyter-notebook") {
		t.Errorf("Command with no Jupyter = %v, want a hint to install it", err)
	}
	steps := []struct{ add, want string }{
		{"jupyter-server", "jupyter-server"},
		{"jupyter-notebook", "jupyter-notebook"},
		{"jupyter-lab", "jupyter-lab"},
	}
	for _, s := range steps {
		write(s.add)
		got, err := b.Command()
		if err != nil || filepath.Base(got[0]) != s.want {
			t.Errorf("with %s on PATH: Command = %v, %v; want %s", s.add, got, err, s.want)
		}
	}
	b = newBackend(t, Options{DataDir: t.TempDir(), SharedAccount: true, Cmd: []string{"/opt/my-jupyter", "--debug"}})
	if got, _ := b.Command(); strings.Join(got, " ") != "/opt/my-jupyter --debug" {
		t.Errorf("Command with Cmd = %v", got)
	}
}

func TestStartRefusesPathLikeNames(t *testing.T) {
	b := newBackend(t, fakeOptions(t))
	for _, u := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := b.Start(context.Background(), spawner.StartRequest{User: u, Token: "t"}); err == nil {
			t.Errorf("Start(%q) succeeded", u)
		}
	}
}

func TestLogCapAndTail(t *testing.T) {
	b := newBackend(t, Options{DataDir: t.TempDir(), SharedAccount: true, MaxLogSize: 100})
	path := filepath.Join(t.TempDir(), "u.log")
	var text strings.Builder
	for i := range 30 {
		fmt.Fprintf(&text, "line %02d\n", i)
	}
	os.WriteFile(path, []byte(text.String()), 0o600)
	lines, err := tail(path, 3)
	if err != nil || strings.Join(lines, ",") != "line 27,line 28,line 29" {
		t.Errorf("tail = %q, %v", lines, err)
	}
	b.capLog(path)
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Errorf("log after cap = %d bytes, want 0", fi.Size())
	}
	old, _ := os.ReadFile(path + ".1")
	if len(old) != 100 || !strings.HasSuffix(string(old), "line 29\n") {
		t.Errorf("kept log = %d bytes %q, want the newest 100", len(old), old)
	}
	b.capLog(path) // under the cap: untouched
	if old2, _ := os.ReadFile(path + ".1"); string(old2) != string(old) {
		t.Errorf("capLog under the cap changed the kept log")
	}
}

func TestProfileEnvironmentAndNote(t *testing.T) {
	b := newBackend(t, fakeOptions(t))
	var notes []string
	token := "secret-token-alice"
	spec := spawner.Spec{CPUs: 2, Env: map[string]string{"TZ": "Europe/Paris", "SPARKHUB_USER": "mallory"}}
	st, err := b.Start(context.Background(), spawner.StartRequest{User: "alice", Profile: "small", Spec: spec, BaseURL: spawner.UserURL("alice"), Token: token,
		Progress: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(context.Background(), st.Handle, time.Second) })
	env := serverEnv(t, st, token, "alice")
	if env["TZ"] != "Europe/Paris" || env["SPARKHUB_USER"] != "alice" {
		t.Errorf("TZ = %q, SPARKHUB_USER = %q; want the profile's TZ and the hub's own user", env["TZ"], env["SPARKHUB_USER"])
	}
	if len(notes) == 0 || !strings.Contains(notes[0], "2 CPUs are not applied") {
		t.Errorf("progress = %q, want the note first", notes)
	}
}

// TestNotApplied: what of a profile a local process does not get, said
// in one sentence; nothing when the profile asks for nothing more than
// an environment.
func TestNotApplied(t *testing.T) {
	tests := []struct {
		spec spawner.Spec
		want string
	}{
		{spawner.Spec{}, ""},
		{spawner.Spec{Env: map[string]string{"TZ": "UTC"}, Disk: 10240, Role: "notebooks"}, ""},
		{spawner.Spec{Image: "sparkhub/pyspark-notebook:3.5", CPUs: 2, Mem: 8192, Env: map[string]string{"TZ": "UTC"}},
			"This hub runs servers as processes on its own machine, so the profile's 2 CPUs, 8192 MiB of memory, the image sparkhub/pyspark-notebook:3.5 are not applied; its environment is."},
		{spawner.Spec{CPUs: 0.5, GPUs: 1, Spark: map[string]string{"spark.executor.memory": "4g"}},
			"This hub runs servers as processes on its own machine, so the profile's 0.5 CPUs, 1 GPUs, its Spark settings are not applied; its environment is."},
	}
	for _, tt := range tests {
		if got := notApplied(tt.spec); got != tt.want {
			t.Errorf("notApplied(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestSweepEndsServersWithoutHandle(t *testing.T) {
	b := newBackend(t, fakeOptions(t))
	st, token := startFake(t, b, "alice", nil)
	other, _ := startFake(t, b, "bob", nil)
	pid, bobPid := pidOf(t, st.Handle), pidOf(t, other.Handle)
	getWithToken(t, st.Target.String()+"/user/alice/api", token)
	if err := b.Sweep(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("alice's server outlived Sweep")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if syscall.Kill(bobPid, 0) != nil {
		t.Error("Sweep of alice ended bob's server")
	}
	if err := b.Sweep(context.Background(), "../x"); err == nil {
		t.Error("Sweep took a path for a name")
	}
}

// A server runs in its own folder, so every path the hub gives it must be
// absolute even when the hub was given relative ones (make run's
// --data-dir ./data).
func TestRelativePathsBecomeAbsolute(t *testing.T) {
	top := t.TempDir()
	t.Chdir(top)
	if err := os.MkdirAll(filepath.Join("tools", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("tools", "bin", "jupyter"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := fakeOptions(t)
	opts.DataDir = "data"
	opts.PythonPath = filepath.Join("data", "python")
	opts.Cmd = []string{"./tools/bin/jupyter"}
	b := newBackend(t, opts)
	st, token := startFake(t, b, "alice", nil)
	env := serverEnv(t, st, token, "alice")
	if got, want := strings.Split(env["PYTHONPATH"], ":")[0], filepath.Join(top, "data", "python"); got != want {
		t.Errorf("PYTHONPATH starts with %q, want %q", got, want)
	}
	if got, want := env["CWD"], filepath.Join(top, "data", "users", "alice"); got != want {
		t.Errorf("server runs in %q, want %q", got, want)
	}
}

// A --local-cmd that cannot run is a failure its user can read, and says
// nothing of where the hub looked.
func TestCommandThatCannotRun(t *testing.T) {
	opts := fakeOptions(t)
	opts.Cmd = []string{filepath.Join(t.TempDir(), "no-such-jupyter")}
	b := newBackend(t, opts)
	_, err := b.Start(context.Background(), spawner.StartRequest{User: "alice", BaseURL: "/user/alice/", Token: "t", Progress: func(string) {}})
	var f *spawner.Failure
	if !errors.As(err, &f) || f.Message != "The hub's command for Jupyter servers is wrong (it does not exist); tell an admin." {
		t.Fatalf("Start = %v, want a Failure saying the command does not exist", err)
	}
	if strings.Contains(f.Message, opts.Cmd[0]) {
		t.Errorf("the user's message names the hub's path: %q", f.Message)
	}
}

// TestArgsPerFrontEnd: each Jupyter is given the options it reads:
// notebook 6 NotebookApp.*, jupyter_server's commands (JupyterLab,
// Notebook 7, jupyter-server) ServerApp.* and IdentityProvider.*, a
// command the hub does not know both; a profile's default_url goes to
// each in its spelling.
func TestArgsPerFrontEnd(t *testing.T) {
	dir := t.TempDir()
	script := func(name, version string) []string {
		p := filepath.Join(dir, version, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+version+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return []string{p}
	}
	b := newBackend(t, Options{DataDir: t.TempDir(), SharedAccount: true, Jupyter: spawner.Jupyter{LogoutHandlerClass: "x.H"}})
	all := append(b.Args("/user/alice/"), spawner.DefaultURLArgs("/tree")...)
	tests := []struct {
		name string
		cmd  []string
		want app
	}{
		{"jupyter-lab", script("jupyter-lab", "4.6.6"), serverApp},
		{"jupyter-server", script("jupyter-server", "2.21.1"), serverApp},
		{"notebook 7", script("jupyter-notebook", "7.6.5"), serverApp},
		{"notebook 6", script("jupyter-notebook", "6.4.12"), notebookApp},
		{"a notebook that says nothing", script("jupyter-notebook", "nonsense"), bothApps},
		{"--local-cmd", []string{"/opt/my-jupyter", "--debug"}, bothApps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.appOf(tt.cmd); got != tt.want {
				t.Fatalf("appOf = %d, want %d", got, tt.want)
			}
			got := strings.Join(only(tt.want, all), " ")
			for _, opt := range []string{"base_url=/user/alice/", "default_url=/tree", "logout_handler_class=x.H"} {
				hasNB, hasSrv := strings.Contains(got, "--NotebookApp."+opt), strings.Contains(got, "--ServerApp."+opt)
				if hasNB != (tt.want != serverApp) || hasSrv != (tt.want != notebookApp) {
					t.Errorf("%s: NotebookApp %v, ServerApp %v in %s", opt, hasNB, hasSrv, got)
				}
			}
			if strings.Contains(got, "--IdentityProvider.") != (tt.want != notebookApp) {
				t.Errorf("IdentityProvider options in %s", got)
			}
		})
	}
}
