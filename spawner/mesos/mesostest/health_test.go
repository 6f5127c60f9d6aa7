package mesostest_test

import (
	"encoding/base64"
	"testing"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// TestHealthChecks: a task that passes its check is reported healthy
// once; one that fails is reported unhealthy after the grace period,
// each time, and killed after consecutive_failures with healthy:false
// on its end.
func TestHealthChecks(t *testing.T) {
	c := newCluster(t, nil)
	s := subscribe(t, c.URL(0), subscribeBody)
	fw := `"framework_id":{"value":"` + s.id + `"}`
	o := s.until(t, "OFFERS").Offers.Offers[0]
	task := func(id, command, check string) string {
		return `{"name":"t","task_id":{"value":"` + id + `"},"agent_id":{"value":"` + o.AgentID.Value + `"},` +
			`"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}},{"name":"mem","type":"SCALAR","scalar":{"value":64}}],` +
			`"command":{"value":` + command + `},"kill_policy":{"grace_period":{"nanoseconds":100000000}},` +
			`"health_check":` + check + `}`
	}
	fast := `"delay_seconds":0.05,"interval_seconds":0.05,"timeout_seconds":2,"grace_period_seconds":0.2,"consecutive_failures":3`
	body := `{"type":"ACCEPT",` + fw + `,"accept":{"offer_ids":[{"value":"` + o.ID.Value + `"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` +
		task("good", `"touch ok && sleep 30"`, `{"type":"COMMAND","command":{"value":"test -f \"$MESOS_SANDBOX/ok\""},`+fast+`}`) + `,` +
		task("bad", `"sleep 30"`, `{"type":"TCP","tcp":{"port":1},`+fast+`}`) +
		`]}}]}}`
	resp := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", body, map[string]string{"Mesos-Stream-Id": s.stream})
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("ACCEPT = %d", resp.StatusCode)
	}
	healthy := map[string][]bool{}
	var badEnd wire.TaskStatus
	for badEnd.State == "" || len(healthy["good"]) == 0 {
		st := s.until(t, "UPDATE").Update.Status
		u := base64.StdEncoding.EncodeToString(st.UUID)
		r := post(t, c.URL(0)+"/api/v1/scheduler", "application/json", `{"type":"ACKNOWLEDGE",`+fw+`,"acknowledge":{"agent_id":{"value":"`+st.AgentID.Value+`"},"task_id":{"value":"`+st.TaskID.Value+`"},"uuid":"`+u+`"}}`, map[string]string{"Mesos-Stream-Id": s.stream})
		r.Body.Close()
		if st.Healthy != nil && st.State == "TASK_RUNNING" {
			if st.Reason != "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED" {
				t.Errorf("health update reason = %q", st.Reason)
			}
			healthy[st.TaskID.Value] = append(healthy[st.TaskID.Value], *st.Healthy)
		}
		if st.TaskID.Value == "bad" && wire.Terminal(st.State) {
			badEnd = st
		}
	}
	if got := healthy["good"]; len(got) != 1 || !got[0] {
		t.Errorf("good's health updates = %v, want one healthy", got)
	}
	if got := healthy["bad"]; len(got) != 3 || got[0] || got[1] || got[2] {
		t.Errorf("bad's health updates = %v, want three unhealthy", got)
	}
	if badEnd.State != "TASK_KILLED" || badEnd.Healthy == nil || *badEnd.Healthy {
		t.Errorf("bad's end = %s healthy=%v, want TASK_KILLED with healthy:false", badEnd.State, badEnd.Healthy)
	}
}
