package spawner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t     *testing.T
	gdb   *gorm.DB
	users *auth.Store
	fake  *spawnertest.Fake
	logs  *syncBuffer

	mu  sync.Mutex
	ids map[string]int64 // user name → id; made up for names of no user
}

func newEnv(t *testing.T, gdb *gorm.DB, users ...string) *env {
	t.Helper()
	e := &env{t: t, gdb: gdb, users: auth.NewStore(gdb), logs: &syncBuffer{}, ids: map[string]int64{}}
	for _, name := range users {
		u, err := e.users.CreateUser(context.Background(), name, false, "")
		if err != nil {
			t.Fatalf("add user %s: %v", name, err)
		}
		e.ids[name] = u.ID
	}
	e.fake = spawnertest.NewFake()
	t.Cleanup(e.fake.Close)
	return e
}

// user is the user called name, as the hub hands them to the manager.
// A name of no user gets an id of no user.
func (e *env) user(name string) spawner.User {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.ids[name]
	if !ok {
		id = 1<<40 + int64(len(e.ids))
		e.ids[name] = id
	}
	return spawner.User{ID: id, Name: name}
}

// manager is a Manager under test with the hub's part played by the
// env: the tests name users, and the env hands the manager the users,
// as the hub does once it has loaded them.
type manager struct {
	*spawner.Manager
	e *env
}

func (m manager) Start(ctx context.Context, user, profile string) (bool, error) {
	return m.Manager.Start(ctx, m.e.user(user), profile)
}

func (m manager) Progress(ctx context.Context, user string) (<-chan spawner.Event, error) {
	return m.Manager.Progress(ctx, m.e.user(user))
}

func (m manager) Server(ctx context.Context, user string) (spawner.Model, error) {
	return m.Manager.Server(ctx, m.e.user(user))
}

func (m manager) Servers(ctx context.Context, users []string) (map[string]spawner.Model, error) {
	us := make([]spawner.User, len(users))
	for i, u := range users {
		us[i] = m.e.user(u)
	}
	return m.Manager.Servers(ctx, us)
}

// manager builds a Manager over the env's database and fake; closed when
// the test ends.
func (e *env) manager(opts spawner.Options) manager {
	e.t.Helper()
	return e.managerOf(opts, e.fake)
}

// managerOf is manager over another backend.
func (e *env) managerOf(opts spawner.Options, b spawner.Backend) manager {
	e.t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Users = e.users
	m, err := spawner.New(context.Background(), e.gdb, opts, b)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() { m.Close() })
	return manager{m, e}
}

func startReady(t *testing.T, m manager, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ready, err := m.Start(ctx, user, "")
	if err != nil || !ready {
		t.Fatalf("Start(%s) = %v, %v; want ready", user, ready, err)
	}
}

// startPending starts without waiting for readiness.
func startPending(t *testing.T, m manager, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if ready, err := m.Start(ctx, user, ""); err != nil || ready {
		t.Fatalf("Start(%s) = %v, %v; want pending", user, ready, err)
	}
}

// eventually polls cond until it holds; the bound only keeps a broken
// test from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func state(m manager, user string) spawner.State {
	_, _, st, _ := m.Route(user)
	return st
}

func model(t *testing.T, m manager, user string) spawner.Model {
	t.Helper()
	md, err := m.Server(context.Background(), user)
	if err != nil {
		t.Fatalf("Server(%s): %v", user, err)
	}
	return md
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func collect(t *testing.T, ch <-chan spawner.Event) []spawner.Event {
	t.Helper()
	var evs []spawner.Event
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, e)
		case <-timeout:
			t.Fatalf("progress never ended; got %+v", evs)
		}
	}
}

func TestStartStop(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.manager(spawner.Options{})
		ctx := context.Background()

		if _, err := m.Start(ctx, "nobody", ""); !errors.Is(err, spawner.ErrNoUser) {
			t.Errorf("Start(nobody) = %v, want ErrNoUser", err)
		}
		if st := model(t, m, "alice"); st.State != spawner.Stopped || st.Ready || st.Started != nil {
			t.Errorf("model before start = %+v, want stopped, never started", st)
		}

		startReady(t, m, "alice")
		target, token, st, ok := m.Route("alice")
		if !ok || st != spawner.Running || target == nil || token == "" {
			t.Fatalf("Route = %v, %d chars, %s, %v; want running with target and token", target, len(token), st, ok)
		}
		if code := get(t, target.String()+"/user/alice/api", token); code != http.StatusOK {
			t.Errorf("server with the route's token: %d, want 200", code)
		}
		md := model(t, m, "alice")
		if md.State != spawner.Running || !md.Ready || md.Pending != "" || md.URL != "/user/alice/" || md.Started == nil || md.LastActivity == nil {
			t.Errorf("running model = %+v", md)
		}
		if _, err := m.Start(ctx, "alice", ""); !errors.Is(err, spawner.ErrAlreadyRunning) {
			t.Errorf("second Start = %v, want ErrAlreadyRunning", err)
		}
		ch, err := m.Progress(ctx, "alice")
		if err != nil {
			t.Fatalf("Progress: %v", err)
		}
		if evs := collect(t, ch); len(evs) != 1 || !evs[0].Ready || evs[0].URL != "/user/alice/" || evs[0].Progress != 100 {
			t.Errorf("progress of a ready server = %+v, want one ready event", evs)
		}

		// The token is sealed at rest.
		var sealed []byte
		gdb.Raw("SELECT token FROM hub_servers").Row().Scan(&sealed)
		if len(sealed) == 0 || bytes.Contains(sealed, []byte(token)) {
			t.Errorf("stored token = %d bytes, holds the token: %v", len(sealed), bytes.Contains(sealed, []byte(token)))
		}

		stopped, err := m.Stop(ctx, "alice")
		if err != nil || !stopped {
			t.Fatalf("Stop = %v, %v; want stopped", stopped, err)
		}
		if _, _, st, ok := m.Route("alice"); ok || st != spawner.Stopped {
			t.Errorf("Route after stop = %s, %v; want stopped", st, ok)
		}
		if n := e.fake.Running("alice"); n != 0 {
			t.Errorf("%d fake servers still run", n)
		}
		md = model(t, m, "alice")
		if md.State != spawner.Stopped || md.Ready || md.StopReason != "Your server was stopped." || md.Stopped == nil {
			t.Errorf("stopped model = %+v", md)
		}
		if _, err := m.Stop(ctx, "alice"); !errors.Is(err, spawner.ErrNotRunning) {
			t.Errorf("second Stop = %v, want ErrNotRunning", err)
		}
		if _, err := m.Progress(ctx, "alice"); !errors.Is(err, spawner.ErrNotRunning) {
			t.Errorf("Progress of a stopped server = %v, want ErrNotRunning", err)
		}
		startReady(t, m, "alice")
		if got := e.fake.Starts("alice"); got != 2 {
			t.Errorf("fake started %d times, want 2", got)
		}
		if _, token2, _, _ := m.Route("alice"); token2 == token {
			t.Errorf("a new start reused the old token")
		}
		if strings.Contains(e.logs.String(), token) {
			t.Errorf("a server token reached the log")
		}
	})
}

func TestPendingStartStreamsProgress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.manager(spawner.Options{})
		ctx := context.Background()
		e.fake.Hang("alice", true)
		startPending(t, m, "alice")
		if _, err := m.Start(ctx, "alice", ""); !errors.Is(err, spawner.ErrPending) {
			t.Errorf("Start while pending = %v, want ErrPending", err)
		}
		if st := state(m, "alice"); st != spawner.Spawning {
			t.Errorf("state = %s, want %s", st, spawner.Spawning)
		}
		if md := model(t, m, "alice"); md.Pending != "spawn" || md.Ready {
			t.Errorf("pending model = %+v", md)
		}
		ch, err := m.Progress(ctx, "alice")
		if err != nil {
			t.Fatalf("Progress: %v", err)
		}
		e.fake.Hang("alice", false)
		evs := collect(t, ch)
		if len(evs) < 3 {
			t.Fatalf("events = %+v, want at least requested, spawning, ready", evs)
		}
		if evs[0].Message != "Server requested" || evs[0].Progress != 0 {
			t.Errorf("first event = %+v", evs[0])
		}
		last := evs[len(evs)-1]
		if !last.Ready || last.URL != "/user/alice/" || last.Progress != 100 {
			t.Errorf("last event = %+v, want ready", last)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Progress < evs[i-1].Progress {
				t.Errorf("progress went back: %+v", evs)
			}
		}
		if st := state(m, "alice"); st != spawner.Running {
			t.Errorf("state = %s, want running", st)
		}
	})
}

func TestStartFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		users := []string{"timeout", "userfail", "backendfail", "exits", "envfail"}
		e := newEnv(t, gdb, users...)
		e.fake.Hang("timeout", true)
		e.fake.FailStart("userfail", &spawner.Failure{Message: "No machine has 64 GiB free; pick a smaller profile."})
		e.fake.FailStart("backendfail", errors.New("exec: /opt/internal/path not found"))
		e.fake.ExitOnStart("exits", true)
		m := e.manager(spawner.Options{
			StartTimeout: 500 * time.Millisecond,
			Env: func(_ context.Context, u spawner.User) (map[string]string, error) {
				if u.Name == "envfail" || u.ID != e.user(u.Name).ID {
					return nil, errors.New("contents service down")
				}
				return nil, nil
			},
		})
		tests := []struct {
			user, reason string
			started      bool // the backend was asked to start
		}{
			{"timeout", "Your server did not start within 500ms, so it was stopped.", true},
			{"userfail", "No machine has 64 GiB free; pick a smaller profile.", true},
			{"backendfail", "Your server could not be started.", true},
			{"exits", "Your server exited while starting: it exited with status 1, before saying why.", true},
			{"envfail", "The hub could not prepare your server.", false},
		}
		for _, tt := range tests {
			t.Run(tt.user, func(t *testing.T) {
				_, err := m.Start(context.Background(), tt.user, "")
				var se *spawner.SpawnError
				if !errors.Is(err, spawner.ErrSpawnFailed) || !errors.As(err, &se) {
					t.Fatalf("Start = %v, want a SpawnError", err)
				}
				if !strings.HasPrefix(se.Reason, tt.reason) {
					t.Errorf("reason = %q, want it to begin %q", se.Reason, tt.reason)
				}
				if strings.Contains(se.Reason, "/opt/internal") || strings.Contains(se.Reason, "contents service") {
					t.Errorf("reason %q shows an internal error", se.Reason)
				}
				md := model(t, m, tt.user)
				if md.State != spawner.Failed || md.StopReason != se.Reason || md.Ready || md.Pending != "" {
					t.Errorf("model = %+v", md)
				}
				if tt.user == "timeout" && !strings.Contains(strings.Join(md.LogTail, "\n"), "fake server for timeout starting") {
					t.Errorf("admin log tail = %q, want the server's output", md.LogTail)
				}
				if n := e.fake.Running(tt.user); n != 0 {
					t.Errorf("%d servers left running after a failed start", n)
				}
				if got := e.fake.Starts(tt.user); (got == 1) != tt.started {
					t.Errorf("backend starts = %d", got)
				}
				ch, err := m.Progress(context.Background(), tt.user)
				if err != nil {
					t.Fatalf("Progress after failure: %v", err)
				}
				if evs := collect(t, ch); len(evs) != 1 || !evs[0].Failed || !strings.Contains(evs[0].Message, se.Reason) {
					t.Errorf("progress after failure = %+v", evs)
				}
			})
		}
		// A failed server may be started again.
		e.fake.Hang("timeout", false)
		startReady(t, m, "timeout")
	})
}

func TestServerThatDiesIsStoppedWithReason(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.manager(spawner.Options{})
		startReady(t, m, "alice")
		e.fake.Crash("alice", 1)
		eventually(t, "the dead server is stopped", func() bool { return state(m, "alice") == spawner.Stopped })
		md := model(t, m, "alice")
		if md.State != spawner.Stopped || md.StopReason != "Your server stopped: it exited with status 1." {
			t.Errorf("model = %+v", md)
		}
		tail := strings.Join(md.LogTail, "\n")
		if !strings.Contains(tail, "Traceback") || !strings.Contains(tail, "exited with status 1") {
			t.Errorf("admin log tail = %q, want the output and the exit status", tail)
		}
		// The server's token, which its log shows, never reaches the
		// admin: it would let them past the hub's checks.
		if !strings.Contains(tail, "?token=[token]") || regexp.MustCompile(`token=[^\[]`).MatchString(tail) {
			t.Errorf("admin log tail = %q, want the token hidden", tail)
		}
		startReady(t, m, "alice")
		// Shut down from inside Jupyter: it exits 0.
		e.fake.Crash("alice", 0)
		eventually(t, "the server is stopped", func() bool { return state(m, "alice") == spawner.Stopped })
		if md := model(t, m, "alice"); md.StopReason != "Your server stopped: it was shut down from inside Jupyter (File > Shut Down)." {
			t.Errorf("reason after a shutdown from Jupyter = %q", md.StopReason)
		}
	})
}

func TestStopWhileStarting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.manager(spawner.Options{})
		e.fake.Hang("alice", true)
		startPending(t, m, "alice")
		ch, err := m.Progress(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if stopped, err := m.Stop(context.Background(), "alice"); err != nil || !stopped {
			t.Fatalf("Stop = %v, %v", stopped, err)
		}
		evs := collect(t, ch)
		if last := evs[len(evs)-1]; !last.Failed {
			t.Errorf("last event = %+v, want failed", last)
		}
		if n := e.fake.Running("alice"); n != 0 {
			t.Errorf("%d servers left running", n)
		}
		if md := model(t, m, "alice"); md.State != spawner.Stopped {
			t.Errorf("model = %+v", md)
		}
	})
}

func TestLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "a", "b", "c", "d")
		t.Run("concurrent spawns", func(t *testing.T) {
			m := e.manager(spawner.Options{ConcurrentSpawnLimit: 2})
			for _, u := range []string{"a", "b", "c"} {
				e.fake.Hang(u, true)
			}
			startPending(t, m, "a")
			startPending(t, m, "b")
			_, err := m.Start(context.Background(), "c", "")
			var le *spawner.LimitError
			if !errors.Is(err, spawner.ErrTooManySpawns) || !errors.As(err, &le) {
				t.Fatalf("third Start = %v, want ErrTooManySpawns", err)
			}
			if le.RetryAfter < 30*time.Second || le.RetryAfter > 60*time.Second {
				t.Errorf("RetryAfter = %s, want 30-60s", le.RetryAfter)
			}
			if got := e.fake.Starts("c"); got != 0 {
				t.Errorf("refused start reached the backend %d times", got)
			}
			// Once one is ready, another may start.
			e.fake.Hang("a", false)
			eventually(t, "a is ready", func() bool { return state(m, "a") == spawner.Running })
			e.fake.Hang("c", false)
			startReady(t, m, "c")
			m.Close()
		})
		t.Run("active servers", func(t *testing.T) {
			m := e.manager(spawner.Options{ActiveServerLimit: 1})
			startReady(t, m, "d")
			if _, err := m.Start(context.Background(), "a", ""); !errors.Is(err, spawner.ErrActiveLimit) {
				t.Fatalf("Start past the active limit = %v, want ErrActiveLimit", err)
			}
			if _, err := m.Stop(context.Background(), "d"); err != nil {
				t.Fatal(err)
			}
			e.fake.Hang("a", false)
			startReady(t, m, "a")
		})
	})
}

// TestRecover is Nomad's TestTaskRunner_Restore_Running for the hub: a
// new Manager on the same database takes over a running server without
// starting it again, and notices those that died meanwhile.
func TestRecover(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alive", "dead", "starting")
		m1 := e.manager(spawner.Options{})
		startReady(t, m1, "alive")
		startReady(t, m1, "dead")
		e.fake.Hang("starting", true)
		startPending(t, m1, "starting")
		target1, token1, _, _ := m1.Route("alive")
		m1.MarkActive("alive", time.Now())
		if err := m1.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := e.fake.Running("alive"); n != 1 {
			t.Fatalf("Close left %d servers running, want 1: closing must not stop servers", n)
		}
		e.fake.Crash("dead", 137)
		e.fake.Hang("starting", false)

		// Limits refuse new starts, never servers that already run.
		m2 := e.manager(spawner.Options{ActiveServerLimit: 1, ConcurrentSpawnLimit: 1})
		if err := m2.RecoverAll(context.Background()); err != nil {
			t.Fatalf("RecoverAll: %v", err)
		}
		target2, token2, st, ok := m2.Route("alive")
		if !ok || st != spawner.Running || target2.String() != target1.String() || token2 != token1 {
			t.Errorf("recovered route = %v, %s, %v; want the old target and token", target2, st, ok)
		}
		if code := get(t, target2.String()+"/user/alive/api", token2); code != http.StatusOK {
			t.Errorf("recovered server answers %d", code)
		}
		md := model(t, m2, "dead")
		if md.State != spawner.Stopped || !strings.Contains(md.StopReason, "while the hub was away") {
			t.Errorf("dead server's model = %+v", md)
		}
		eventually(t, "the pending start finishes", func() bool { return state(m2, "starting") == spawner.Running })
		for _, u := range []string{"alive", "dead", "starting"} {
			if got := e.fake.Starts(u); got != 1 {
				t.Errorf("%s started %d times, want exactly 1", u, got)
			}
		}
		if stopped, err := m2.Stop(context.Background(), "alive"); err != nil || !stopped {
			t.Errorf("Stop after recovery = %v, %v", stopped, err)
		}
		if n := e.fake.Running("alive"); n != 0 {
			t.Errorf("%d servers still run after stop", n)
		}
	})
}

func TestCull(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		users := []string{"idle", "busy", "active", "busyunseen", "kernelactive"}
		tests := []struct {
			name     string
			opts     spawner.Options
			want     []string
			stillRun []string
		}{
			{"idle only", spawner.Options{IdleTimeout: time.Minute}, []string{"idle"}, []string{"busy", "active", "busyunseen", "kernelactive"}},
			{"busy too", spawner.Options{IdleTimeout: time.Minute, CullBusy: true}, []string{"idle", "busy", "busyunseen"}, []string{"active", "kernelactive"}},
			{"max age", spawner.Options{MaxAge: time.Minute}, users, nil},
		}
		e := newEnv(t, gdb, users...)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := e.manager(tt.opts)
				defer m.Close()
				for _, u := range users {
					startReady(t, m, u)
				}
				start := time.Now()
				// Within KernelBusyTrust of the busy status, so the relay alone
				// keeps "busy" alive.
				later := start.Add(2 * time.Minute)
				m.KernelBusy("busy", "k1", true)
				m.MarkActive("active", start.Add(90*time.Second))
				e.fake.SetKernels("busyunseen", []spawnertest.Kernel{{ID: "k2", ExecutionState: "busy", LastActivity: start}})
				e.fake.SetKernels("kernelactive", []spawnertest.Kernel{{ID: "k3", ExecutionState: "idle", LastActivity: start.Add(100 * time.Second)}})
				got := m.Cull(context.Background(), later)
				if strings.Join(sorted(got), ",") != strings.Join(sorted(tt.want), ",") {
					t.Errorf("culled %v, want %v", got, tt.want)
				}
				for _, u := range tt.want {
					eventually(t, u+" stops", func() bool { return state(m, u) == spawner.Stopped })
					md := model(t, m, u)
					if !strings.HasPrefix(md.StopReason, "Your server was stopped") {
						t.Errorf("%s stop reason = %q", u, md.StopReason)
					}
				}
				for _, u := range tt.stillRun {
					if st := state(m, u); st != spawner.Running {
						t.Errorf("%s is %s, want running", u, st)
					}
					m.Stop(context.Background(), u)
				}
				e.fake.SetKernels("busyunseen", nil)
				e.fake.SetKernels("kernelactive", nil)
			})
		}
	})
}

// TestCullStaleBusy: a busy mark the relay can no longer vouch for (its
// websocket closed before the kernel went idle, or no status came for
// KernelBusyTrust) does not keep a server alive: the server's
// /api/kernels decides, and a kernel it lists idle or not at all is not
// busy.
func TestCullStaleBusy(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	users := []string{"closed", "gone", "quiet", "open"}
	e := newEnv(t, gdb, users...)
	m := e.manager(spawner.Options{IdleTimeout: time.Minute})
	defer m.Close()
	for _, u := range users {
		startReady(t, m, u)
		m.KernelBusy(u, "k1", true)
	}
	start := time.Now()
	m.KernelClosed("closed", "k1")
	m.KernelClosed("gone", "k1")
	m.KernelClosed("nobody", "k1") // no server: ignored
	e.fake.SetKernels("closed", []spawnertest.Kernel{{ID: "k1", ExecutionState: "busy", LastActivity: start}})
	e.fake.SetKernels("quiet", []spawnertest.Kernel{{ID: "k1", ExecutionState: "busy", LastActivity: start}})
	if md := model(t, m, "closed"); md.BusyKernels != 0 {
		t.Errorf("closed: BusyKernels = %d after its websocket closed, want 0", md.BusyKernels)
	}

	// Within KernelBusyTrust: the open websocket's mark counts; the
	// closed ones are asked about, and only the one the server still
	// runs busy is spared.
	got := m.Cull(context.Background(), start.Add(2*time.Minute))
	if strings.Join(got, ",") != "gone" {
		t.Fatalf("culled %v, want [gone]", got)
	}
	eventually(t, "gone stops", func() bool { return state(m, "gone") == spawner.Stopped })

	// The server says the kernel went idle: culled, though the relay
	// never saw it.
	e.fake.SetKernels("closed", []spawnertest.Kernel{{ID: "k1", ExecutionState: "idle", LastActivity: start}})
	got = m.Cull(context.Background(), start.Add(3*time.Minute))
	if strings.Join(got, ",") != "closed" {
		t.Fatalf("culled %v, want [closed]", got)
	}
	eventually(t, "closed stops", func() bool { return state(m, "closed") == spawner.Stopped })

	// Past KernelBusyTrust without a status: the server decides for the
	// open websocket too; "quiet" is still busy there, "open" is not.
	got = m.Cull(context.Background(), start.Add(spawner.KernelBusyTrust+2*time.Minute))
	if strings.Join(got, ",") != "open" {
		t.Fatalf("culled %v, want [open]", got)
	}
	if st := state(m, "quiet"); st != spawner.Running {
		t.Errorf("quiet is %s, want running: its server says its kernel is busy", st)
	}
}

func TestActivityAndManyServers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice", "bob")
		m := e.manager(spawner.Options{})
		startReady(t, m, "alice")
		when := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
		m.MarkActive("alice", when)
		m.MarkActive("alice", when.Add(-time.Hour)) // older: ignored
		m.MarkActive("nobody", when)                // no server: ignored
		if err := m.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		var stored time.Time
		gdb.Raw("SELECT last_activity FROM hub_servers").Row().Scan(&stored)
		if !stored.Equal(when) {
			t.Errorf("stored last_activity = %s, want %s", stored, when)
		}
		// Past one query's worth of names.
		names := make([]string, 0, 12000)
		for i := range 12000 {
			names = append(names, "ghost"+strconv.Itoa(i))
		}
		names = append(names, "alice", "bob")
		all, err := m.Servers(context.Background(), names)
		if err != nil {
			t.Fatalf("Servers: %v", err)
		}
		if len(all) != len(names) {
			t.Errorf("Servers returned %d models, want %d", len(all), len(names))
		}
		if a := all["alice"]; a.State != spawner.Running || !a.Ready || a.LastActivity == nil || !a.LastActivity.Equal(when) {
			t.Errorf("alice = %+v", a)
		}
		if b := all["bob"]; b.State != spawner.Stopped || b.Ready || b.URL != "/user/bob/" {
			t.Errorf("bob = %+v", b)
		}
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestConcurrentUse drives the manager from many goroutines at once, as
// the proxy and the API do, for the race detector to watch.
func TestConcurrentUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		users := []string{"u0", "u1", "u2", "u3"}
		e := newEnv(t, gdb, users...)
		m := e.manager(spawner.Options{})
		ctx := context.Background()
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Go(func() {
				for range 3 {
					startReady(t, m, u)
					m.Stop(ctx, u)
				}
			})
			wg.Go(func() {
				for range 200 {
					m.Route(u)
					m.MarkActive(u, time.Now())
					m.KernelBusy(u, "k", true)
					m.KernelBusy(u, "k", false)
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				if _, err := m.Servers(ctx, users); err != nil {
					t.Errorf("Servers: %v", err)
				}
				if err := m.Flush(ctx); err != nil {
					t.Errorf("Flush: %v", err)
				}
				m.Cull(ctx, time.Now())
			}
		})
		wg.Wait()
		for _, u := range users {
			if got := e.fake.Starts(u); got != 3 {
				t.Errorf("%s started %d times, want 3", u, got)
			}
		}
	})
}

// polled hides the fake's Waiter, so the manager must notice exits by
// polling Status.
type polled struct{ spawner.Backend }

func TestDeathNoticedByPolling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.managerOf(spawner.Options{PollInterval: 20 * time.Millisecond}, polled{e.fake})
		defer m.Close()
		startReady(t, m, "alice")
		e.fake.Crash("alice", 2)
		eventually(t, "the dead server is stopped", func() bool { return state(m, "alice") == spawner.Stopped })
		if md := model(t, m, "alice"); md.StopReason != "Your server stopped: it exited with status 2." {
			t.Errorf("model = %+v", md)
		}
	})
}

func TestRecoveredServerThatDoesNotAnswerIsStopped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m1 := e.manager(spawner.Options{})
		startReady(t, m1, "alice")
		m1.Close()
		e.fake.Hang("alice", true)
		m2 := e.manager(spawner.Options{RecoverTimeout: 200 * time.Millisecond})
		if err := m2.RecoverAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the silent server is stopped", func() bool { return model(t, m2, "alice").State == spawner.Stopped })
		if md := model(t, m2, "alice"); !strings.Contains(md.StopReason, "stopped answering") {
			t.Errorf("model = %+v", md)
		}
		if n := e.fake.Running("alice"); n != 0 {
			t.Errorf("%d servers left running", n)
		}
	})
}

func TestRunFlushesUntilCancelled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice")
		m := e.manager(spawner.Options{FlushInterval: 10 * time.Millisecond, IdleTimeout: time.Hour, CullInterval: 10 * time.Millisecond})
		startReady(t, m, "alice")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		when := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		m.MarkActive("alice", when)
		eventually(t, "activity reaches the database", func() bool {
			var stored time.Time
			gdb.Raw("SELECT last_activity FROM hub_servers").Row().Scan(&stored)
			return stored.Equal(when)
		})
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if st := state(m, "alice"); st != spawner.Running {
			t.Errorf("an active server was culled: %s", st)
		}
	})
}

func TestLiveUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "ready", "starting", "stopped")
		m := e.manager(spawner.Options{})
		startReady(t, m, "ready")
		e.fake.Hang("starting", true)
		startPending(t, m, "starting")
		startReady(t, m, "stopped")
		m.Stop(context.Background(), "stopped")
		tests := []struct {
			readyOnly bool
			want      string
		}{
			{false, "ready,starting"},
			{true, "ready"},
		}
		for _, tt := range tests {
			if got := strings.Join(m.LiveUsers(tt.readyOnly), ","); got != tt.want {
				t.Errorf("LiveUsers(%v) = %s, want %s", tt.readyOnly, got, tt.want)
			}
		}
	})
}

func TestBusyKernelsInModel(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	e := newEnv(t, gdb, "alice")
	m := e.manager(spawner.Options{})
	startReady(t, m, "alice")
	m.KernelBusy("alice", "k1", true)
	m.KernelBusy("alice", "k2", true)
	m.KernelBusy("alice", "k2", false)
	md, err := m.Server(context.Background(), "alice")
	if err != nil || md.BusyKernels != 1 {
		t.Fatalf("BusyKernels = %d, %v; want 1", md.BusyKernels, err)
	}
	all, _ := m.Servers(context.Background(), []string{"alice"})
	if all["alice"].BusyKernels != 1 {
		t.Errorf("Servers: BusyKernels = %d, want 1", all["alice"].BusyKernels)
	}
}

// sweeping is the fake backend with a Sweep that records whom it swept.
type sweeping struct {
	*spawnertest.Fake
	mu    sync.Mutex
	swept []string
}

func (s *sweeping) Sweep(_ context.Context, user string) error {
	s.mu.Lock()
	s.swept = append(s.swept, user)
	s.mu.Unlock()
	return nil
}

// TestRecoverSweepsAStartWithoutHandle: a hub that died between starting
// a server and saving its handle left a spawn-pending row with no handle;
// the next hub marks it failed and asks the backend to end what it may
// have left running.
func TestRecoverSweepsAStartWithoutHandle(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	e := newEnv(t, gdb, "alice", "bob")
	now := time.Now().UTC()
	for _, u := range []struct{ name, state string }{{"alice", "spawn-pending"}, {"bob", "stopped"}} {
		if err := gdb.Exec("INSERT INTO hub_servers (user_id, name, state, handle_backend, started, updated_at) SELECT id, '', ?, ?, ?, ? FROM hub_users WHERE name = ?",
			u.state, e.fake.Name(), now, now, u.name).Error; err != nil {
			t.Fatal(err)
		}
	}
	sw := &sweeping{Fake: e.fake}
	m := e.managerOf(spawner.Options{}, sw)
	if err := m.RecoverAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sw.swept, ","); got != "alice" {
		t.Errorf("swept %q, want alice only", got)
	}
	if md := model(t, m, "alice"); md.State != spawner.Failed || !strings.Contains(md.StopReason, "restarted while your server was starting") {
		t.Errorf("alice = %s %q, want failed because the hub restarted", md.State, md.StopReason)
	}
}

// catalog is two profiles and the default, counting how often a start
// asks.
type catalog struct {
	mu      sync.Mutex
	lookups int
}

var (
	smallSpec = spawner.Spec{CPUs: 1, Mem: 512, Env: map[string]string{"TZ": "UTC"}}
	bigSpec   = spawner.Spec{Image: "img:2", CPUs: 8, Mem: 65536, Role: "analytics",
		Constraints: []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}}, Spark: map[string]string{"spark.executor.memory": "4g"}}
)

func (c *catalog) Resolve(name string) (spawner.Spec, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	switch name {
	case "", "small":
		return smallSpec, nil
	case "big":
		return bigSpec, nil
	}
	return spawner.Spec{}, fmt.Errorf("profile %q: %w", name, spawner.ErrNoProfile)
}

// TestSpecResolvedOncePerStart: a start's profile is resolved once, by
// the manager, and the backend gets the spec; an unknown profile is
// refused before anything is admitted, recorded or started.
func TestSpecResolvedOncePerStart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice", "bob")
		c := &catalog{}
		m := e.manager(spawner.Options{Profiles: c})
		ctx := context.Background()
		if _, err := m.Start(ctx, "alice", "huge"); !errors.Is(err, spawner.ErrNoProfile) {
			t.Fatalf("Start with an unknown profile = %v, want ErrNoProfile", err)
		}
		if n := e.fake.Starts("alice"); n != 0 {
			t.Errorf("an unknown profile reached the backend %d times", n)
		}
		if md := model(t, m, "alice"); md.State != spawner.Stopped || md.Started != nil {
			t.Errorf("after an unknown profile the model = %+v, want never started", md)
		}
		if ready, err := m.Start(ctx, "alice", "big"); err != nil || !ready {
			t.Fatalf("Start(big) = %v, %v", ready, err)
		}
		if req := e.fake.LastStart("alice"); req.Profile != "big" || !reflect.DeepEqual(req.Spec, bigSpec) {
			t.Errorf("backend got profile %q, spec %+v; want big, %+v", req.Profile, req.Spec, bigSpec)
		}
		if md := model(t, m, "alice"); md.Profile != "big" {
			t.Errorf("model profile = %q, want big", md.Profile)
		}
		// The profile is checked first, as the hub always did: even a
		// running server's user hears about the profile.
		if _, err := m.Start(ctx, "alice", "huge"); !errors.Is(err, spawner.ErrNoProfile) {
			t.Errorf("unknown profile while running = %v, want ErrNoProfile", err)
		}
		startReady(t, m, "bob")
		if req := e.fake.LastStart("bob"); req.Profile != "" || !reflect.DeepEqual(req.Spec, smallSpec) {
			t.Errorf("default start got profile %q, spec %+v; want the default's", req.Profile, req.Spec)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.lookups != 4 {
			t.Errorf("profiles resolved %d times for 4 starts, want once each", c.lookups)
		}
	})
}

// knowing is the fake backend as a Reconciler: it keeps what New hands
// it.
type knowing struct {
	*spawnertest.Fake
	mu    sync.Mutex
	known spawner.Known
}

func (k *knowing) SetKnown(kn spawner.Known) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.known = kn
}

// TestKnownHandles: a backend that must tell the hub's servers from
// strangers asks the manager, which answers from hub_servers.
func TestKnownHandles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		e := newEnv(t, gdb, "alice", "bob")
		kb := &knowing{Fake: e.fake}
		m := e.managerOf(spawner.Options{}, kb)
		kb.mu.Lock()
		known := kb.known
		kb.mu.Unlock()
		if known == nil {
			t.Fatal("New did not hand the backend the manager")
		}
		ctx := context.Background()
		if hs, err := known.Handles(ctx, e.fake.Name()); err != nil || len(hs) != 0 {
			t.Errorf("Handles before any start = %v, %v; want none", hs, err)
		}
		startReady(t, m, "alice")
		var id string
		gdb.Raw("SELECT handle_id FROM hub_servers").Row().Scan(&id)
		hs, err := known.Handles(ctx, e.fake.Name())
		if err != nil || len(hs) != 1 || hs[0].ID != id || hs[0].Backend != e.fake.Name() || len(hs[0].State) == 0 {
			t.Errorf("Handles = %+v, %v; want alice's server %s", hs, err, id)
		}
		if hs, err := m.Handles(ctx, "mesos"); err != nil || len(hs) != 0 {
			t.Errorf("Handles of another backend = %v, %v; want none", hs, err)
		}
		if _, err := m.Stop(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if hs, err := known.Handles(ctx, e.fake.Name()); err != nil || len(hs) != 0 {
			t.Errorf("Handles after the stop = %v, %v; want none", hs, err)
		}
	})
}

func TestNewNeedsUsers(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	f := spawnertest.NewFake()
	defer f.Close()
	if _, err := spawner.New(context.Background(), gdb, spawner.Options{}, f); err == nil {
		t.Error("New without Users = nil error")
	}
}
