package mesos

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// fakeMaster answers SUBSCRIBE with a stream of events, then keeps the
// stream open (silent) until the request ends; other calls with 202.
func fakeMaster(t *testing.T, events ...wire.Event) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c wire.Call
		if json.NewDecoder(r.Body).Decode(&c); c.Type != "SUBSCRIBE" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Mesos-Stream-Id", "s")
		w.WriteHeader(http.StatusOK)
		for _, ev := range events {
			rec, _ := wire.AppendRecord(nil, ev)
			w.Write(rec)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestBackend(t *testing.T, opts Options) *Backend {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.cancel)
	return b
}

// TestDial: SUBSCRIBE goes to the masters in turn; a master that does
// not lead redirects (a protocol-relative Location, as Mesos writes it)
// and the stream comes from the leader.
func TestDial(t *testing.T) {
	leader := fakeMaster(t)
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "//"+strings.TrimPrefix(leader.URL, "http://")+"/api/v1/scheduler")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer follower.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	b := newTestBackend(t, Options{Master: leader.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := b.dial(ctx, []string{down.URL, follower.URL}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.body.Close()
	if s.master != leader.URL || s.id != "s" {
		t.Errorf("stream from %s, id %q; want from %s, id s", s.master, s.id, leader.URL)
	}
}

// TestDialFails: what makes a SUBSCRIBE fail.
func TestDialFails(t *testing.T) {
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loop.URL+"/api/v1/scheduler")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer loop.Close()
	nowhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer nowhere.Close()
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Framework is not authenticated", http.StatusUnauthorized)
	}))
	defer refused.Close()
	noStream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer noStream.Close()
	leader := fakeMaster(t)
	tests := []struct {
		masters []string
		want    string
	}{
		{[]string{loop.URL}, "more than 10 redirects"},
		{[]string{nowhere.URL}, "307 without Location"},
		{[]string{refused.URL}, "401 Unauthorized Framework is not authenticated"},
		// An answer without a stream id ends the attempt: the next
		// master is not asked.
		{[]string{noStream.URL, leader.URL}, "without Mesos-Stream-Id"},
	}
	b := newTestBackend(t, Options{Master: leader.URL})
	for _, tt := range tests {
		s, err := b.dial(context.Background(), tt.masters, "")
		if err == nil {
			s.body.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("dial %v = %v, want an error saying %q", tt.masters, err, tt.want)
		}
	}
}

// TestWatchdog: a stream silent for MissedHeartbeats of the intervals
// SUBSCRIBED gave is dead.
func TestWatchdog(t *testing.T) {
	srv := fakeMaster(t, wire.Event{Type: "SUBSCRIBED", Subscribed: &wire.Subscribed{
		FrameworkID: wire.ID{Value: "fw-1"}, HeartbeatIntervalSeconds: 0.02,
	}})
	b := newTestBackend(t, Options{Master: srv.URL, MissedHeartbeats: 3, ReconcileInterval: time.Hour})
	start := time.Now()
	err := b.subscribe()
	if err == nil || err.Error() != "no heartbeat from the master" {
		t.Fatalf("subscribe = %v, want no heartbeat from the master", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the watchdog took %v for 3 intervals of 20 ms", d)
	}
	if id, _ := b.opts.IDs.Get(context.Background()); id != "fw-1" {
		t.Errorf("framework id %q, want fw-1 stored", id)
	}
}

// TestFrameworkRemoved: ERROR "Framework has been removed" ends the
// stream, forgets the framework id and ends the servers, whose tasks are
// gone with the framework.
func TestFrameworkRemoved(t *testing.T) {
	srv := fakeMaster(t, wire.Event{Type: "ERROR", Error: &wire.ErrorInfo{Message: "Framework has been removed"}})
	b := newTestBackend(t, Options{Master: srv.URL, IDs: &memIDs{id: "fw-old"}})
	h := spawner.Handle{Backend: Name, ID: "t1", State: []byte(`{"task_id":"t1","agent_id":"a1"}`)}
	gone := b.Wait(context.Background(), h)
	if err := b.subscribe(); !errors.Is(err, errRemoved) {
		t.Fatalf("subscribe = %v, want %v", err, errRemoved)
	}
	if id, _ := b.opts.IDs.Get(context.Background()); id != "" {
		t.Errorf("framework id %q kept, want none", id)
	}
	select {
	case <-gone:
	default:
		t.Fatal("the server of a removed framework still runs")
	}
	st, err := b.Status(context.Background(), h)
	if err != nil || st.Running || !strings.Contains(st.Reason, "removed the hub's framework") {
		t.Errorf("Status = %+v, %v; want ended, the framework removed", st, err)
	}
}
