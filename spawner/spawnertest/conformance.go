package spawnertest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
)

// Harness is how the conformance suite drives a backend.
type Harness struct {
	// New returns a fresh backend under test.
	New func(t *testing.T) spawner.Backend
	// Reopen returns the backend a restarted hub would build over the
	// same state as b (a new instance where that makes sense).
	Reopen func(t *testing.T, b spawner.Backend) spawner.Backend
	// Crash makes the server behind h exit on its own, as if it crashed.
	Crash func(t *testing.T, b spawner.Backend, h spawner.Handle)
	// EchoesEnv: the servers this backend starts in the suite answer
	// GET {base}env with their environment as a JSON object.
	EchoesEnv bool
	// Wait bounds each wait for a server to answer or go (default 60s).
	Wait time.Duration
}

// Run runs the conformance suite: what the manager relies on from every
// backend.
func Run(t *testing.T, h Harness) {
	if h.Wait == 0 {
		h.Wait = 60 * time.Second
	}
	t.Run("StartAnswersWithTokenThenStops", func(t *testing.T) { testStartStop(t, h) })
	t.Run("RecoverAfterRestart", func(t *testing.T) { testRecover(t, h) })
	t.Run("RecoverUnknownHandleIsGone", func(t *testing.T) { testRecoverBogus(t, h) })
	t.Run("CrashShowsInStatus", func(t *testing.T) { testCrash(t, h) })
	t.Run("TwoUsersAtOnce", func(t *testing.T) { testTwoUsers(t, h) })
}

func start(t *testing.T, b spawner.Backend, user string, env map[string]string) (spawner.Started, string) {
	t.Helper()
	token := "tok-" + user + "-0123456789abcdef"
	req := spawner.StartRequest{
		User:     user,
		BaseURL:  spawner.UserURL(user),
		Token:    token,
		Env:      env,
		Progress: func(string) {},
	}
	if _, ok := b.(spawner.Bootstrapper); ok {
		// As the manager starts a Bootstrapper's server: no secret in
		// the request, a credential to fetch them with instead.
		secrets := map[string]string{"JUPYTER_TOKEN": token}
		for k, v := range env {
			secrets[k] = v
		}
		credential := "cred-" + user + "-0123456789abcdef"
		req.Token = ""
		req.Env = map[string]string{
			spawner.BootstrapURLEnv:        bootstrapHub(t, credential, secrets),
			spawner.BootstrapCredentialEnv: credential,
		}
	}
	st, err := b.Start(context.Background(), req)
	if err != nil {
		t.Fatalf("Start(%s): %v", user, err)
	}
	if st.Handle.Backend != b.Name() || st.Handle.ID == "" {
		t.Fatalf("Start handle = %+v, want Backend %q and an ID", st.Handle, b.Name())
	}
	if st.Target == nil || st.Target.Host == "" {
		t.Fatalf("Start target = %v, want an address", st.Target)
	}
	if strings.Contains(string(st.Handle.State), token) {
		t.Errorf("handle state holds the token; it is stored in clear")
	}
	t.Cleanup(func() { b.Stop(context.Background(), st.Handle, time.Second) })
	return st, token
}

// get GETs path under the server's base URL with the token until it
// answers 200, or the harness's wait runs out.
func get(t *testing.T, h Harness, st spawner.Started, user, token, path string) *http.Response {
	t.Helper()
	u := st.Target.String() + spawner.UserURL(user) + path
	deadline := time.Now().Add(h.Wait)
	for {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "token "+token)
		resp, err := Client.Do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			return resp
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered 200 (last: %v)", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitGone(t *testing.T, h Harness, b spawner.Backend, hd spawner.Handle) spawner.Status {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for {
		st, err := b.Status(context.Background(), hd)
		if errors.Is(err, spawner.ErrGone) {
			return spawner.Status{ExitCode: -1}
		}
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still running")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bootstrapHub stands for the hub's bootstrap endpoint, for a suite that
// drives backends without a hub: it hands secrets out once, for the
// credential, and returns its URL.
func bootstrapHub(t *testing.T, credential string, secrets map[string]string) string {
	t.Helper()
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Credential string `json:"credential"`
		}
		used := true
		if json.NewDecoder(r.Body).Decode(&body) == nil && body.Credential == credential {
			once.Do(func() { used = false })
		}
		w.Header().Set("Content-Type", "application/json")
		if used {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"status": http.StatusForbidden, "message": "No."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"env": secrets})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func testStartStop(t *testing.T, h Harness) {
	b := h.New(t)
	extra := map[string]string{"SPARKHUB_CONTENTS_URL": "http://127.0.0.1:1/contents", "SPARKHUB_CONTENTS_TOKEN": "ctok"}
	st, token := start(t, b, "alice", extra)
	get(t, h, st, "alice", token, "api").Body.Close()
	if s, err := b.Status(context.Background(), st.Handle); err != nil || !s.Running {
		t.Fatalf("Status after start = %+v, %v; want running", s, err)
	}
	if h.EchoesEnv {
		resp := get(t, h, st, "alice", token, "env")
		var env map[string]string
		err := json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("decode env: %v", err)
		}
		want := map[string]string{
			"SPARKHUB_USER":           "alice",
			"SPARKHUB_BASE_URL":       "/user/alice/",
			"JUPYTER_TOKEN":           token,
			"SPARKHUB_CONTENTS_URL":   extra["SPARKHUB_CONTENTS_URL"],
			"SPARKHUB_CONTENTS_TOKEN": extra["SPARKHUB_CONTENTS_TOKEN"],
		}
		if sock, ok := spawner.SocketPath(st.Target.Host); ok {
			want["SPARKHUB_SOCKET"] = sock
		} else {
			want["SPARKHUB_PORT"] = st.Target.Port()
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("server env %s = %q, want %q", k, env[k], v)
			}
		}
	}
	if err := b.Stop(context.Background(), st.Handle, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waitGone(t, h, b, st.Handle)
	if err := b.Stop(context.Background(), st.Handle, time.Second); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	if err := b.Recover(context.Background(), st.Handle); !errors.Is(err, spawner.ErrGone) {
		t.Errorf("Recover after Stop = %v, want ErrGone", err)
	}
}

func testRecover(t *testing.T, h Harness) {
	b := h.New(t)
	st, token := start(t, b, "bob", nil)
	get(t, h, st, "bob", token, "api").Body.Close()

	// The handle goes through the database as JSON-able fields.
	raw, err := json.Marshal(st.Handle)
	if err != nil {
		t.Fatal(err)
	}
	var hd spawner.Handle
	if err := json.Unmarshal(raw, &hd); err != nil {
		t.Fatal(err)
	}
	b2 := h.Reopen(t, b)
	if err := b2.Recover(context.Background(), hd); err != nil {
		t.Fatalf("Recover of a running server: %v", err)
	}
	if s, err := b2.Status(context.Background(), hd); err != nil || !s.Running {
		t.Fatalf("Status after Recover = %+v, %v; want running", s, err)
	}
	get(t, h, st, "bob", token, "api").Body.Close()
	if err := b2.Stop(context.Background(), hd, 5*time.Second); err != nil {
		t.Fatalf("Stop after Recover: %v", err)
	}
	waitGone(t, h, b2, hd)
	if err := b2.Recover(context.Background(), hd); !errors.Is(err, spawner.ErrGone) {
		t.Errorf("Recover of a stopped server = %v, want ErrGone", err)
	}
}

func testRecoverBogus(t *testing.T, h Harness) {
	b := h.New(t)
	for _, hd := range []spawner.Handle{
		{Backend: b.Name(), ID: "no-such-server", State: []byte(`{}`)},
		{Backend: b.Name(), ID: "garbage", State: []byte("not json")},
	} {
		if err := b.Recover(context.Background(), hd); !errors.Is(err, spawner.ErrGone) {
			t.Errorf("Recover(%s) = %v, want ErrGone", hd.ID, err)
		}
	}
}

func testCrash(t *testing.T, h Harness) {
	if h.Crash == nil {
		t.Skip("the harness cannot crash a server")
	}
	b := h.New(t)
	st, token := start(t, b, "carol", nil)
	get(t, h, st, "carol", token, "api").Body.Close()
	var exited <-chan struct{}
	if w, ok := b.(spawner.Waiter); ok {
		exited = w.Wait(context.Background(), st.Handle)
	}
	h.Crash(t, b, st.Handle)
	s := waitGone(t, h, b, st.Handle)
	if s.Reason == "" && s.ExitCode != -1 {
		t.Errorf("Status after a crash = %+v, want a reason", s)
	}
	if exited != nil {
		select {
		case <-exited:
		case <-time.After(h.Wait):
			t.Errorf("Wait's channel did not close after the server exited")
		}
	}
	if err := b.Stop(context.Background(), st.Handle, time.Second); err != nil {
		t.Errorf("Stop after a crash = %v, want nil", err)
	}
}

func testTwoUsers(t *testing.T, h Harness) {
	b := h.New(t)
	type res struct {
		st    spawner.Started
		token string
	}
	got := map[string]res{}
	for _, u := range []string{"dave", "erin"} {
		st, tok := start(t, b, u, nil)
		got[u] = res{st, tok}
	}
	if got["dave"].st.Target.String() == got["erin"].st.Target.String() {
		t.Fatalf("two servers share the address %s", got["dave"].st.Target)
	}
	for u, r := range got {
		get(t, h, r.st, u, r.token, "api").Body.Close()
	}
	// One's token does not open the other's server.
	req, _ := http.NewRequest(http.MethodGet, got["dave"].st.Target.String()+"/user/dave/api/kernels", nil)
	req.Header.Set("Authorization", "token "+got["erin"].token)
	if resp, err := Client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("erin's token opened dave's server")
		}
	}
}
