package mesos

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

func TestConstraintAllows(t *testing.T) {
	rack := func(host, r string) Placement {
		return Placement{Hostname: host, Attributes: []wire.Attribute{{Name: "rack", Type: "TEXT", Text: &wire.Text{Value: r}}}}
	}
	a1, a2, b1 := rack("h1", "a"), rack("h2", "a"), rack("h3", "b")
	tests := []struct {
		c     string
		agent Placement
		group []Placement
		want  bool
	}{
		{"hostname:UNIQUE", a1, nil, true},
		{"hostname:UNIQUE", a1, []Placement{a1}, false},
		{"rack:CLUSTER:a", b1, nil, false},
		{"rack:CLUSTER", b1, []Placement{a2}, false},
		{"rack:CLUSTER", a1, []Placement{a2}, true},
		{"rack:LIKE:a|c", a1, nil, true},
		{"rack:UNLIKE:a", a1, nil, false},
		{"zone:UNLIKE:x", a1, nil, true}, // a missing attribute passes UNLIKE only
		{"zone:LIKE:.*", a1, nil, false},
		{"rack:MAX_PER:2", a1, []Placement{a2}, true},
		{"rack:MAX_PER:2", a1, []Placement{a2, a1}, false},
		{"rack:GROUP_BY", a1, []Placement{a2}, true},
		{"rack:GROUP_BY:2", a1, []Placement{a2}, false},
		{"rack:GROUP_BY:2", b1, []Placement{a2}, true},
	}
	for _, tt := range tests {
		// As images.ParseConstraints gives them: field:OPERATOR[:value].
		parts := strings.SplitN(tt.c, ":", 3)
		c := spawner.Constraint{Field: parts[0], Operator: parts[1]}
		if len(parts) == 3 {
			c.Value = parts[2]
		}
		rules, err := compile([]spawner.Constraint{c})
		if err != nil {
			t.Fatalf("%s: %v", tt.c, err)
		}
		if got := rules[0].allows(tt.agent, tt.group); got != tt.want {
			t.Errorf("%s on %s with %d placed = %v, want %v", tt.c, tt.agent.Hostname, len(tt.group), got, tt.want)
		}
	}
	if _, err := compile([]spawner.Constraint{{Field: "rack", Operator: "LIKE", Value: "("}}); err == nil {
		t.Error("compile of a regular expression that does not compile = nil error")
	}
	if rules, err := compile(nil); err != nil || len(rules) != 0 {
		t.Errorf("compile(nil) = %v, %v; want no rules", rules, err)
	}
}

func TestZooKeeperLeader(t *testing.T) {
	node, ok := leaderNode([]string{"log_replicas", "json.info_0000000043", "info_0000000001", "json.info_0000000042", "json.info_x"})
	if !ok || node != "json.info_0000000042" {
		t.Errorf("leaderNode = %q, %v; want json.info_0000000042", node, ok)
	}
	tests := []struct{ data, want string }{
		{`{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"hostname":"m1","id":"x","ip":16777226,"port":5050}`, "http://10.0.0.1:5050"},
		{`{"hostname":"m2","port":5051}`, "http://m2:5051"},
		{`{"ip":16777226,"port":5050}`, "http://10.0.0.1:5050"},
	}
	for _, tt := range tests {
		if got, err := masterURL([]byte(tt.data)); err != nil || got != tt.want {
			t.Errorf("masterURL(%s) = %q, %v; want %q", tt.data, got, err, tt.want)
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		st   wire.TaskStatus
		want string
	}{
		{wire.TaskStatus{State: "TASK_FAILED", Message: "Command exited with status 1"}, "it failed (command exited with status 1)"},
		{wire.TaskStatus{State: "TASK_FAILED", Reason: "REASON_CONTAINER_LIMITATION_MEMORY"}, "it ran out of memory"},
		{wire.TaskStatus{State: "TASK_UNREACHABLE", Reason: "REASON_AGENT_REMOVED"}, "the machine running it (a1) was lost"},
		{wire.TaskStatus{State: "TASK_KILLED"}, "it was stopped"},
	}
	for _, tt := range tests {
		if got := reason(tt.st, "a1"); got != tt.want {
			t.Errorf("reason(%+v) = %q, want %q", tt.st, got, tt.want)
		}
	}
}

// analyticsOffer holds, allocated to "analytics": unreserved cpus, mem
// and ports, and cpus, mem and ports statically reserved for analytics,
// and mem dynamically reserved for it by principal p.
func analyticsOffer() wire.Offer {
	alloc := &wire.AllocationInfo{Role: "analytics"}
	sc := func(name string, v float64, role string, resv *wire.ReservationInfo) wire.Resource {
		return wire.Resource{Name: name, Type: "SCALAR", Scalar: &wire.Scalar{Value: wire.Number(v)}, Role: role, Reservation: resv, AllocationInfo: alloc}
	}
	pr := func(b, e uint64, role string) wire.Resource {
		return wire.Resource{Name: "ports", Type: "RANGES", Ranges: &wire.Ranges{Range: []wire.Range{{Begin: b, End: e}}}, Role: role, AllocationInfo: alloc}
	}
	dyn := &wire.ReservationInfo{Principal: "p"}
	return wire.Offer{
		ID: wire.ID{Value: "o1"}, AgentID: wire.ID{Value: "a1"}, Hostname: "h1", AllocationInfo: alloc,
		Resources: []wire.Resource{
			sc("cpus", 2, "*", nil), sc("mem", 1024, "*", nil), pr(31000, 31009, "*"),
			sc("cpus", 4, "analytics", nil), sc("mem", 2048, "analytics", nil), pr(31100, 31102, "analytics"),
			sc("mem", 512, "analytics", dyn),
		},
	}
}

func TestReadOffer(t *testing.T) {
	o := analyticsOffer()
	x := readOffer(o, "*")
	if x.role != "analytics" {
		t.Errorf("role = %q, want analytics", x.role)
	}
	if len(x.parts) != 3 || !x.parts[0].reserved() || !x.parts[1].reserved() || x.parts[2].reserved() {
		t.Fatalf("parts = %+v, want two reserved (static, dynamic) then the unreserved", x.parts)
	}
	if got := x.total(); got.CPUs != 6 || got.Mem != 3584 || got.NumPorts() != 13 {
		t.Errorf("total = %s", got)
	}

	// An offer that says no role is the default role's; a resource
	// allocated elsewhere is not the offer's.
	o.AllocationInfo = nil
	for i := range o.Resources {
		o.Resources[i].AllocationInfo = nil
	}
	o.Resources = append(o.Resources, wire.Resource{Name: "cpus", Type: "SCALAR", Scalar: &wire.Scalar{Value: 8}, AllocationInfo: &wire.AllocationInfo{Role: "other"}})
	if x := readOffer(o, "*"); x.role != "*" || x.total().CPUs != 6 {
		t.Errorf("offer without allocation: role %q, total %s; want *, cpus 6", x.role, x.total())
	}
}

// TestTakeFromOffer: a server takes the reserved resources first, then
// unreserved ones, and names each as offered, allocated to the offer's
// role.
func TestTakeFromOffer(t *testing.T) {
	x := readOffer(analyticsOffer(), "*")
	use, rest, ports, ok := x.take(wire.Resources{CPUs: 5, Mem: 2600}, 5)
	if !ok {
		t.Fatal("take = not ok")
	}
	if want := []uint64{31100, 31101, 31102, 31000, 31001}; !slices.Equal(ports, want) {
		t.Errorf("ports = %v, want %v (reserved first)", ports, want)
	}
	type key struct{ name, role, principal string }
	got := map[key]float64{}
	for _, r := range use.wire() {
		if r.AllocationInfo == nil || r.AllocationInfo.Role != "analytics" {
			t.Errorf("%s: allocation %+v, want analytics", r.Name, r.AllocationInfo)
		}
		k := key{r.Name, r.Role, ""}
		if r.Reservation != nil {
			k.principal = r.Reservation.Principal
		}
		switch {
		case r.Scalar != nil:
			got[k] += float64(r.Scalar.Value)
		case r.Ranges != nil:
			got[k] += float64(wire.Resources{Ports: r.Ranges.Range}.NumPorts())
		}
	}
	want := map[key]float64{
		{"cpus", "analytics", ""}:  4,
		{"mem", "analytics", ""}:   2048,
		{"ports", "analytics", ""}: 3,
		{"mem", "analytics", "p"}:  512,
		{"cpus", "*", ""}:          1,
		{"mem", "*", ""}:           40,
		{"ports", "*", ""}:         2,
	}
	if len(got) != len(want) {
		t.Errorf("task resources = %v\nwant %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v = %v, want %v", k, got[k], v)
		}
	}
	if r := rest.total(); r.CPUs != 1 || r.Mem != 984 || r.NumPorts() != 8 || rest.role != "analytics" {
		t.Errorf("rest = %s (%s), want cpus 1, mem 984, 8 ports", r, rest.role)
	}
	if _, _, _, ok := x.take(wire.Resources{CPUs: 7}, 5); ok {
		t.Error("took 7 CPUs from an offer of 6")
	}
	if _, _, _, ok := x.take(wire.Resources{CPUs: 1}, 14); ok {
		t.Error("took 14 ports from an offer of 13")
	}
}

// TestOffersByRole: a waiting server is launched only from an offer
// allocated to its role, with resources allocated to that role; an offer
// of a role nobody waits for is declined.
func TestOffersByRole(t *testing.T) {
	star := wire.Offer{ID: wire.ID{Value: "o2"}, AgentID: wire.ID{Value: "a2"}, Hostname: "h2", AllocationInfo: &wire.AllocationInfo{Role: "*"},
		Resources: wire.Resources{CPUs: 8, Mem: 8192, Ports: []wire.Range{{Begin: 32000, End: 32099}}}.Wire("*", "*")}
	tests := []struct {
		name       string
		roles      []string // of the waiting servers, in order
		offers     []wire.Offer
		wantAccept map[string]string // offer → role of the task launched from it
		wantLeft   []string          // roles still waiting
	}{
		{"each to its own", []string{"*", "analytics"}, []wire.Offer{analyticsOffer(), star}, map[string]string{"o1": "analytics", "o2": "*"}, nil},
		{"each to its own, the other order", []string{"analytics", "*"}, []wire.Offer{star, analyticsOffer()}, map[string]string{"o1": "analytics", "o2": "*"}, nil},
		{"not from another role", []string{"*"}, []wire.Offer{analyticsOffer()}, map[string]string{}, []string{"*"}},
		{"nor the other way", []string{"analytics"}, []wire.Offer{star}, map[string]string{}, []string{"analytics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, recorded := recordingMaster(t)
			b := &Backend{
				opts:  Options{Role: "*", Network: "HOST", Containerizer: "DOCKER", KillGrace: time.Second, RefuseSeconds: 60},
				roles: []string{"*", "analytics"}, log: slog.New(slog.DiscardHandler), calls: srv.Client(),
				master: srv.URL, streamID: "s", fwID: "f", tasks: map[string]*task{}, groups: map[string][]Placement{},
				suppressed: map[string]bool{}, revive: map[string]bool{},
			}
			for i, role := range tt.roles {
				b.queue = append(b.queue, &launch{
					id: "t" + strconv.Itoa(i), user: "u", req: spawner.StartRequest{User: "u"},
					spec: spawner.Spec{Image: "img", CPUs: 1, Mem: 512, Role: role}, need: wire.Resources{CPUs: 1, Mem: 512},
					placed: make(chan *task, 1), requeue: make(chan struct{}, 1),
				})
			}
			b.offers(context.Background(), tt.offers)
			accepted := map[string]string{}
			for _, c := range recorded() {
				switch c.Type {
				case "ACCEPT":
					ti := c.Accept.Operations[0].Launch.TaskInfos[0]
					role := ""
					for _, r := range ti.Resources {
						if r.AllocationInfo == nil || (role != "" && r.AllocationInfo.Role != role) {
							t.Fatalf("task resources %+v: want all allocated to one role", ti.Resources)
						}
						role = r.AllocationInfo.Role
					}
					accepted[c.Accept.OfferIDs[0].Value] = role
				case "DECLINE":
					for _, id := range c.Decline.OfferIDs {
						if _, ok := tt.wantAccept[id.Value]; ok {
							t.Errorf("declined %s, want it accepted", id.Value)
						}
					}
				}
			}
			if !reflect.DeepEqual(accepted, tt.wantAccept) {
				t.Errorf("accepted %v, want %v", accepted, tt.wantAccept)
			}
			var left []string
			for _, l := range b.queue {
				left = append(left, l.spec.Role)
				if l.seen != 0 {
					t.Errorf("a server of role %q counted %d offers of another role", l.spec.Role, l.seen)
				}
			}
			if !reflect.DeepEqual(left, tt.wantLeft) {
				t.Errorf("still waiting %v, want %v", left, tt.wantLeft)
			}
		})
	}
}

// A DECLINE decided before a server was asked for reaches the master
// before the REVIVE sent for that server: otherwise its refuse filter,
// installed after the REVIVE cleared the filters, keeps the server
// waiting for RefuseSeconds.
func TestDeclineBeforeRevive(t *testing.T) {
	var mu sync.Mutex
	declining, revivedDuringDecline, revived := false, false, false
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c wire.Call
		json.NewDecoder(r.Body).Decode(&c)
		switch c.Type {
		case "DECLINE":
			mu.Lock()
			declining = true
			mu.Unlock()
			<-release
			mu.Lock()
			declining = false
			mu.Unlock()
		case "REVIVE":
			mu.Lock()
			revived, revivedDuringDecline = true, revivedDuringDecline || declining
			mu.Unlock()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	b := &Backend{
		opts:  Options{Role: "*", Network: "HOST", Containerizer: "DOCKER", KillGrace: time.Second, RefuseSeconds: 60},
		roles: []string{"*"}, log: slog.New(slog.DiscardHandler), calls: srv.Client(),
		master: srv.URL, streamID: "s", fwID: "f", tasks: map[string]*task{}, groups: map[string][]Placement{},
		suppressed: map[string]bool{"*": true}, revive: map[string]bool{},
	}
	star := wire.Offer{ID: wire.ID{Value: "o"}, AgentID: wire.ID{Value: "a"}, Hostname: "h", AllocationInfo: &wire.AllocationInfo{Role: "*"},
		Resources: wire.Resources{CPUs: 8, Mem: 8192, Ports: []wire.Range{{Begin: 32000, End: 32099}}}.Wire("*", "*")}
	offered := make(chan struct{})
	go func() {
		b.offers(context.Background(), []wire.Offer{star}) // nobody waits: declined
		close(offered)
	}()
	for { // the DECLINE is on its way
		mu.Lock()
		d := declining
		mu.Unlock()
		if d {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.mu.Lock() // a server is asked for meanwhile
	b.queue = append(b.queue, &launch{id: "t", user: "u", req: spawner.StartRequest{User: "u"},
		spec: spawner.Spec{Image: "img", CPUs: 1, Mem: 512, Role: "*"}, need: wire.Resources{CPUs: 1, Mem: 512},
		placed: make(chan *task, 1), requeue: make(chan struct{}, 1)})
	b.revive["*"] = true
	b.mu.Unlock()
	maintained := make(chan struct{})
	go func() {
		b.maintain(context.Background())
		close(maintained)
	}()
	time.Sleep(50 * time.Millisecond) // time for a REVIVE to overtake
	close(release)
	<-offered
	<-maintained
	mu.Lock()
	defer mu.Unlock()
	if !revived {
		t.Fatal("no REVIVE for the waiting server")
	}
	if revivedDuringDecline {
		t.Fatal("REVIVE sent while the earlier DECLINE was still on its way")
	}
}

// TestStartRefusesAToken: a start carrying the server's token is refused
// before anything is queued, since its task's definition would show it;
// the manager gives Mesos a bootstrap credential instead.
func TestStartRefusesAToken(t *testing.T) {
	b, err := New(Options{Master: "http://127.0.0.1:1", Defaults: spawner.Spec{Image: "i"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Start(context.Background(), spawner.StartRequest{User: "alice", BaseURL: "/user/alice/", Token: "secret"})
	var f *spawner.Failure
	if !errors.As(err, &f) || strings.Contains(f.Error(), "secret") {
		t.Fatalf("Start with a token = %v, want a Failure that does not repeat it", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) != 0 {
		t.Errorf("%d servers queued, want none", len(b.queue))
	}
}

// recordingMaster is a master that accepts every call and returns them
// so far.
func recordingMaster(t *testing.T) (*httptest.Server, func() []wire.Call) {
	var mu sync.Mutex
	var calls []wire.Call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c wire.Call
		json.NewDecoder(r.Body).Decode(&c)
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []wire.Call {
		mu.Lock()
		defer mu.Unlock()
		return append([]wire.Call(nil), calls...)
	}
}

// launchOne has a backend with opts answer offers for one waiting
// server of image and returns the tasks it launched, with the offers it
// accepted.
func launchOne(t *testing.T, opts Options, image string, offers ...wire.Offer) ([]wire.TaskInfo, []string) {
	t.Helper()
	srv, recorded := recordingMaster(t)
	opts.Role, opts.KillGrace, opts.RefuseSeconds, opts.SparkApps = "*", time.Second, 60, DefaultSparkApps
	if opts.Command == "" {
		opts.Command = "jupyter-notebook"
	}
	b := &Backend{
		opts: opts, roles: []string{"*"}, log: slog.New(slog.DiscardHandler), calls: srv.Client(),
		master: srv.URL, streamID: "s", fwID: "f", tasks: map[string]*task{}, groups: map[string][]Placement{},
		suppressed: map[string]bool{}, revive: map[string]bool{},
	}
	b.queue = append(b.queue, &launch{
		id: "t0", user: "u", req: spawner.StartRequest{User: "u"},
		spec: spawner.Spec{Image: image, CPUs: 1, Mem: 512, Role: "*"}, need: wire.Resources{CPUs: 1, Mem: 512},
		placed: make(chan *task, 1), requeue: make(chan struct{}, 1),
	})
	for _, o := range offers {
		b.offers(context.Background(), []wire.Offer{o})
	}
	var launched []wire.TaskInfo
	var accepted []string
	for _, c := range recorded() {
		if c.Type == "ACCEPT" {
			accepted = append(accepted, c.Accept.OfferIDs[0].Value)
			launched = append(launched, c.Accept.Operations[0].Launch.TaskInfos...)
		}
	}
	return launched, accepted
}

func portsOffer(id string, begin, end uint64) wire.Offer {
	return wire.Offer{ID: wire.ID{Value: id}, AgentID: wire.ID{Value: "a-" + id}, Hostname: "h-" + id, AllocationInfo: &wire.AllocationInfo{Role: "*"},
		Resources: wire.Resources{CPUs: 8, Mem: 8192, Ports: []wire.Range{{Begin: begin, End: end}}}.Wire("*", "*")}
}

// TestTaskKeepsAgentsPorts: the agents' Spark shuffle service port is
// never a server's (it would take the port the service listens on, and
// executors with dynamic allocation could not register); the task sees
// its environment, Spark's read-only secret file and a forced pull of a
// mutable tag as the agent will.
func TestTaskKeepsAgentsPorts(t *testing.T) {
	opts := Options{Network: "HOST", Containerizer: "DOCKER", KeepPorts: []uint64{7337}, ReadOnlyFiles: []string{"/etc/sparkhub/spark-secret"}}
	// Only with 7337 would there be enough ports: declined. Then 7337 is
	// the lowest offered port, which the hub takes first.
	launched, accepted := launchOne(t, opts, "img:3.5", portsOffer("short", 7337, 7337+uint64(1+4*DefaultSparkApps)-1), portsOffer("wide", 7337, 7400))
	if !slices.Equal(accepted, []string{"wide"}) || len(launched) != 1 {
		t.Fatalf("accepted offers %v, want only the one with enough ports besides the shuffle service's", accepted)
	}
	ti := launched[0]
	for _, r := range ti.Resources {
		if r.Ranges == nil {
			continue
		}
		for _, rg := range r.Ranges.Range {
			if rg.Begin <= 7337 && 7337 <= rg.End {
				t.Errorf("the task holds ports %d-%d, with the shuffle service's 7337", rg.Begin, rg.End)
			}
		}
	}
	held := wire.Resources{}
	for _, r := range ti.Resources {
		if r.Ranges != nil {
			held.Ports = append(held.Ports, r.Ranges.Range...)
		}
	}
	for _, v := range ti.Command.Environment.Variables {
		if strings.HasSuffix(v.Name, "_PORT") && v.Value == "7337" {
			t.Errorf("%s=7337 in the task's environment", v.Name)
		}
		if v.Name != "SPARKHUB_SPARK_PORTS" {
			continue
		}
		// Each Spark application the server may run has four ports of
		// the task's own.
		sets := strings.Fields(v.Value)
		seen := map[string]bool{}
		for _, set := range sets {
			for _, p := range strings.Split(set, ",") {
				n, _ := strconv.ParseUint(p, 10, 64)
				if seen[p] || n == 7337 || !held.Contains(wire.Resources{Ports: []wire.Range{{Begin: n, End: n}}}) {
					t.Errorf("SPARKHUB_SPARK_PORTS=%q: port %s is not the task's own, or given twice", v.Value, p)
				}
				seen[p] = true
			}
		}
		if len(sets) != DefaultSparkApps || len(seen) != 4*DefaultSparkApps {
			t.Errorf("SPARKHUB_SPARK_PORTS=%q: want %d sets of 4 ports", v.Value, DefaultSparkApps)
		}
	}
	if d := ti.Container.Docker; d == nil || !d.ForcePullImage {
		t.Errorf("docker %+v: a mutable tag is pulled at every start", d)
	}
	want := []wire.Volume{{ContainerPath: "/etc/sparkhub/spark-secret", HostPath: "/etc/sparkhub/spark-secret", Mode: "RO"}}
	if !reflect.DeepEqual(ti.Container.Volumes, want) {
		t.Errorf("volumes %+v, want %+v", ti.Container.Volumes, want)
	}
}

// TestMesosContainerizerRunsTheEntrypoint: under the Mesos
// containerizer the task runs the image's entrypoint, which writes
// Spark's configuration and fetches the tokens, and it runs Jupyter;
// an image pinned by digest is not pulled again.
func TestMesosContainerizerRunsTheEntrypoint(t *testing.T) {
	image := "sparkhub/pyspark-notebook@sha256:" + strings.Repeat("ab", 32)
	launched, _ := launchOne(t, Options{Network: "HOST", Containerizer: "MESOS", Command: "jupyter-lab"}, image, portsOffer("o", 31000, 31020))
	if len(launched) != 1 {
		t.Fatalf("launched %d tasks", len(launched))
	}
	ti := launched[0]
	if ti.Command.Value == nil || *ti.Command.Value != DefaultEntrypoint || ti.Command.Arguments[0] != DefaultEntrypoint || !strings.HasPrefix(ti.Command.Arguments[1], "--") {
		t.Errorf("command %v %q, want the entrypoint with Jupyter's options", ti.Command.Value, ti.Command.Arguments)
	}
	var jupyter string
	for _, v := range ti.Command.Environment.Variables {
		if v.Name == "SPARKHUB_JUPYTER_COMMAND" {
			jupyter = v.Value
		}
	}
	if jupyter != "jupyter-lab" {
		t.Errorf("SPARKHUB_JUPYTER_COMMAND = %q, want jupyter-lab", jupyter)
	}
	if img := ti.Container.Mesos.Image; img == nil || !img.Cached {
		t.Errorf("image %+v: pinned by digest, want it cached", img)
	}
}
