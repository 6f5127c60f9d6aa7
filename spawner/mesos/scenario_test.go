package mesos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

// sleeper is an image that runs a process doing nothing: enough for
// tests of placement, where nobody talks to Jupyter.
const sleeper = "sparkhub/sleeper:1"

func withSleeper(o *mesostest.Options) {
	o.Images[sleeper] = []string{"/bin/sh", "-c", "exec sleep 600", "sh"}
}

func startReq(user string) spawner.StartRequest {
	return spawner.StartRequest{User: user, BaseURL: spawner.UserURL(user)}
}

func startCtx(t testing.TB, h spawner.Backend, user string, d time.Duration) (spawner.Started, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h.Start(ctx, startReq(user))
}

func agentOf(c *mesostest.Cluster, taskID string) mesostest.TaskView {
	for _, tv := range c.Tasks() {
		if tv.ID == taskID {
			return tv
		}
	}
	return mesostest.TaskView{}
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestManyUsersOnManyAgents: 200 servers asked for at once on 20 agents
// with room for exactly 10 each: all are placed, no agent is overfilled,
// and no offer is left held.
func TestManyUsersOnManyAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("200 processes")
	}
	c := cluster(t, 20, "cpus:10;mem:10240;disk:1000;ports:[31000-33999]", withSleeper)
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 1024}
		o.KillGrace = 100 * time.Millisecond
	})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	handles := make(chan spawner.Handle, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := startCtx(t, h, fmt.Sprintf("user%03d", i), 60*time.Second)
			if err != nil {
				errs <- err
				return
			}
			handles <- st.Handle
		}()
	}
	wg.Wait()
	close(errs)
	close(handles)
	for err := range errs {
		t.Errorf("Start: %v", err)
	}
	perAgent := map[string]int{}
	for _, tv := range c.Tasks() {
		if tv.State == "TASK_RUNNING" {
			perAgent[tv.Agent]++
		}
	}
	total := 0
	for a, k := range perAgent {
		total += k
		if k > 10 {
			t.Errorf("agent %s runs %d servers, room for 10", a, k)
		}
	}
	if total != n {
		t.Errorf("running tasks = %d, want %d", total, n)
	}
	waitUntil(t, "no offer held", func() bool { return c.OutstandingOffers() == 0 })
	var stop sync.WaitGroup
	for hd := range handles {
		stop.Add(1)
		go func() {
			defer stop.Done()
			if err := h.Stop(context.Background(), hd, 100*time.Millisecond); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}()
	}
	stop.Wait()
}

// TestFirstComeFirstServed: with room for one server, the one asked for
// first gets it; the next waits and gets the room once it is free.
func TestFirstComeFirstServed(t *testing.T) {
	c := cluster(t, 1, "cpus:1;mem:1024;ports:[31000-31019]", withSleeper)
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 1024}
	})
	first, err := startCtx(t, h, "first", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := startCtx(t, h, "second", 20*time.Second)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("second started while the only room was taken (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := h.Stop(context.Background(), first.Handle, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second after the first stopped: %v", err)
	}
}

// TestHubRestartMidLaunch: the hub dies after one server was launched and
// recorded, and while another was launched but not yet recorded. The
// next hub recovers the first without starting it again and kills the
// second, which nobody knows.
func TestHubRestartMidLaunch(t *testing.T) {
	c := cluster(t, 2, "cpus:4;mem:8192;ports:[31000-31099]", withSleeper)
	db := newHubDB()
	spec := func(o *mesos.Options) { o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512} }
	h1 := newHub(t, c, db, spec)
	kept, err := startCtx(t, h1, "kept", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := startCtx(t, h1.Backend, "orphan", 20*time.Second) // launched, never recorded
	if err != nil {
		t.Fatal(err)
	}
	h1.Close()
	fwID, _ := db.Get(context.Background())

	h2 := newHub(t, c, db, spec)
	if err := h2.Recover(context.Background(), kept.Handle); err != nil {
		t.Fatalf("Recover of the recorded server: %v", err)
	}
	waitUntil(t, "the unknown task to be killed", func() bool { return agentOf(c, orphan.Handle.ID).ID == "" })
	if got, _ := db.Get(context.Background()); got != fwID {
		t.Errorf("framework id after restart = %q, want %q (failover, not a new framework)", got, fwID)
	}
	n := 0
	for _, tv := range c.Tasks() {
		if tv.Labels["sparkhub.user"] == "kept" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("tasks of the recovered user = %d, want 1", n)
	}
	if tv := agentOf(c, kept.Handle.ID); tv.State != "TASK_RUNNING" {
		t.Errorf("recovered task state = %q, want TASK_RUNNING", tv.State)
	}
}

// TestLeaderChange: the leading master goes away mid-stream; the
// framework follows the standby's 307 to the new leader, keeps its id and
// its running server, and starts new ones there.
func TestLeaderChange(t *testing.T) {
	c := cluster(t, 2, "cpus:4;mem:8192;ports:[31000-31099]", func(o *mesostest.Options) {
		withSleeper(o)
		o.Masters = 2
	})
	db := newHubDB()
	h := newHub(t, c, db, func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512}
		o.Master = c.URL(0) // only the first: the rest is found by 307
	})
	a, err := startCtx(t, h, "before", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLeader(1)
	b, err := startCtx(t, h, "after", 20*time.Second)
	if err != nil {
		t.Fatalf("Start after the leader changed: %v", err)
	}
	if st, err := h.Status(context.Background(), a.Handle); err != nil || !st.Running {
		t.Errorf("server started before the change: %+v, %v; want running", st, err)
	}
	if got := c.Stats().Subscribes; got < 2 {
		t.Errorf("subscriptions = %d, want a resubscription", got)
	}
	if fws := c.Frameworks(); len(fws) != 1 {
		t.Errorf("frameworks = %v, want one", fws)
	}
	h.Stop(context.Background(), b.Handle, time.Second)
}

// TestAgentLost: the agent running a server is lost: the server ends with
// a reason that says so.
func TestAgentLost(t *testing.T) {
	c := cluster(t, 2, "cpus:4;mem:8192;ports:[31000-31099]", withSleeper)
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) { o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512} })
	st, err := startCtx(t, h, "alice", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	exited := h.Wait(context.Background(), st.Handle)
	agent := agentOf(c, st.Handle.ID).Agent
	for i, id := range c.Agents() {
		if id == agent {
			if err := c.RemoveAgent(i); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not end when the agent was lost")
	}
	s, err := h.Status(context.Background(), st.Handle)
	if err != nil || s.Running || !strings.Contains(s.Reason, "was lost") {
		t.Errorf("Status = %+v, %v; want stopped, the machine was lost", s, err)
	}
}

// TestNothingFits: no agent is big enough: after the start timeout the
// user is told what was missing.
func TestNothingFits(t *testing.T) {
	c := cluster(t, 3, "cpus:8;mem:16384;disk:1000;ports:[31000-31099]", withSleeper)
	tests := []struct {
		name string
		spec spawner.Spec
		want string
	}{
		{"memory", spawner.Spec{Image: sleeper, CPUs: 1, Mem: 65536}, "No machine in the cluster has 64 GiB of memory free; pick a smaller profile or try again later."},
		{"cpus", spawner.Spec{Image: sleeper, CPUs: 32, Mem: 1024}, "No machine in the cluster has 32 CPUs free; pick a smaller profile or try again later."},
		{"constraints", spawner.Spec{Image: sleeper, CPUs: 1, Mem: 1024, Constraints: []spawner.Constraint{{Field: "rack", Operator: "CLUSTER", Value: "r9"}}},
			"No machine in the cluster matches where this profile may run (rack CLUSTER r9); try again later."},
		{"memory for a role", spawner.Spec{Image: sleeper, CPUs: 1, Mem: 65536, Role: "analytics"},
			`No machine for role "analytics" has 64 GiB of memory free; pick a smaller profile or try again later.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
				o.Defaults = tt.spec
				o.Roles = []string{tt.spec.Role}
			})
			_, err := startCtx(t, h, "big", 1500*time.Millisecond)
			var f *spawner.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Start = %v, want a Failure", err)
			}
			if f.Message != tt.want {
				t.Errorf("message = %q\nwant      %q", f.Message, tt.want)
			}
			h.Close()
		})
	}
	if n := len(c.Tasks()); n != 0 {
		t.Errorf("tasks = %d, want none", n)
	}
}

// TestConstraintsHonoured: hostname UNIQUE with rack LIKE r1 puts two
// servers on the two r1 agents and refuses a third.
func TestConstraintsHonoured(t *testing.T) {
	attrs := []string{"rack:r1;zone:a", "rack:r1;zone:b", "rack:r2;zone:a"}
	c := cluster(t, 3, "cpus:8;mem:16384;ports:[31000-31099]", func(o *mesostest.Options) {
		withSleeper(o)
		for i := range o.Agents {
			a, err := mesostest.ParseAttributes(attrs[i])
			if err != nil {
				t.Fatal(err)
			}
			o.Agents[i].Attributes = a
		}
	})
	cs := []spawner.Constraint{{Field: "hostname", Operator: "UNIQUE"}, {Field: "rack", Operator: "LIKE", Value: "r1"}}
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512, Constraints: cs}
	})
	hosts := map[string]bool{}
	for _, u := range []string{"u1", "u2"} {
		st, err := startCtx(t, h, u, 20*time.Second)
		if err != nil {
			t.Fatalf("Start %s: %v", u, err)
		}
		hosts[agentOf(c, st.Handle.ID).Hostname] = true
	}
	if !hosts["agent1"] || !hosts["agent2"] {
		t.Errorf("servers on %v, want agent1 and agent2 (rack r1, one each)", hosts)
	}
	if _, err := startCtx(t, h, "u3", time.Second); err == nil {
		t.Errorf("a third server started; no r1 agent is free of the group")
	}
}

// TestRedirectKeepsAuth: pointed at a standby of a cluster that
// authenticates frameworks, the framework follows the 307 with its Basic
// credential, and the secret appears in no log line.
func TestRedirectKeepsAuth(t *testing.T) {
	const secret = "s3cret-do-not-log"
	c := cluster(t, 1, "cpus:4;mem:8192;ports:[31000-31099]", func(o *mesostest.Options) {
		withSleeper(o)
		o.Masters = 2
		o.Credentials = map[string]string{"hub": secret}
	})
	var logs strings.Builder
	var mu sync.Mutex
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512}
		o.Master = c.URL(1)
		o.Principal, o.Secret = "hub", secret
		o.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	st, err := startCtx(t, h, "alice", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(context.Background(), st.Handle, time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the secret is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "subscribed") {
		t.Errorf("log = %q, want the subscription", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestProfileRoles: profiles run under their Mesos roles. An agent
// reserved for "analytics" takes only analytics servers; the default
// profile's servers never land there, even when nothing else has room; a
// profile whose role has no resources waits, saying which role it waits
// for, until an agent for that role comes.
func TestProfileRoles(t *testing.T) {
	mustRes := func(s string) mesostest.Resources {
		r, err := mesostest.ParseResources(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	c := cluster(t, 0, "cpus:1", func(o *mesostest.Options) {
		withSleeper(o)
		o.Agents = []mesostest.AgentConfig{
			{Hostname: "reserved", Reserved: map[string]mesostest.Resources{"analytics": mustRes("cpus:4;mem:4096;ports:[31000-31049]")}},
			{Hostname: "shared", Resources: mustRes("cpus:1;mem:1024;ports:[31100-31149]")},
		}
	})
	db := newHubDB()
	h := newHub(t, c, db, func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 1024}
		o.Roles = []string{"analytics", "ml"}
		o.StillWaiting = 50 * time.Millisecond
	})
	var mu sync.Mutex
	progress := map[string][]string{}
	start := func(user, profile string, d time.Duration) (spawner.Started, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		req := startReq(user)
		// The profiles "analytics" and "ml" run under their roles, as
		// the manager resolves them; the default under the framework's.
		req.Profile, req.Spec = profile, spawner.Spec{Role: profile}
		req.Progress = func(m string) {
			mu.Lock()
			defer mu.Unlock()
			progress[user] = append(progress[user], m)
		}
		return h.Start(ctx, req)
	}
	// placed checks where a task runs and that every resource it was
	// launched with is allocated to role.
	placed := func(st spawner.Started, host, role string) {
		t.Helper()
		tv := agentOf(c, st.Handle.ID)
		if tv.Hostname != host || tv.Role != role {
			t.Errorf("task on %q allocated to %q, want on %q allocated to %q", tv.Hostname, tv.Role, host, role)
		}
		for _, r := range tv.Resources {
			if r.AllocationInfo == nil || r.AllocationInfo.Role != role {
				t.Errorf("launched with %s allocated to %+v, want %q", r.Name, r.AllocationInfo, role)
			}
		}
	}

	d1, err := start("d1", "", 20*time.Second)
	if err != nil {
		t.Fatalf("default profile: %v", err)
	}
	placed(d1, "shared", "*")

	// The shared agent is full; the reserved one is not for the default
	// profile.
	_, err = start("d2", "", 1500*time.Millisecond)
	var f *spawner.Failure
	if !errors.As(err, &f) || f.Message != "No machine in the cluster has room for your server right now; try again later." {
		t.Errorf("second default server: %v, want a Failure: no room", err)
	}

	a1, err := start("a1", "analytics", 20*time.Second)
	if err != nil {
		t.Fatalf("analytics profile: %v", err)
	}
	placed(a1, "reserved", "analytics")
	reserved := false
	for _, r := range agentOf(c, a1.Handle.ID).Resources {
		reserved = reserved || r.Role == "analytics"
	}
	if !reserved {
		t.Errorf("analytics server launched without the reserved resources it was offered")
	}
	mu.Lock()
	if got, want := progress["a1"][0], `Waiting for a machine for role "analytics" with 1 CPUs and 1 GiB free`; got != want {
		t.Errorf("first progress = %q, want %q", got, want)
	}
	mu.Unlock()

	// No agent has anything for "ml": the server waits and says so.
	type result struct {
		st  spawner.Started
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := start("m1", "ml", 30*time.Second)
		done <- result{st, err}
	}()
	const still = `Still waiting: no machine for role "ml" has room for your server right now`
	waitUntil(t, "progress naming the role", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(progress["m1"], still)
	})
	fwID, _ := db.Get(context.Background())
	if got := c.SuppressedRoles(fwID); !slices.Equal(got, []string{"*", "analytics"}) {
		t.Errorf("suppressed roles while ml waits = %v, want [* analytics]", got)
	}
	if _, err := c.AddAgent(mesostest.AgentConfig{Hostname: "ml", Reserved: map[string]mesostest.Resources{"ml": mustRes("cpus:2;mem:2048;ports:[31200-31249]")}}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("ml profile once an agent for it came: %v (progress %q)", r.err, progress["m1"])
	}
	placed(r.st, "ml", "ml")
	waitUntil(t, "every role suppressed", func() bool {
		return slices.Equal(c.SuppressedRoles(fwID), []string{"*", "analytics", "ml"})
	})
	for _, tv := range c.Tasks() {
		if tv.Labels["sparkhub.user"] == "d2" {
			t.Errorf("the default server that found no room runs on %s", tv.Hostname)
		}
	}
}

// TestRun: the framework is subscribed only while Run runs. A server
// asked for before waits, and is told the cluster cannot be reached when
// its time is up; one asked for while Run runs starts. When Run's
// context ends Run returns, hanging up without tearing the framework
// down: its task keeps running for the next hub, and what needs the
// master fails at once.
func TestRun(t *testing.T) {
	c := cluster(t, 1, "cpus:4;mem:8192;ports:[31000-31099]", withSleeper)
	db := newHubDB()
	b, err := mesos.New(mesos.Options{
		Master: c.URLs(), Defaults: spawner.Spec{Image: sleeper, CPUs: 1, Mem: 512},
		IDs: db, MinBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.SetKnown(db)
	_, err = startCtx(t, b, "early", 300*time.Millisecond)
	if f := (*spawner.Failure)(nil); !errors.As(err, &f) || !strings.Contains(f.Message, "cannot be reached") {
		t.Fatalf("Start before Run = %v, want a failure saying the cluster cannot be reached", err)
	}
	if fws := c.Frameworks(); len(fws) != 0 {
		t.Fatalf("frameworks %v before Run, want none", fws)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	st, err := startCtx(t, b, "alice", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err == nil {
		t.Error("a second Run = nil, want an error")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	fwID, _ := db.Get(context.Background())
	waitUntil(t, "the framework to hang up", func() bool { return !c.Connected(fwID) })
	if !slices.Contains(c.Frameworks(), fwID) || agentOf(c, st.Handle.ID).State != "TASK_RUNNING" {
		t.Errorf("after Run: frameworks %v, task %+v; want %s kept and its task running", c.Frameworks(), agentOf(c, st.Handle.ID), fwID)
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelStop()
	if err := b.Stop(stopCtx, st.Handle, time.Second); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Stop after Run = %v, want an error saying the framework is closed", err)
	}
}

// TestShufflePortOnTheWire: on the emulated cluster, an agent that
// offers the shuffle service's port besides just enough ports for one
// server runs that server on the others; the master checks the task's
// ports against the agent's resources. An agent whose only spare port
// set needs 7337 starts nothing.
func TestShufflePortOnTheWire(t *testing.T) {
	c := cluster(t, 1, fmt.Sprintf("cpus:4;mem:8192;ports:[7337-7337,31000-%d]", 31000+4*mesos.DefaultSparkApps), withSleeper)
	h := newHub(t, c, newHubDB(), func(o *mesos.Options) {
		o.Defaults = spawner.Spec{Image: sleeper, CPUs: 1, Mem: 1024}
		o.KeepPorts = []uint64{7337}
	})
	if _, err := startCtx(t, h, "alice", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tv := range c.Tasks() {
		for _, r := range tv.Resources {
			if r.Ranges == nil {
				continue
			}
			for _, rg := range r.Ranges.Range {
				if rg.Begin <= 7337 && 7337 <= rg.End {
					t.Errorf("task %s holds ports %d-%d, with the shuffle service's", tv.ID, rg.Begin, rg.End)
				}
			}
		}
	}
	// Only 7337 is left: bob waits (his start times out), never on it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := h.Start(ctx, startReq("bob")); err == nil {
		t.Errorf("bob's server started with only the shuffle service's port free")
	}
}
