package mesostest_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

// multiRole subscribes a MULTI_ROLE framework with roles.
func multiRole(roles ...string) string {
	r, _ := json.Marshal(roles)
	return `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":60,"roles":` + string(r) +
		`,"capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}]}}}`
}

// reservedCluster has agent1 with unreserved resources only, and agent2
// with some unreserved and more reserved for "analytics".
func reservedCluster(t *testing.T) *mesostest.Cluster {
	t.Helper()
	shared, _ := mesostest.ParseResources("cpus:2;mem:2048;ports:[31000-31009]")
	small, _ := mesostest.ParseResources("cpus:1;mem:512;ports:[31100-31104]")
	reserved, _ := mesostest.ParseResources("cpus:4;mem:4096;ports:[31105-31109]")
	return newCluster(t, func(o *mesostest.Options) {
		o.Agents = []mesostest.AgentConfig{
			{Resources: shared},
			{Resources: small, Reserved: map[string]mesostest.Resources{"analytics": reserved}},
		}
	})
}

func TestSubscribeRoles(t *testing.T) {
	c := newCluster(t, nil)
	tests := []struct{ name, info, want string }{
		{"roles without MULTI_ROLE", `"roles":["a"]`, "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"},
		{"role with MULTI_ROLE", `"role":"a","capabilities":[{"type":"MULTI_ROLE"}]`, "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"},
		{"duplicate roles", `"roles":["a","a"],"capabilities":[{"type":"MULTI_ROLE"}]`, "'FrameworkInfo.roles' contains duplicate items"},
		{"invalid role", `"roles":["a/../b"],"capabilities":[{"type":"MULTI_ROLE"}]`, "'FrameworkInfo.roles' contains invalid role"},
		{"hierarchical role", `"roles":["eng/analytics","*"],"capabilities":[{"type":"MULTI_ROLE"}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n",`+tt.info+`}}}`, nil)
			defer resp.Body.Close()
			rec, err := wire.NewRecordReader(resp.Body).Next()
			if err != nil {
				t.Fatal(err)
			}
			var ev wire.Event
			json.Unmarshal(rec, &ev)
			switch {
			case tt.want == "" && ev.Type != "SUBSCRIBED":
				t.Errorf("first event = %s, want SUBSCRIBED", rec)
			case tt.want != "" && (ev.Type != "ERROR" || !strings.HasPrefix(ev.Error.Message, tt.want)):
				t.Errorf("first event = %s, want ERROR %q", rec, tt.want)
			}
		})
	}
}

// TestReservedOffers: an agent's reserved resources are offered only to
// their role, never to a framework without it; offers and their
// resources say the role they are allocated to (MULTI_ROLE only) and the
// reservation.
func TestReservedOffers(t *testing.T) {
	t.Run("framework with the role", func(t *testing.T) {
		c := reservedCluster(t)
		s := subscribe(t, c.URL(0), multiRole("*", "analytics"))
		agents := c.Agents()
		var agent2 mesostest.Resources
		for agent2.CPUs < 5 { // agent2's resources come in one or two offers
			for _, o := range s.until(t, "OFFERS").Offers.Offers {
				if o.AllocationInfo == nil || o.AllocationInfo.Role == "" {
					t.Fatalf("offer without allocation_info: %+v", o)
				}
				role := o.AllocationInfo.Role
				for _, r := range o.Resources {
					if r.AllocationInfo == nil || r.AllocationInfo.Role != role {
						t.Errorf("resource %+v of an offer allocated to %q", r, role)
					}
					if r.Role == "analytics" && role != "analytics" {
						t.Errorf("reserved %s offered to role %q", r.Name, role)
					}
					if r.Role != "*" && r.Role != "analytics" {
						t.Errorf("resource role = %q, want * or analytics", r.Role)
					}
				}
				if o.AgentID.Value == agents[1] {
					agent2 = agent2.Add(wire.FromWire(o.Resources))
				}
			}
		}
		if agent2.CPUs != 5 || agent2.Mem != 4608 || agent2.NumPorts() != 10 {
			t.Errorf("agent2 offered %s, want all of it", agent2)
		}
	})
	t.Run("framework without the role", func(t *testing.T) {
		c := reservedCluster(t)
		s := subscribe(t, c.URL(0), subscribeBody) // role "*", not MULTI_ROLE
		got := map[string]mesostest.Resources{}
		for len(got) < 2 {
			for _, o := range s.until(t, "OFFERS").Offers.Offers {
				if o.AllocationInfo != nil {
					t.Errorf("offer to a framework without MULTI_ROLE has allocation_info %+v", o.AllocationInfo)
				}
				for _, r := range o.Resources {
					if r.Role != "*" || r.AllocationInfo != nil {
						t.Errorf("resource %s: role %q, allocation %+v; want *, none", r.Name, r.Role, r.AllocationInfo)
					}
				}
				got[o.AgentID.Value] = wire.FromWire(o.Resources)
			}
		}
		if r := got[c.Agents()[1]]; r.CPUs != 1 || r.Mem != 512 {
			t.Errorf("agent2 offered %s, want its unreserved cpus:1;mem:512 only", r)
		}
	})
}

// TestLaunchRoles: a task's resources must be allocated to the offer's
// role, as reserved as the offer had them; the master fills in the
// allocation where a resource has none.
func TestLaunchRoles(t *testing.T) {
	c := reservedCluster(t)
	s := subscribe(t, c.URL(0), multiRole("*", "analytics"))
	fw := `"framework_id":{"value":"` + s.id + `"}`
	call := func(body string) {
		t.Helper()
		resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("%s = %d", body, resp.StatusCode)
		}
	}
	// Only analytics gets offers from now on; naming a role the
	// framework lacks drops the whole call.
	call(`{"type":"SUPPRESS",` + fw + `,"suppress":{"roles":["*","ml"]}}`)
	if got := c.SuppressedRoles(s.id); len(got) != 0 {
		t.Fatalf("suppressed after a SUPPRESS naming an unknown role = %v, want none", got)
	}
	call(`{"type":"SUPPRESS",` + fw + `,"suppress":{"roles":["*"]}}`)
	if got := c.SuppressedRoles(s.id); !reflect.DeepEqual(got, []string{"*"}) {
		t.Fatalf("suppressed = %v, want [*]", got)
	}
	call(`{"type":"REVIVE",` + fw + `,"revive":{"roles":["analytics"]}}`)

	agent2 := c.Agents()[1]
	next := func() wire.Offer {
		t.Helper()
		for {
			for _, o := range s.until(t, "OFFERS").Offers.Offers {
				if o.AgentID.Value == agent2 && o.AllocationInfo.Role == "analytics" {
					return o
				}
			}
		}
	}
	res := func(v, extra string) string {
		return `{"name":"cpus","type":"SCALAR","scalar":{"value":` + v + `}` + extra + `}`
	}
	tests := []struct {
		name, resources string
		wantState       string
		wantMsg         string
	}{
		{"allocated to another role", res("1", `,"allocation_info":{"role":"*"}`), "TASK_ERROR", "Total resources cpus(allocated: *):1 required by task and its executor is more than available"},
		{"allocated to a role not subscribed", res("1", `,"allocation_info":{"role":"ml"}`), "TASK_ERROR", "Total resources cpus(allocated: ml):1 required by task and its executor is more than available"},
		{"two allocation roles", res("1", `,"allocation_info":{"role":"analytics"}`) + "," + res("1", `,"role":"analytics","allocation_info":{"role":"*"}`), "TASK_ERROR",
			"Invalid task resources: The resources have multiple allocation roles ('*' and 'analytics') but only one allocation role is allowed"},
		{"reserved taken as unreserved", res("3", ""), "TASK_ERROR", "Total resources cpus(allocated: analytics):3 required by task and its executor is more than available"},
		{"reserved for another role", res("1", `,"role":"ml"`), "TASK_ERROR", "Total resources cpus(allocated: analytics)(reservations: [(STATIC,ml)]):1 required"},
		{"reserved and unreserved, allocation filled in", res("3", `,"role":"analytics"`) + "," + res("1", `,"role":"*","allocation_info":{"role":"analytics"}`), "TASK_STARTING", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := next()
			id := "t" + string(rune('a'+i))
			call(`{"type":"ACCEPT",` + fw + `,"accept":{"offer_ids":[{"value":"` + o.ID.Value + `"}],"filters":{"refuse_seconds":0},"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
				`{"name":"t","task_id":{"value":"` + id + `"},"agent_id":{"value":"` + agent2 + `"},"resources":[` + tt.resources + `],"command":{"value":"sleep 60"}}]}}]}}`)
			var st wire.TaskStatus
			for st.TaskID.Value != id {
				st = s.until(t, "UPDATE").Update.Status
			}
			if st.State != tt.wantState || !strings.HasPrefix(st.Message, tt.wantMsg) {
				t.Fatalf("update = %s %q, want %s %q", st.State, st.Message, tt.wantState, tt.wantMsg)
			}
			if tt.wantState == "TASK_ERROR" && (st.Reason != "REASON_TASK_INVALID" || st.Source != "SOURCE_MASTER" || st.UUID != nil) {
				t.Errorf("update = %+v, want REASON_TASK_INVALID from the master without uuid", st)
			}
			if tt.wantState == "TASK_STARTING" {
				var tv mesostest.TaskView
				for _, x := range c.Tasks() {
					if x.ID == id {
						tv = x
					}
				}
				if tv.Role != "analytics" || tv.Agent != agent2 {
					t.Errorf("task = %+v, want on agent2 allocated to analytics", tv)
				}
			}
		})
	}
}
