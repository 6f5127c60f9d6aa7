package mesos

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// callRecorder is a master that records the calls it is sent, answers
// SUBSCRIBE with a stream that ends at once and every other call with
// 202.
type callRecorder struct {
	mu    sync.Mutex
	calls []json.RawMessage
	bad   []string // what was wrong with a request's headers
}

func (m *callRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var c wire.Call
	json.Unmarshal(body, &c)
	m.mu.Lock()
	m.calls = append(m.calls, body)
	if r.Header.Get("Content-Type") != "application/json" {
		m.bad = append(m.bad, c.Type+" without Content-Type application/json")
	}
	if sid := r.Header.Get("Mesos-Stream-Id"); (c.Type == "SUBSCRIBE") != (sid == "") {
		m.bad = append(m.bad, c.Type+" with Mesos-Stream-Id "+sid)
	}
	m.mu.Unlock()
	if c.Type == "SUBSCRIBE" {
		w.Header().Set("Mesos-Stream-Id", "s")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (m *callRecorder) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// waitCalls waits until the master has had n calls.
func (m *callRecorder) waitCalls(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); m.count() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls, want %d", m.count(), n)
		}
	}
}

// TestCallsOnTheWire: every call the framework makes is the JSON the
// v1 scheduler API expects (testdata/calls.json): SUBSCRIBE of a new
// framework and of a known one (framework_info with its roles, the id in
// both places), ACCEPT with a LAUNCH and its filters, DECLINE with
// filters, REVIVE and SUPPRESS naming their roles, KILL with and without
// a kill policy, ACKNOWLEDGE, and RECONCILE explicit and implicit.
func TestCallsOnTheWire(t *testing.T) {
	master := &callRecorder{}
	srv := httptest.NewServer(master)
	defer srv.Close()
	ids := &memIDs{}
	b := &Backend{
		opts: Options{Role: "*", Roles: []string{"analytics"}, User: "jovyan", FrameworkName: "sparkhub", FailoverTimeout: 7 * 24 * time.Hour,
			RefuseSeconds: 60, Network: "HOST", Containerizer: "DOCKER", Command: "jupyter-notebook", KillGrace: 30 * time.Second,
			Principal: "hub", Secret: "s", Hostname: "hub.example", WebUIURL: "http://hub.example/", IDs: ids, MissedHeartbeats: 5,
			CallTimeout: 5 * time.Second, ReconcileInterval: time.Hour, Env: map[string]string{"HUB_WIDE": "1"},
			Jupyter: spawner.Jupyter{ContentsManagerClass: "c.M"}},
		roles: []string{"*", "analytics"}, log: slog.New(slog.DiscardHandler), masters: []string{srv.URL},
		calls: srv.Client(), streams: srv.Client(), kick: make(chan struct{}, 1), connected: make(chan struct{}),
		tasks: map[string]*task{}, groups: map[string][]Placement{}, suppressed: map[string]bool{}, revive: map[string]bool{},
		knownSet: make(chan struct{}),
	}
	b.SetKnown(noTasks{})
	b.ctx, b.cancel = context.WithCancel(context.Background())
	defer b.cancel()
	b.subscribe() // a new framework; the stream ends at once
	ids.id = "fw-1"
	b.subscribe() // the same framework again
	b.subscribed(srv.URL, "s", "fw-1")
	ctx := context.Background()

	b.queue = append(b.queue, &launch{
		id: "sparkhub-alice-0a0b0c", user: "alice", profile: "small",
		req: spawner.StartRequest{User: "alice", BaseURL: "/user/alice/", Env: map[string]string{
			spawner.BootstrapURLEnv: "http://hub.example/hub/api/users/alice/server/bootstrap", spawner.BootstrapCredentialEnv: "once",
		}},
		spec: spawner.Spec{Image: "sparkhub/notebook:1", CPUs: 1, Mem: 1024, Role: "*", Env: map[string]string{"PROFILE": "small"}},
		need: wire.Resources{CPUs: 1, Mem: 1024}, placed: make(chan *task, 1), requeue: make(chan struct{}, 1),
	})
	fits := wire.Offer{ID: wire.ID{Value: "o1"}, FrameworkID: wire.ID{Value: "fw-1"}, AgentID: wire.ID{Value: "a1"}, Hostname: "h1",
		URL:            &wire.OfferURL{Scheme: "http", Address: wire.Address{Hostname: "h1", IP: "10.0.0.1", Port: 5051}},
		AllocationInfo: &wire.AllocationInfo{Role: "*"},
		Resources:      wire.Resources{CPUs: 4, Mem: 8192, Ports: []wire.Range{{Begin: 31000, End: 31009}}}.Wire("*", "*")}
	small := wire.Offer{ID: wire.ID{Value: "o2"}, FrameworkID: wire.ID{Value: "fw-1"}, AgentID: wire.ID{Value: "a2"}, Hostname: "h2",
		AllocationInfo: &wire.AllocationInfo{Role: "*"},
		Resources:      wire.Resources{CPUs: 0.5, Mem: 512, Ports: []wire.Range{{Begin: 31000, End: 31009}}}.Wire("*", "*")}
	b.offers(ctx, []wire.Offer{fits, small}) // ACCEPT o1, DECLINE o2

	b.queue = append(b.queue, &launch{id: "sparkhub-bob-0d0e0f", user: "bob", spec: spawner.Spec{Role: "analytics"}})
	b.revive["analytics"] = true
	b.maintain(ctx) // REVIVE analytics, SUPPRESS *
	b.queue = nil

	b.kill(b.tasks["sparkhub-alice-0a0b0c"], 10*time.Second)
	b.kill(b.tasks["sparkhub-alice-0a0b0c"], 0)
	uuid := []byte{0, 1, 2, 3, 4, 5, 0x46, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	b.update(ctx, wire.TaskStatus{TaskID: wire.ID{Value: "stranger"}, State: "TASK_RUNNING", AgentID: &wire.ID{Value: "a2"}, UUID: uuid})

	b.mu.Lock()
	b.gen++ // alice's task is of an earlier stream now: reconciled by name
	b.mu.Unlock()
	n := master.count()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.reconcileAll(rctx)
	}()
	master.waitCalls(t, n+2)
	cancel()
	<-done

	lctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	b.lookup(lctx, spawner.Handle{Backend: Name, ID: "t-9", State: []byte(`{"task_id":"t-9","agent_id":"a9"}`)})

	raw, err := os.ReadFile("testdata/calls.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []json.RawMessage
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	master.mu.Lock()
	defer master.mu.Unlock()
	for _, bad := range master.bad {
		t.Error(bad)
	}
	if len(master.calls) != len(want) {
		t.Errorf("%d calls, want %d", len(master.calls), len(want))
	}
	for i := range min(len(master.calls), len(want)) {
		if !sameJSON(master.calls[i], want[i]) {
			var compact bytes.Buffer
			json.Compact(&compact, want[i])
			t.Errorf("call %d:\n got %s\nwant %s", i+1, master.calls[i], compact.Bytes())
		}
	}
}

// sameJSON reports whether a and b are the same JSON value, whatever
// the order of their objects' members.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// noTasks is a hub that holds no Mesos task.
type noTasks struct{}

func (noTasks) Handles(context.Context, string) ([]spawner.Handle, error) { return nil, nil }
