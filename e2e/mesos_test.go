package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/images/pythontest"
	"github.com/sparkhub/sparkhub/spawner/mesos/mesostest"
)

// TestJupyterEndToEndOnMesos is the analyst's path of TestJupyterEndToEnd
// with the server on the emulated Mesos cluster: the image's entrypoint
// runs as a task, fetches the server's tokens from the hub with the
// credential the task carries (none of its tokens is in the master's
// state) and starts Debian's jupyter-notebook, which proves it holds its
// token; the hub reaches it at the agent's address, a kernel runs 1+1
// over the relayed websocket, a hub restart keeps the task (framework
// failover) and the stop kills it.
func TestJupyterEndToEndOnMesos(t *testing.T) {
	needJupyter(t)
	dataDir := t.TempDir()
	entrypoint, err := filepath.Abs(filepath.Join("..", "images", "entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := mesostest.ParseResources("cpus:4;mem:8192;disk:20000;ports:[31000-31999]")
	c, err := mesostest.New(mesostest.Options{
		Agents: []mesostest.AgentConfig{{Resources: res}, {Resources: res}},
		Images: map[string][]string{"sparkhub/pyspark-notebook:3.5": {"sh", entrypoint}},
		// What the image has built in: the hub's Python package, the
		// Jupyter the entrypoint runs, and a folder for Spark's
		// configuration.
		Env: map[string]string{
			"PYTHONPATH":               filepath.Join(dataDir, "python"),
			"SPARKHUB_PYTHON":          pythontest.Python,
			"SPARKHUB_JUPYTER_COMMAND": "jupyter-notebook",
			"SPARK_CONF_DIR":           t.TempDir(),
		},
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
	resp, err := http.Get(c.URL(0) + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	state, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(state), "SPARKHUB_BOOTSTRAP_CREDENTIAL") || strings.Contains(string(state), "JUPYTER_TOKEN") || strings.Contains(string(state), "SPARKHUB_CONTENTS_TOKEN") {
		t.Errorf("the master's state of alice's task holds a token, or no credential:\n%s", state)
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
	onePlusOne(t, alice, "alice")

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

// TestMesosProfileRoles: the hub subscribes with the roles of its
// profile catalog, and a profile's server is launched under its role: the
// analytics profile's on the agent reserved for analytics, the default
// profile's on the unreserved one.
func TestMesosProfileRoles(t *testing.T) {
	dataDir := t.TempDir()
	profiles := filepath.Join(dataDir, "profiles.yaml")
	err := os.WriteFile(profiles, []byte(`profiles:
  - name: default
    image: sparkhub/sleeper:1
    cpus: 1
    mem: 512
  - name: analytics
    image: sparkhub/sleeper:1
    cpus: 1
    mem: 512
    role: analytics
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	res := func(s string) mesostest.Resources {
		r, err := mesostest.ParseResources(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	c, err := mesostest.New(mesostest.Options{
		Agents: []mesostest.AgentConfig{
			{Hostname: "reserved", Reserved: map[string]mesostest.Resources{"analytics": res("cpus:2;mem:2048;ports:[31000-31049]")}},
			{Hostname: "shared", Resources: res("cpus:2;mem:2048;ports:[31100-31149]")},
		},
		// Nobody talks to these servers: a process that waits will do.
		Images:  map[string][]string{"sparkhub/sleeper:1": {"/bin/sh", "-c", "exec sleep 600", "sh"}},
		WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	common := []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	tokens := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		mustRun(t, u+"'s password\n", append([]string{"user", "add", u, "--password-stdin"}, common...)...)
		tokens[u] = strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", u}, common...)...))
	}
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0", "--spawner", "mesos",
		"--mesos-master", c.URL(0), "--profiles", profiles, "--stop-grace", "1s")
	// The answer comes once the server is ready or after 10 s; these
	// never answer, so both are asked for at once.
	errs := make(chan error, 2)
	for u, profile := range map[string]string{"alice": "analytics", "bob": "default"} {
		go func() {
			req, _ := http.NewRequest("POST", h.URL+"/hub/api/users/"+u+"/server", strings.NewReader(`{"profile":"`+profile+`"}`))
			req.Header.Set("Authorization", "token "+tokens[u])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
				err = fmt.Errorf("start %s's %s server = %d", u, profile, resp.StatusCode)
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	where := map[string]mesostest.TaskView{}
	hubtest.WaitFor(t, "both servers launched", 30*time.Second, func() bool {
		for _, tv := range c.Tasks() {
			where[tv.Labels["sparkhub.user"]] = tv
		}
		return where["alice"].ID != "" && where["bob"].ID != ""
	})
	if tv := where["alice"]; tv.Hostname != "reserved" || tv.Role != "analytics" {
		t.Errorf("analytics server on %q allocated to %q, want on reserved allocated to analytics", tv.Hostname, tv.Role)
	}
	if tv := where["bob"]; tv.Hostname != "shared" || tv.Role != "*" {
		t.Errorf("default server on %q allocated to %q, want on shared allocated to *", tv.Hostname, tv.Role)
	}
}
