package hub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/proxy"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// TestMain doubles as a Jupyter stand-in (spawnertest.FakeJupyter) when
// the emulated Mesos cluster of a test runs the test binary as a server.
func TestMain(m *testing.M) { spawnertest.FakeJupyterMain(m.Run) }

// The images the emulated cluster knows: the test binary as a Jupyter
// that fetches its tokens as the real image's entrypoint does, and a
// process that never fetches them.
const (
	fakeNotebook = "sparkhub/test-notebook:1"
	sleeper      = "sparkhub/sleeper:1"
)

// mesosHub is the whole hub as main wires it for --spawner mesos, on an
// emulated cluster of one agent: a real SQLite database, the manager
// over the Mesos framework, the proxy and the contents service, behind
// a real HTTP server whose URL the servers fetch their tokens from.
type mesosHub struct {
	*testHub
	cluster *mesostest.Cluster
	servers *spawner.Manager
	logs    *hubtest.Buffer
}

func newMesosHub(t *testing.T, agentPorts, image string) *mesosHub {
	t.Helper()
	gdb := dbtest.Open(t, db.SQLite)
	a := newTestAuth(t, gdb, auth.Options{})
	logs := &hubtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	res, err := mesostest.ParseResources("cpus:4;mem:4096;ports:[" + agentPorts + "]")
	if err != nil {
		t.Fatal(err)
	}
	c, err := mesostest.New(mesostest.Options{
		Agents: []mesostest.AgentConfig{{Resources: res}},
		Images: map[string][]string{
			fakeNotebook: {os.Args[0]},
			sleeper:      {"/bin/sh", "-c", "exec sleep 600", "sh"},
		},
		Env:                map[string]string{spawnertest.FakeJupyterEnv: "1"},
		Heartbeat:          time.Second,
		AllocationInterval: 50 * time.Millisecond,
		UpdateRetry:        200 * time.Millisecond,
		UpdateRetryMax:     2 * time.Second,
		WorkDir:            t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b, err := mesos.New(mesos.Options{
		Master: c.URLs(), Defaults: spawner.Spec{Image: image, CPUs: 1, Mem: 512},
		KillGrace: time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		b.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-ran })

	srv := httptest.NewUnstartedServer(nil)
	hubURL := "http://" + srv.Listener.Addr().String()
	m, err := spawner.New(ctx, gdb, spawner.Options{
		StartTimeout: 30 * time.Second, PollInterval: 20 * time.Millisecond, StopGrace: time.Second,
		Env: ContentsEnv(a.Store, hubURL), RevokeEnv: RevokeContentsEnv(a.Store), BootstrapURL: BootstrapURL(hubURL),
		Users: a.Store, Logger: log,
	}, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	docs, err := contents.New(gdb, contents.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(DefaultOptions(), Deps{
		DB: gdb, Auth: a, Logger: log, Version: "test", SpawnerName: "mesos", Spawner: m,
		Proxy: proxy.New(a, m, proxy.Options{Logger: log}), Contents: docs.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	th := &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb}
	return &mesosHub{testHub: th, cluster: c, servers: m, logs: logs}
}

// masterState is GET /master/state on the emulated master: what anyone
// who may read the cluster's state reads.
func (mh *mesosHub) masterState() string {
	mh.t.Helper()
	resp, err := http.Get(mh.cluster.URL(0) + "/master/state")
	if err != nil {
		mh.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		mh.t.Fatalf("/master/state = %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// credentials are the bootstrap credentials the master's state shows,
// by user: what a reader of it could try.
func (mh *mesosHub) credentials() map[string]string {
	mh.t.Helper()
	var st struct {
		Frameworks []struct {
			Tasks []struct {
				Labels struct {
					Labels []struct{ Key, Value string }
				}
				Command struct {
					Environment struct {
						Variables []struct{ Name, Value string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(mh.masterState()), &st); err != nil {
		mh.t.Fatal(err)
	}
	out := map[string]string{}
	for _, fw := range st.Frameworks {
		for _, task := range fw.Tasks {
			user := ""
			for _, l := range task.Labels.Labels {
				if l.Key == "sparkhub.user" {
					user = l.Value
				}
			}
			for _, v := range task.Command.Environment.Variables {
				if v.Name == spawner.BootstrapCredentialEnv {
					out[user] = v.Value
				}
			}
		}
	}
	return out
}

// bootstrap POSTs a credential to a user's bootstrap endpoint, as a
// server (or an attacker) does.
func (mh *mesosHub) bootstrap(user, body string) result {
	mh.t.Helper()
	return mh.do(nil, req{method: "POST", path: "/hub/api/users/" + user + "/server/bootstrap", body: body})
}

func credentialBody(c string) string {
	b, _ := json.Marshal(map[string]string{"credential": c})
	return string(b)
}

func (mh *mesosHub) routed(user string) bool {
	_, _, _, ok := mh.servers.Route(user)
	return ok
}

// TestMesosTaskHoldsNoToken: a server started on Mesos answers through
// the hub with its own token and a working contents token, yet the
// master's state of its task holds neither, only a bootstrap
// credential. Replayed by whoever read it there, the credential is
// refused (403, logged); and, since the hub can no longer tell who holds
// it, the server is stopped and its contents token revoked.
func TestMesosTaskHoldsNoToken(t *testing.T) {
	mh := newMesosHub(t, "31000-31099", fakeNotebook)
	mh.addUser("alice", false)
	alice := "token " + mh.token("alice")
	if r := mh.do(nil, req{method: "POST", path: "/hub/api/users/alice/server", auth: alice}); r.status != http.StatusCreated && r.status != http.StatusAccepted {
		t.Fatalf("start = %d %s\n%s", r.status, r.body, mh.logs)
	}
	hubtest.WaitFor(t, "alice's server to be routed", 30*time.Second, func() bool { return mh.routed("alice") })

	// The server's own environment, through the proxy: what it fetched.
	r := mh.do(nil, req{method: "GET", path: "/user/alice/env", auth: alice})
	var env map[string]string
	r.json(t, &env)
	serverToken, contentsToken := env["JUPYTER_TOKEN"], env["SPARKHUB_CONTENTS_TOKEN"]
	if _, routeToken, _, _ := mh.servers.Route("alice"); serverToken == "" || serverToken != routeToken || contentsToken == "" {
		t.Fatalf("the server holds token %q and contents token %q; want the token the hub routes with and a contents token", serverToken, contentsToken)
	}
	if _, ok := env[spawner.BootstrapCredentialEnv]; ok {
		t.Errorf("the server's environment still holds its bootstrap credential")
	}
	if r := mh.do(nil, req{method: "GET", path: "/user/alice/api/contents", auth: "token " + contentsToken}); r.status != http.StatusOK {
		t.Fatalf("the server's contents token: %d %s", r.status, r.body)
	}

	state := mh.masterState()
	if !strings.Contains(state, "jupyter-alice") {
		t.Fatalf("alice's task is not in the master's state:\n%s", state)
	}
	for name, secret := range map[string]string{"server token": serverToken, "contents token": contentsToken} {
		if strings.Contains(state, secret) {
			t.Errorf("the master's state shows the %s", name)
		}
	}
	credential := mh.credentials()["alice"]
	if credential == "" {
		t.Fatalf("no bootstrap credential in the master's state:\n%s", state)
	}

	// A reader of the master's state tries the credential.
	r = mh.bootstrap("alice", credentialBody(credential))
	if r.status != http.StatusForbidden || !strings.Contains(r.message(t), "used already") || strings.Contains(string(r.body), serverToken) {
		t.Fatalf("replayed credential = %d %s; want 403, used already, no token", r.status, r.body)
	}
	hubtest.WaitFor(t, "alice's server to stop", 30*time.Second, func() bool {
		_, _, st, _ := mh.servers.Route("alice")
		return !st.Live()
	})
	if r := mh.do(nil, req{method: "GET", path: "/user/alice/api/contents", auth: "token " + contentsToken}); r.status == http.StatusOK {
		t.Errorf("the contents token of the stopped server still works")
	}
	logs := mh.logs.String()
	if !strings.Contains(logs, "server bootstrap refused") || !strings.Contains(logs, "a used bootstrap credential came again") {
		t.Errorf("the refusal is not logged:\n%s", logs)
	}
	for _, secret := range []string{credential, serverToken, contentsToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the log:\n%s", logs)
		}
	}
}

// TestMesosBootstrapRefusals: with two starts under way whose servers
// never fetch their tokens, bob's credential at alice's endpoint, a
// made-up one, one for a user who does not exist, and alice's own once
// expired are each refused with a 403 and a sentence, and change
// nothing: both starts go on, and bob's credential still works, at his
// endpoint only.
func TestMesosBootstrapRefusals(t *testing.T) {
	mh := newMesosHub(t, "31000-31099", sleeper)
	mh.addUser("alice", false)
	mh.addUser("bob", false)
	for _, u := range []string{"alice", "bob"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		u, err := mh.auth.Store.UserByName(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if ready, err := mh.servers.Start(ctx, serverUser(u), ""); ready || err != nil {
			t.Fatalf("start %s = %v, %v; want pending", u.Name, ready, err)
		}
		cancel()
	}
	var creds map[string]string
	hubtest.WaitFor(t, "both tasks in the master's state", 30*time.Second, func() bool {
		creds = mh.credentials()
		return creds["alice"] != "" && creds["bob"] != ""
	})

	if err := mh.db.Exec("UPDATE hub_servers SET bootstrap_expires = ? WHERE user_id = (SELECT id FROM hub_users WHERE name = ?)",
		time.Now().Add(-time.Second).UTC(), "alice").Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, user, body string
		status           int
		says             string
	}{
		{"bob's at alice's", "alice", credentialBody(creds["bob"]), 403, "not that of a server of this user"},
		{"made up", "alice", credentialBody(strings.Repeat("a", 64)), 403, "not that of a server of this user"},
		{"for nobody", "nobody", credentialBody(creds["alice"]), 403, "not that of a server of this user"},
		{"alice's, expired", "alice", credentialBody(creds["alice"]), 403, "has expired"},
		{"no credential", "alice", `{}`, 400, "credential"},
		{"not a string", "alice", `{"credential": 5}`, 400, "credential"},
		{"not JSON", "alice", `credential=x`, 400, "not valid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := mh.bootstrap(c.user, c.body)
			if r.status != c.status || !strings.Contains(r.message(t), c.says) || strings.Contains(string(r.body), "JUPYTER_TOKEN") {
				t.Errorf("= %d %s; want %d saying %q", r.status, r.body, c.status, c.says)
			}
		})
	}
	for _, u := range []string{"alice", "bob"} {
		if _, _, st, _ := mh.servers.Route(u); st != spawner.Spawning {
			t.Errorf("%s's server is %s after the refusals, want still starting", u, st)
		}
	}
	r := mh.bootstrap("bob", credentialBody(creds["bob"]))
	var got struct{ Env map[string]string }
	r.json(t, &got)
	if r.status != http.StatusOK || got.Env["JUPYTER_TOKEN"] == "" || got.Env["SPARKHUB_CONTENTS_TOKEN"] == "" {
		t.Errorf("bob's own credential = %d %s; want his tokens", r.status, r.body)
	}
	if n := strings.Count(mh.logs.String(), "server bootstrap refused"); n != 4 {
		t.Errorf("%d refusals logged, want 4:\n%s", n, mh.logs)
	}
}

// TestMesosSquatterOnTheServersPort: with HOST networking, a process on
// the agent listens on the port the next server is offered before the
// server starts, answering everything 200. The hub probes it, but sends
// it no token (no Authorization, no cookie, nothing but a challenge),
// does not take its answer for the server's, and never routes alice to
// it: her start fails (her server cannot bind the port, and exits).
func TestMesosSquatterOnTheServersPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	var seen []*http.Request
	squatter := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"version": "6.4.12", "proof": "00"}`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go squatter.Serve(ln)
	t.Cleanup(func() { squatter.Close() })

	// The agent has the ports a server takes (its own, and four for each
	// Spark application it may run), from the squatter's: the server's
	// is the first.
	mh := newMesosHub(t, strconv.Itoa(port)+"-"+strconv.Itoa(port+4*mesos.DefaultSparkApps), fakeNotebook)
	mh.addUser("alice", false)
	alice := "token " + mh.token("alice")
	u, err := mh.auth.Store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var se *spawner.SpawnError
	if _, err := mh.servers.Start(ctx, serverUser(u), ""); !errors.As(err, &se) {
		t.Fatalf("start with the port taken = %v; want it to fail\n%s", err, mh.logs)
	}

	mu.Lock()
	probes := len(seen)
	for _, r := range seen {
		if r.URL.Path != "/user/alice/"+spawner.ProofPath || len(r.URL.Query()) != 1 || r.URL.Query().Get("challenge") == "" {
			t.Errorf("the squatter was asked %s", r.URL)
		}
		for _, h := range []string{"Authorization", "Cookie", "X-Xsrftoken"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("the squatter was sent %s: %s", h, v)
			}
		}
	}
	mu.Unlock()
	if probes == 0 {
		t.Fatalf("the hub never probed the port; the test proves nothing\n%s", mh.logs)
	}
	if mh.routed("alice") {
		t.Error("alice is routed to the squatter")
	}
	if r := mh.do(nil, req{method: "GET", path: "/user/alice/api", auth: alice}); r.status == http.StatusOK {
		t.Errorf("alice's request reached a server: %d %s", r.status, r.body)
	}
	mu.Lock()
	if len(seen) != probes {
		t.Errorf("the squatter got alice's request")
	}
	mu.Unlock()
	if !strings.Contains(mh.logs.String(), "does not prove it holds the server's token") {
		t.Errorf("the hub did not log the listener that failed the proof:\n%s", mh.logs)
	}
}
