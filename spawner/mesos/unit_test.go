package mesos

import "testing"

func TestConstraintAllows(t *testing.T) {
	rack := func(host, r string) Placement {
		return Placement{Hostname: host, Attributes: []Attribute{{Name: "rack", Type: "TEXT", Text: &Text{Value: r}}}}
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
		cs, err := ParseConstraints(tt.c)
		if err != nil {
			t.Fatalf("%s: %v", tt.c, err)
		}
		if got := cs[0].Allows(tt.agent, tt.group); got != tt.want {
			t.Errorf("%s on %s with %d placed = %v, want %v", tt.c, tt.agent.Hostname, len(tt.group), got, tt.want)
		}
	}
	for _, bad := range []string{"rack:NEAR", "rack:LIKE", "rack:MAX_PER:x", `[["a"]]`} {
		if _, err := ParseConstraints(bad); err == nil {
			t.Errorf("ParseConstraints(%q) = nil error", bad)
		}
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
		st   TaskStatus
		want string
	}{
		{TaskStatus{State: "TASK_FAILED", Message: "Command exited with status 1"}, "it failed (command exited with status 1)"},
		{TaskStatus{State: "TASK_FAILED", Reason: "REASON_CONTAINER_LIMITATION_MEMORY"}, "it ran out of memory"},
		{TaskStatus{State: "TASK_UNREACHABLE", Reason: "REASON_AGENT_REMOVED"}, "the machine running it (a1) was lost"},
		{TaskStatus{State: "TASK_KILLED"}, "it was stopped"},
	}
	for _, tt := range tests {
		if got := reason(tt.st, "a1"); got != tt.want {
			t.Errorf("reason(%+v) = %q, want %q", tt.st, got, tt.want)
		}
	}
}
