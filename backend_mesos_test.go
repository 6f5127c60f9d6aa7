package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/spawner/mesos"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

// TestJupyterEndToEndOnMesos is the analyst's path of TestJupyterEndToEnd
// with the server on the emulated Mesos cluster: the image runs Debian's
// jupyter-notebook as a task, the hub reaches it at the agent's address,
// a kernel runs 1+1 over the relayed websocket, a hub restart keeps the
// task (framework failover) and the stop kills it.
func TestJupyterEndToEndOnMesos(t *testing.T) {
	needJupyter(t)
	dataDir := t.TempDir()
	res, _ := mesos.ParseResources("cpus:4;mem:8192;disk:20000;ports:[31000-31999]")
	c, err := mesostest.New(mesostest.Options{
		Agents: []mesostest.AgentConfig{{Resources: res}, {Resources: res}},
		Images: map[string][]string{"sparkhub/pyspark-notebook:3.5": {"jupyter-notebook"}},
		// What the image has built in: the hub's contents manager.
		Env:     map[string]string{"PYTHONPATH": filepath.Join(dataDir, "python")},
		WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	mustRun(t, "alice's password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
	aliceToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "alice"}, common...)...))
	serveArgs := []string{"--data-dir", dataDir, "--idle-timeout", "0", "--spawner", "mesos",
		"--mesos-master", c.URL(0), "--mesos-cpus", "1", "--mesos-mem", "1024", "--stop-grace", "3s"}

	hub1 := startHub(t, nil, serveArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first hub's log:\n%s", hub1.Logs.String())
		}
	})
	alice := newClient(t, hub1.URL)
	if resp := alice.login("alice", "alice's password"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	code := alice.api("POST", "/hub/api/users/alice/server", "cookie", map[string]any{}, nil)
	if code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("start = %d\n%s", code, hub1.Logs.String())
	}
	events := alice.progress("alice")
	if last := events[len(events)-1]; last["ready"] != true {
		t.Fatalf("progress events = %v\n%s", events, hub1.Logs.String())
	}
	tasks := c.Tasks()
	if len(tasks) != 1 || tasks[0].State != "TASK_RUNNING" || tasks[0].Labels["sparkhub.user"] != "alice" {
		t.Fatalf("cluster tasks = %+v, want alice's, running", tasks)
	}
	var model struct {
		Servers map[string]struct {
			Started string `json:"started"`
		} `json:"servers"`
	}
	alice.api("GET", "/hub/api/users/alice", aliceToken, nil, &model)
	started := model.Servers[""].Started

	if code := alice.api("GET", "/user/alice/api/contents", "cookie", nil, nil); code != 200 {
		t.Fatalf("list contents = %d", code)
	}
	var kernel struct{ ID string }
	if code := alice.api("POST", "/user/alice/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}
	conn := dialKernel(t, alice, "alice", kernel.ID)
	if got := execute(t, conn, "1+1"); got != "2" {
		t.Fatalf("1+1 = %q", got)
	}
	conn.Close()

	// The hub restarts: the task keeps running and the route comes back
	// after reconciliation, without a new task.
	hub1.Stop()
	hub2 := startHub(t, nil, serveArgs...)
	alice2 := newClient(t, hub2.URL)
	hubtest.WaitFor(t, "alice's server behind the new hub", 30*time.Second, func() bool {
		return alice2.api("GET", "/user/alice/api/status", aliceToken, nil, nil) == 200
	})
	alice2.api("GET", "/hub/api/users/alice", aliceToken, nil, &model)
	if model.Servers[""].Started != started {
		t.Errorf("the server was started again: started %s, was %s", model.Servers[""].Started, started)
	}
	if got := c.Tasks(); len(got) != 1 || got[0].ID != tasks[0].ID {
		t.Errorf("tasks after the restart = %+v, want the same one", got)
	}
	if code := alice2.api("DELETE", "/hub/api/users/alice/server", aliceToken, nil, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop = %d", code)
	}
	hubtest.WaitFor(t, "the task to end", 30*time.Second, func() bool { return len(c.Tasks()) == 0 })
}
