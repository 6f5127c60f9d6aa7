package mesostest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

func newCluster(t *testing.T, tweak func(*mesostest.Options)) *mesostest.Cluster {
	t.Helper()
	r, _ := mesostest.ParseResources("cpus:4;mem:8192;disk:1000;ports:[31000-31099]")
	opts := mesostest.Options{
		Agents:             []mesostest.AgentConfig{{Resources: r}, {Resources: r}},
		Heartbeat:          200 * time.Millisecond,
		AllocationInterval: 20 * time.Millisecond,
		UpdateRetry:        100 * time.Millisecond,
		WorkDir:            t.TempDir(),
	}
	if tweak != nil {
		tweak(&opts)
	}
	c, err := mesostest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

const subscribeBody = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":60,"capabilities":[{"type":"PARTITION_AWARE"}]}}}`

func post(t *testing.T, url, ctype, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// The timeout also bounds reading a stream, so a test waiting for an
	// event that never comes fails instead of hanging.
	c := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sub is an open subscription.
type sub struct {
	resp   *http.Response
	rr     *wire.RecordReader
	id     string
	stream string
}

func subscribe(t *testing.T, url, body string) *sub {
	t.Helper()
	resp := post(t, url+"/api/v1/scheduler", "application/json", body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE = %d", resp.StatusCode)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &sub{resp: resp, rr: wire.NewRecordReader(resp.Body), stream: resp.Header.Get("Mesos-Stream-Id")}
	ev := s.next(t)
	if ev.Type != "SUBSCRIBED" {
		t.Fatalf("first event = %s, want SUBSCRIBED", ev.Type)
	}
	s.id = ev.Subscribed.FrameworkID.Value
	if ev := s.next(t); ev.Type != "HEARTBEAT" {
		t.Fatalf("second event = %s, want HEARTBEAT", ev.Type)
	}
	return s
}

func (s *sub) next(t *testing.T) wire.Event {
	t.Helper()
	rec, err := s.rr.Next()
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	var ev wire.Event
	if err := json.Unmarshal(rec, &ev); err != nil {
		t.Fatalf("event %s: %v", rec, err)
	}
	return ev
}

// until reads events until one of type typ.
func (s *sub) until(t *testing.T, typ string) wire.Event {
	t.Helper()
	for {
		if ev := s.next(t); ev.Type == typ {
			return ev
		}
	}
}

func TestSubscribeHeaders(t *testing.T) {
	c := newCluster(t, nil)
	resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", subscribeBody, nil)
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := resp.Header.Get("Mesos-Stream-Id"); len(got) != 36 {
		t.Errorf("Mesos-Stream-Id = %q, want a UUID", got)
	}
	if got := resp.TransferEncoding; len(got) != 1 || got[0] != "chunked" {
		t.Errorf("Transfer-Encoding = %v, want chunked", got)
	}
	// The master path answers too, and every SUBSCRIBE gets a new stream id.
	resp2 := post(t, c.URL(0)+"/master/api/v1/scheduler", "application/json", subscribeBody, nil)
	defer resp2.Body.Close()
	if resp2.StatusCode != 200 || resp2.Header.Get("Mesos-Stream-Id") == resp.Header.Get("Mesos-Stream-Id") {
		t.Errorf("second SUBSCRIBE = %d, stream id %q", resp2.StatusCode, resp2.Header.Get("Mesos-Stream-Id"))
	}
}

func TestStatusCodes(t *testing.T) {
	c := newCluster(t, func(o *mesostest.Options) { o.Masters = 2 })
	s := subscribe(t, c.URL(0), subscribeBody)
	fw := `"framework_id":{"value":"` + s.id + `"}`
	ok := map[string]string{"Mesos-Stream-Id": s.stream}
	tests := []struct {
		name, url, ctype, body string
		hdr                    map[string]string
		method                 string
		want                   int
		wantBody               string
	}{
		{"standby redirects", c.URL(1), "application/json", subscribeBody, nil, "", 307, ""},
		{"GET", c.URL(0), "application/json", "", nil, "GET", 405, ""},
		{"no content type", c.URL(0), "", subscribeBody, nil, "", 400, "Expecting 'Content-Type' to be present"},
		{"charset is refused", c.URL(0), "application/json; charset=utf-8", subscribeBody, nil, "", 415, "Expecting 'Content-Type' of application/json or application/x-protobuf"},
		{"bad JSON", c.URL(0), "application/json", "{", nil, "", 400, "Failed to parse body into JSON"},
		{"enum as a number", c.URL(0), "application/json", `{"type":1}`, nil, "", 400, "Failed to convert JSON into Call protobuf"},
		{"missing user", c.URL(0), "application/json", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}`, nil, "", 400, "Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info.user"},
		{"no type", c.URL(0), "application/json", `{"typo":"SUBSCRIBE"}`, nil, "", 400, "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{"ids differ", c.URL(0), "application/json", `{"type":"SUBSCRIBE","framework_id":{"value":"a"},"subscribe":{"framework_info":{"user":"u","name":"n"}}}`, nil, "", 400, "'framework_id' differs from 'subscribe.framework_info.id'"},
		{"subscribe with a stream id", c.URL(0), "application/json", subscribeBody, ok, "", 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"},
		{"subscribe accepting neither", c.URL(0), "application/json", subscribeBody, map[string]string{"Accept": "text/html"}, "", 406, ""},
		{"no framework id", c.URL(0), "application/json", `{"type":"REVIVE"}`, ok, "", 400, "Expecting 'framework_id' to be present"},
		{"unknown framework", c.URL(0), "application/json", `{"type":"REVIVE","framework_id":{"value":"nope"}}`, ok, "", 400, "Framework cannot be found"},
		{"no stream id", c.URL(0), "application/json", `{"type":"REVIVE",` + fw + `}`, nil, "", 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"},
		{"wrong stream id", c.URL(0), "application/json", `{"type":"REVIVE",` + fw + `}`, map[string]string{"Mesos-Stream-Id": "x"}, "", 400, "The stream ID 'x' included in this request didn't match"},
		{"missing body", c.URL(0), "application/json", `{"type":"DECLINE",` + fw + `}`, ok, "", 400, "Expecting 'decline' to be present"},
		{"ack with a short uuid", c.URL(0), "application/json", `{"type":"ACKNOWLEDGE",` + fw + `,"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAEC"}}`, ok, "", 400, "Failed to validate scheduler::Call"},
		{"decline of an unknown offer", c.URL(0), "application/json", `{"type":"DECLINE",` + fw + `,"decline":{"offer_ids":[{"value":"nope"}]}}`, ok, "", 202, ""},
		{"revive with an unknown field", c.URL(0), "application/json", `{"type":"REVIVE",` + fw + `,"revive":{"role":"x"}}`, ok, "", 202, ""},
		{"unknown", c.URL(0), "application/json", `{"type":"UNKNOWN",` + fw + `}`, ok, "", 501, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.method == "GET" {
				r, err := http.Get(tt.url + "/api/v1/scheduler")
				if err != nil {
					t.Fatal(err)
				}
				resp = r
			} else {
				resp = post(t, tt.url+"/api/v1/scheduler", tt.ctype, tt.body, tt.hdr)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if !strings.HasPrefix(string(body), tt.wantBody) && !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if tt.want == 307 {
				if got, want := resp.Header.Get("Location"), "//"+strings.TrimPrefix(c.URL(0), "http://")+"/api/v1/scheduler"; got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
			}
			if tt.want == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
		})
	}
	c.SetLeader(-1)
	resp := post(t, c.URL(1)+"/api/v1/scheduler", "application/json", subscribeBody, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.HasPrefix(string(body), "No leader elected") {
		t.Errorf("without a leader = %d %q, want 503 No leader elected", resp.StatusCode, body)
	}
}

func TestBasicAuth(t *testing.T) {
	c := newCluster(t, func(o *mesostest.Options) { o.Credentials = map[string]string{"hub": "s3cret"} })
	resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", subscribeBody, nil)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="mesos-master-scheduler"` {
		t.Errorf("without credentials = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("hub:s3cret"))
	resp = post(t, c.URL(0)+"/api/v1/scheduler", "application/json", subscribeBody, map[string]string{"Authorization": auth})
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with credentials = %d, want 200", resp.StatusCode)
	}
}

// TestFailoverAndDisconnect: a second SUBSCRIBE with the id fails the first
// stream over; closing the stream makes calls 403; after the failover
// timeout the framework is removed.
func TestFailoverAndDisconnect(t *testing.T) {
	c := newCluster(t, nil)
	s1 := subscribe(t, c.URL(0), subscribeBody)
	again := `{"type":"SUBSCRIBE","framework_id":{"value":"` + s1.id + `"},"subscribe":{"framework_info":{"id":{"value":"` + s1.id + `"},"user":"u","name":"n","failover_timeout":0.3}}}`
	s2 := subscribe(t, c.URL(0), again)
	if s2.id != s1.id {
		t.Fatalf("resubscribed as %s, want %s", s2.id, s1.id)
	}
	if ev := s1.until(t, "ERROR"); ev.Error.Message != "Framework failed over" {
		t.Errorf("old stream's error = %q", ev.Error.Message)
	}
	if _, err := s1.rr.Next(); err == nil {
		t.Errorf("old stream still open after failover")
	}
	s2.resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Connected(s1.id) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", `{"type":"REVIVE","framework_id":{"value":"`+s1.id+`"}}`, map[string]string{"Mesos-Stream-Id": s2.stream})
	resp.Body.Close()
	if resp.StatusCode != 403 && resp.StatusCode != 400 {
		t.Errorf("call while disconnected = %d, want 403 (or 400 once removed)", resp.StatusCode)
	}
	for len(c.Frameworks()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	resp = post(t, c.URL(0)+"/api/v1/scheduler", "application/json", again, nil)
	defer resp.Body.Close()
	s3 := &sub{rr: wire.NewRecordReader(resp.Body)}
	if ev := s3.next(t); ev.Type != "ERROR" || ev.Error.Message != "Framework has been removed" {
		t.Errorf("SUBSCRIBE after the failover timeout = %s %+v, want ERROR Framework has been removed", ev.Type, ev.Error)
	}
}

// TestOffersDeclineSuppressRevive: one offer per agent with all of it;
// a declined agent is not offered again while the filter lasts; SUPPRESS
// stops offers; REVIVE brings them back at once.
func TestOffersDeclineSuppressRevive(t *testing.T) {
	c := newCluster(t, nil)
	s := subscribe(t, c.URL(0), subscribeBody)
	call := func(body string) {
		t.Helper()
		resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("%s = %d", body, resp.StatusCode)
		}
	}
	fw := `"framework_id":{"value":"` + s.id + `"}`
	seen := map[string]bool{}
	var ids []string
	for len(seen) < 2 {
		ev := s.until(t, "OFFERS")
		for _, o := range ev.Offers.Offers {
			seen[o.AgentID.Value] = true
			ids = append(ids, `{"value":"`+o.ID.Value+`"}`)
			got := wire.FromWire(o.Resources)
			if got.CPUs != 4 || got.Mem != 8192 || got.NumPorts() != 50 {
				t.Errorf("offer = %s, want all of an agent with half the ports", got)
			}
		}
	}
	if p0, p1 := c.Tasks(), 0; len(p0) != p1 {
		t.Fatalf("tasks before any launch: %v", p0)
	}
	call(`{"type":"DECLINE",` + fw + `,"decline":{"offer_ids":[` + strings.Join(ids, ",") + `],"filters":{"refuse_seconds":3600}}}`)
	call(`{"type":"SUPPRESS",` + fw + `,"suppress":{}}`)
	if n := c.OutstandingOffers(); n != 0 {
		t.Errorf("outstanding offers after DECLINE = %d", n)
	}
	call(`{"type":"REVIVE",` + fw + `,"revive":{}}`)
	if ev := s.until(t, "OFFERS"); len(ev.Offers.Offers) == 0 {
		t.Errorf("REVIVE brought no offers")
	}
}

// TestLaunchAckKillReconcile: a task runs, its updates come one at a time
// and are resent until acknowledged, a KILL ends it, reconciliation
// answers without a uuid.
func TestLaunchAckKillReconcile(t *testing.T) {
	c := newCluster(t, nil)
	s := subscribe(t, c.URL(0), subscribeBody)
	fw := `"framework_id":{"value":"` + s.id + `"}`
	call := func(body string) int {
		t.Helper()
		resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
		resp.Body.Close()
		return resp.StatusCode
	}
	o := s.until(t, "OFFERS").Offers.Offers[0]
	launch := `{"type":"ACCEPT",` + fw + `,"accept":{"offer_ids":[{"value":"` + o.ID.Value + `"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
		`{"name":"t","task_id":{"value":"t1"},"agent_id":{"value":"` + o.AgentID.Value + `"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}},{"name":"mem","type":"SCALAR","scalar":{"value":64}}],"command":{"value":"sleep 60"}},` +
		`{"name":"t","task_id":{"value":"t2"},"agent_id":{"value":"` + o.AgentID.Value + `"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":100}}],"command":{"value":"true"}}` +
		`]}}]}}`
	if code := call(launch); code != 202 {
		t.Fatalf("ACCEPT = %d", code)
	}
	var errored, starting wire.TaskStatus
	for errored.TaskID.Value == "" || starting.TaskID.Value == "" {
		st := s.until(t, "UPDATE").Update.Status
		switch st.TaskID.Value {
		case "t2":
			errored = st
		case "t1":
			starting = st
		}
	}
	if errored.State != "TASK_ERROR" || errored.Reason != "REASON_TASK_INVALID" || errored.Source != "SOURCE_MASTER" || errored.UUID != nil {
		t.Errorf("too big a task: %+v, want TASK_ERROR from the master without uuid", errored)
	}
	if starting.State != "TASK_STARTING" || len(starting.UUID) != 16 || starting.Source != "SOURCE_EXECUTOR" {
		t.Errorf("first update = %+v, want TASK_STARTING with a uuid", starting)
	}
	// Not acknowledged: the same update comes again, and not the next.
	if again := s.until(t, "UPDATE").Update.Status; again.State != "TASK_STARTING" || string(again.UUID) != string(starting.UUID) {
		t.Errorf("resent update = %s, want TASK_STARTING again", again.State)
	}
	ack := func(st wire.TaskStatus) {
		t.Helper()
		u := base64.StdEncoding.EncodeToString(st.UUID)
		if code := call(`{"type":"ACKNOWLEDGE",` + fw + `,"acknowledge":{"agent_id":{"value":"` + st.AgentID.Value + `"},"task_id":{"value":"` + st.TaskID.Value + `"},"uuid":"` + u + `"}}`); code != 202 {
			t.Fatalf("ACKNOWLEDGE = %d", code)
		}
	}
	ack(starting)
	var running wire.TaskStatus
	for running.State != "TASK_RUNNING" {
		running = s.until(t, "UPDATE").Update.Status
	}
	ack(running)
	call(`{"type":"RECONCILE",` + fw + `,"reconcile":{"tasks":[{"task_id":{"value":"t1"}},{"task_id":{"value":"ghost"},"agent_id":{"value":"` + o.AgentID.Value + `"}}]}}`)
	got := map[string]wire.TaskStatus{}
	for len(got) < 2 {
		st := s.until(t, "UPDATE").Update.Status
		if st.Reason == "REASON_RECONCILIATION" {
			got[st.TaskID.Value] = st
		}
	}
	if st := got["t1"]; st.State != "TASK_RUNNING" || st.UUID != nil || st.Source != "SOURCE_MASTER" {
		t.Errorf("reconcile t1 = %+v", st)
	}
	if st := got["ghost"]; st.State != "TASK_GONE" || st.Message != "Reconciliation: Task is unknown to the agent" {
		t.Errorf("reconcile ghost = %+v, want TASK_GONE (partition aware)", st)
	}
	call(`{"type":"KILL",` + fw + `,"kill":{"task_id":{"value":"t1"},"kill_policy":{"grace_period":{"nanoseconds":100000000}}}}`)
	var end wire.TaskStatus
	for !wire.Terminal(end.State) {
		end = s.until(t, "UPDATE").Update.Status
	}
	if end.State != "TASK_KILLED" {
		t.Errorf("after KILL = %s %q, want TASK_KILLED", end.State, end.Message)
	}
	ack(end)
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Tasks()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ts := c.Tasks(); len(ts) != 0 {
		t.Errorf("tasks after the terminal ack = %+v, want none", ts)
	}
}

// TestOfferTimeoutAndInvalidAccept: an offer held past the offer timeout
// is rescinded; accepting it afterwards drops the task (PARTITION_AWARE)
// with REASON_INVALID_OFFERS and no uuid.
func TestOfferTimeoutAndInvalidAccept(t *testing.T) {
	c := newCluster(t, func(o *mesostest.Options) { o.OfferTimeout = 100 * time.Millisecond })
	s := subscribe(t, c.URL(0), subscribeBody)
	o := s.until(t, "OFFERS").Offers.Offers[0]
	for {
		ev := s.until(t, "RESCIND")
		if ev.Rescind.OfferID.Value == o.ID.Value {
			break
		}
	}
	fw := `"framework_id":{"value":"` + s.id + `"}`
	body := `{"type":"ACCEPT",` + fw + `,"accept":{"offer_ids":[{"value":"` + o.ID.Value + `"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
		`{"name":"t","task_id":{"value":"late"},"agent_id":{"value":"` + o.AgentID.Value + `"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}],"command":{"value":"true"}}]}}]}}`
	resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("ACCEPT of a rescinded offer = %d, want 202", resp.StatusCode)
	}
	st := s.until(t, "UPDATE").Update.Status
	want := "Task launched with invalid offers: Offer " + o.ID.Value + " is no longer valid"
	if st.TaskID.Value != "late" || st.State != "TASK_DROPPED" || st.Reason != "REASON_INVALID_OFFERS" || st.UUID != nil || st.Message != want {
		t.Errorf("update = %+v, want TASK_DROPPED %q without uuid", st, want)
	}
}

// TestCommandTasks: shell and argv commands run as the agent would run
// them, with their environment and a sandbox; a missing executable is
// RUNNING then FAILED with status 1; an unknown image fails the launch.
func TestCommandTasks(t *testing.T) {
	c := newCluster(t, func(o *mesostest.Options) { o.Images = map[string][]string{"img": {"/bin/sh", "-c", `exit $#`, "sh"}} })
	s := subscribe(t, c.URL(0), subscribeBody)
	fw := `"framework_id":{"value":"` + s.id + `"}`
	tests := []struct {
		name, command, container string
		wantState, wantMsg       string
	}{
		{"shell", `{"value":"test -d \"$MESOS_SANDBOX\" && test \"$X\" = y && exit 3","environment":{"variables":[{"name":"X","value":"y"}]}}`, "", "TASK_FAILED", "Command exited with status 3"},
		{"argv", `{"shell":false,"value":"/bin/sh","arguments":["sh","-c","exit 0"]}`, "", "TASK_FINISHED", "Command exited with status 0"},
		{"missing executable", `{"shell":false,"value":"/no/such/thing","arguments":["x"]}`, "", "TASK_FAILED", "Command exited with status 1"},
		{"docker arguments are CMD", `{"shell":false,"arguments":["a","b"]}`, `,"container":{"type":"DOCKER","docker":{"image":"img"}}`, "TASK_FAILED", "Container exited with status 2"},
		{"unknown image", `{"shell":false}`, `,"container":{"type":"DOCKER","docker":{"image":"nope"}}`, "TASK_FAILED", "Failed to launch container: Failed to pull image 'nope': not found"},
		{"port mapping in HOST mode", `{"shell":false}`, `,"container":{"type":"DOCKER","docker":{"image":"img","port_mappings":[{"host_port":31000,"container_port":31000}]}}`, "TASK_FAILED", "Port mappings are only supported for bridge and user-defined networks"},
	}
	var offers []wire.Offer // offers held: every one is used in turn
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for len(offers) == 0 {
				offers = append(offers, s.until(t, "OFFERS").Offers.Offers...)
			}
			o := offers[0]
			offers = offers[1:]
			id := "t" + string(rune('a'+i))
			body := `{"type":"ACCEPT",` + fw + `,"accept":{"offer_ids":[{"value":"` + o.ID.Value + `"}],"filters":{"refuse_seconds":0},"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
				`{"name":"t","task_id":{"value":"` + id + `"},"agent_id":{"value":"` + o.AgentID.Value + `"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}],"command":` + tt.command + tt.container + `}]}}]}}`
			resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
			resp.Body.Close()
			var seen []string
			for {
				ev := s.next(t)
				if ev.Type == "OFFERS" {
					offers = append(offers, ev.Offers.Offers...)
				}
				if ev.Type != "UPDATE" {
					continue
				}
				st := ev.Update.Status
				if st.TaskID.Value != id {
					continue
				}
				if len(seen) == 0 || seen[len(seen)-1] != st.State {
					seen = append(seen, st.State)
				}
				u := base64.StdEncoding.EncodeToString(st.UUID)
				r := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", `{"type":"ACKNOWLEDGE",`+fw+`,"acknowledge":{"agent_id":{"value":"`+st.AgentID.Value+`"},"task_id":{"value":"`+id+`"},"uuid":"`+u+`"}}`, map[string]string{"Mesos-Stream-Id": s.stream})
				r.Body.Close()
				if wire.Terminal(st.State) {
					if st.State != tt.wantState || st.Message != tt.wantMsg {
						t.Errorf("end = %s %q, want %s %q (states %v)", st.State, st.Message, tt.wantState, tt.wantMsg, seen)
					}
					if tt.name == "missing executable" && (len(seen) != 3 || seen[1] != "TASK_RUNNING") {
						t.Errorf("states = %v, want STARTING, RUNNING, FAILED", seen)
					}
					return
				}
			}
		})
	}
}
