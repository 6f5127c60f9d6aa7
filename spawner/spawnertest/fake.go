// Package spawnertest holds what spawner tests share: Fake, a backend
// whose servers are in-process HTTP servers that behave like Jupyter's
// API, and Run, the conformance suite every backend passes.
package spawnertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
)

var (
	_ spawner.Backend   = (*Fake)(nil)
	_ spawner.Waiter    = (*Fake)(nil)
	_ spawner.LogTailer = (*Fake)(nil)
)

// Kernel is what a fake server lists at /api/kernels.
type Kernel struct {
	ID             string    `json:"id"`
	ExecutionState string    `json:"execution_state"`
	LastActivity   time.Time `json:"last_activity"`
}

// Fake is a backend whose servers are httptest servers. They serve, under
// the base URL and only with "Authorization: token <token>": api (the
// readiness probe), api/kernels and env (their environment as JSON).
// Servers live in the Fake, not in a hub: a second Manager given the
// same Fake finds them, as a restarted hub finds real ones.
type Fake struct {
	mu      sync.Mutex
	name    string
	next    int
	servers map[string]*fakeServer          // by handle id
	starts  map[string]int                  // by user
	last    map[string]spawner.StartRequest // by user: the last start's request
	fail    map[string]error                // user → Start fails with it
	hang    map[string]bool                 // user → servers answer 503
	exit    map[string]bool                 // user → servers exit right after start
	kernels map[string][]Kernel             // user → what api/kernels lists
	// exchange, for a BootstrapFake, trades a server's credential for
	// its environment.
	exchange func(ctx context.Context, user, credential string) (map[string]string, error)
}

type fakeServer struct {
	id, user string
	srv      *httptest.Server
	exited   chan struct{}
	code     int
	logs     []string
}

// Client reaches servers at their targets, Unix sockets included, as
// the hub does.
var Client = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: spawner.Dial}}

// NewFake returns a fake backend called "fake".
func NewFake() *Fake {
	return &Fake{
		name:    "fake",
		servers: map[string]*fakeServer{},
		starts:  map[string]int{},
		last:    map[string]spawner.StartRequest{},
		fail:    map[string]error{},
		hang:    map[string]bool{},
		exit:    map[string]bool{},
		kernels: map[string][]Kernel{},
	}
}

// Name implements spawner.Backend.
func (f *Fake) Name() string { return f.name }

// FailStart makes the user's next starts fail with err (nil: succeed).
func (f *Fake) FailStart(user string, err error) { f.set(func() { f.fail[user] = err }) }

// Hang makes the user's servers answer 503 until told otherwise, so they
// never become ready.
func (f *Fake) Hang(user string, hang bool) { f.set(func() { f.hang[user] = hang }) }

// ExitOnStart makes the user's servers exit right after they start.
func (f *Fake) ExitOnStart(user string, exit bool) { f.set(func() { f.exit[user] = exit }) }

// SetKernels sets what the user's servers list at api/kernels.
func (f *Fake) SetKernels(user string, ks []Kernel) { f.set(func() { f.kernels[user] = ks }) }

func (f *Fake) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Starts is how many times a server was started for the user.
func (f *Fake) Starts(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[user]
}

// LastStart is the request of the user's last start: the profile and
// spec the backend was handed.
func (f *Fake) LastStart(user string) spawner.StartRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[user]
}

// Running is how many of the user's servers run.
func (f *Fake) Running(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.servers {
		if s.user == user && !s.isExited() {
			n++
		}
	}
	return n
}

// Crash makes the user's running servers exit with the code, as if they
// crashed.
func (f *Fake) Crash(user string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.servers {
		if s.user == user && !s.isExited() {
			s.logs = append(s.logs, "Traceback (most recent call last): boom")
			s.exitLocked(code)
		}
	}
}

// CrashHandle is Crash for the server behind one handle.
func (f *Fake) CrashHandle(h spawner.Handle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.servers[h.ID]; s != nil && !s.isExited() {
		s.exitLocked(1)
	}
}

func (s *fakeServer) isExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// exitLocked stops the server; f.mu is held.
func (s *fakeServer) exitLocked(code int) {
	s.code = code
	close(s.exited)
	go s.srv.Close()
}

// Start implements spawner.Backend.
func (f *Fake) Start(ctx context.Context, req spawner.StartRequest) (spawner.Started, error) {
	if err := ctx.Err(); err != nil {
		return spawner.Started{}, err
	}
	req.Report("Fake machine found")
	// A BootstrapFake's server fetches its secrets first, as
	// sparkhub_contents.bootstrap does; one that hangs never does.
	asked := req
	var fetched map[string]string
	var fetchErr error
	f.mu.Lock()
	fetch := f.exchange != nil && !f.hang[req.User] && f.fail[req.User] == nil
	f.mu.Unlock()
	if fetch {
		fetched, fetchErr = f.exchange(ctx, req.User, req.Env[spawner.BootstrapCredentialEnv])
		req.Token = fetched["JUPYTER_TOKEN"]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[req.User]++
	f.last[req.User] = asked
	if err := f.fail[req.User]; err != nil {
		return spawner.Started{}, err
	}
	f.next++
	s := &fakeServer{
		id:     "fake-" + strconv.Itoa(f.next),
		user:   req.User,
		exited: make(chan struct{}),
		logs:   []string{"fake server for " + req.User + " starting"},
	}
	// As Jupyter does, it writes its own URL with its token.
	defer func() {
		s.logs = append(s.logs, "serving at "+s.srv.URL+req.BaseURL+"?token="+req.Token)
	}()
	env := map[string]string{
		"SPARKHUB_USER":     req.User,
		"SPARKHUB_BASE_URL": req.BaseURL,
		"JUPYTER_TOKEN":     req.Token,
	}
	for k, v := range req.Env {
		env[k] = v
	}
	for k, v := range fetched {
		env[k] = v
	}
	s.srv = httptest.NewUnstartedServer(f.handler(req.User, req.BaseURL, req.Token, env))
	s.srv.Start()
	target, _ := url.Parse(s.srv.URL)
	env["SPARKHUB_PORT"] = target.Port()
	f.servers[s.id] = s
	if fetchErr != nil {
		s.logs = append(s.logs, "sparkhub-bootstrap: "+fetchErr.Error())
	}
	if f.exit[req.User] || fetchErr != nil {
		s.exitLocked(1)
	}
	state, _ := json.Marshal(map[string]string{"user": req.User})
	return spawner.Started{Handle: spawner.Handle{Backend: f.name, ID: s.id, State: state}, Target: target}, nil
}

func (f *Fake) handler(user, base, token string, env map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == base+spawner.ProofPath && token != "" {
			serveProof(w, r, token, base)
			return
		}
		if token == "" || r.Header.Get("Authorization") != "token "+token {
			http.Error(w, `{"message": "Forbidden"}`, http.StatusForbidden)
			return
		}
		f.mu.Lock()
		hang, kernels := f.hang[user], f.kernels[user]
		f.mu.Unlock()
		if hang {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, base) {
		case "api":
			fmt.Fprint(w, `{"version": "fake"}`)
		case "api/kernels":
			if kernels == nil {
				kernels = []Kernel{}
			}
			json.NewEncoder(w).Encode(kernels)
		case "env":
			json.NewEncoder(w).Encode(env)
		default:
			http.NotFound(w, r)
		}
	})
}

// BootstrapFake is a Fake whose servers start as a Bootstrapper's do:
// with no token, only a credential, which each trades through the
// exchange function it was made with (the manager's Bootstrap, as the
// hub's endpoint calls it) for its token and environment, before it
// answers anything. It answers the proof at spawner.ProofPath. Its
// servers that Hang never trade theirs.
type BootstrapFake struct{ *Fake }

var _ spawner.Bootstrapper = BootstrapFake{}

// NewBootstrapFake returns a BootstrapFake called "fake".
func NewBootstrapFake(exchange func(ctx context.Context, user, credential string) (map[string]string, error)) BootstrapFake {
	f := NewFake()
	f.exchange = exchange
	return BootstrapFake{f}
}

// BootstrapsSecrets implements spawner.Bootstrapper.
func (BootstrapFake) BootstrapsSecrets() {}

// Recover implements spawner.Backend.
func (f *Fake) Recover(_ context.Context, h spawner.Handle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.servers[h.ID]
	if s == nil || s.isExited() || h.Backend != f.name {
		return spawner.ErrGone
	}
	return nil
}

// Status implements spawner.Backend.
func (f *Fake) Status(_ context.Context, h spawner.Handle) (spawner.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.servers[h.ID]
	if s == nil {
		return spawner.Status{}, spawner.ErrGone
	}
	if s.isExited() {
		return spawner.Status{ExitCode: s.code, Reason: fmt.Sprintf("it exited with status %d", s.code)}, nil
	}
	return spawner.Status{Running: true}, nil
}

// Stop implements spawner.Backend.
func (f *Fake) Stop(_ context.Context, h spawner.Handle, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.servers[h.ID]; s != nil && !s.isExited() {
		s.logs = append(s.logs, "stopping on request")
		s.exitLocked(0)
	}
	return nil
}

// Wait implements spawner.Waiter.
func (f *Fake) Wait(ctx context.Context, h spawner.Handle) <-chan struct{} {
	f.mu.Lock()
	s := f.servers[h.ID]
	f.mu.Unlock()
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if s == nil {
			return
		}
		select {
		case <-s.exited:
		case <-ctx.Done():
		}
	}()
	return ch
}

// LogTail implements spawner.LogTailer.
func (f *Fake) LogTail(_ context.Context, h spawner.Handle, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.servers[h.ID]
	if s == nil {
		return nil, spawner.ErrGone
	}
	lines := s.logs[max(0, len(s.logs)-n):]
	return append([]string(nil), lines...), nil
}

// Close stops every server, for test cleanup.
func (f *Fake) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.servers {
		if !s.isExited() {
			s.exitLocked(0)
		}
	}
}

// TempDirForAccounts is a test's temporary folder that the servers'
// own OS accounts can pass through (t.TempDir and its parent are 0700),
// for a data folder whose users' homes they must reach.
func TempDirForAccounts(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := OpenForAccounts(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// OpenForAccounts lets other accounts pass through a test's temporary
// folder dir and the test's folder above it (t.TempDir makes both 0700).
func OpenForAccounts(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	return nil
}
