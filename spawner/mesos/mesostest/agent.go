package mesostest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// task is a task as both the master and its agent know it.
type task struct {
	id    string
	fw    *framework
	agent *agent
	info  wire.TaskInfo
	role  string // the role its resources are allocated to
	res   pool

	// The agent's side.
	agentState string            // latest state on the agent
	pending    []wire.TaskStatus // unacknowledged updates; the head is in flight
	retry      time.Duration
	timer      *time.Timer
	cmd        *exec.Cmd
	started    bool // the process was started (or failed to)
	killed     bool // a KILL was asked for
	unhealthy  bool // killed for failing its health check
	killTimer  *time.Timer
	lost       bool // the agent or framework went away: no more updates
	ended      bool // terminal on the agent
	freed      bool // the master knows it is terminal: resources recovered

	// The master's side: the last status forwarded to the framework.
	forwarded *wire.TaskStatus
	container string
}

func (t *task) stopTimers() {
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
}

// signal sends sig to the task's process group.
func (t *task) signal(sig syscall.Signal) {
	if t.cmd != nil && t.cmd.Process != nil && !t.ended {
		syscall.Kill(-t.cmd.Process.Pid, sig)
	}
}

// launchLocked hands an accepted task to its agent: the master records
// TASK_STAGING (seen only through reconciliation), the agent starts it.
func (c *Cluster) launchLocked(fw *framework, a *agent, ti wire.TaskInfo, role string, res pool) {
	t := &task{
		id: ti.TaskID.Value, fw: fw, agent: a, info: ti, role: role, res: res,
		agentState: "TASK_STAGING", retry: c.opts.UpdateRetry, container: newUUID(),
	}
	fw.tasks[t.id] = t
	a.tasks[t.id] = t
	c.stats.TasksLaunched++
	go c.run(t)
}

// status builds an update from the agent or executor, with a uuid.
func (c *Cluster) status(t *task, state, source, reason, msg string) wire.TaskStatus {
	return wire.TaskStatus{
		TaskID: wire.ID{Value: t.id}, State: state, Source: source, Reason: reason, Message: msg,
		AgentID: &wire.ID{Value: t.agent.id}, ExecutorID: &wire.ID{Value: t.id}, Timestamp: now(),
		UUID: newUUIDBytes(),
		ContainerStatus: &wire.ContainerStatus{
			ContainerID:  &wire.ID{Value: t.container},
			NetworkInfos: []wire.NetworkInfo{{IPAddresses: []wire.IPAddress{{Protocol: "IPv4", IPAddress: "127.0.0.1"}}}},
		},
	}
}

// updateLocked queues an update on the task's stream; it goes out at
// once when it is the head.
func (c *Cluster) updateLocked(t *task, st wire.TaskStatus) {
	if t.lost || t.ended {
		return
	}
	t.agentState = st.State
	if wire.Terminal(st.State) {
		t.ended = true
		if t.killTimer != nil {
			t.killTimer.Stop()
		}
	}
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		t.retry = c.opts.UpdateRetry
		c.forwardLocked(t)
	}
}

// forwardLocked sends the head update to the framework, if connected,
// and arms its resend timer. With it the master learns the agent's
// latest state, and recovers the resources of a terminal task.
func (c *Cluster) forwardLocked(t *task) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if len(t.pending) == 0 || t.lost {
		return
	}
	if t.ended && !t.freed {
		t.freed = true
		t.agent.used = t.agent.used.sub(t.res)
		c.kickAllocator()
	}
	head := t.pending[0]
	if c.sendLocked(t.fw, wire.Event{Type: "UPDATE", Update: &wire.Update{Status: head}}) {
		t.forwarded = &head
	}
	d := t.retry
	t.retry = min(t.retry*2, c.opts.UpdateRetryMax)
	t.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(t.pending) > 0 && bytes.Equal(t.pending[0].UUID, head.UUID) {
			c.forwardLocked(t)
		}
	})
}

// ackLocked is ACKNOWLEDGE: it pops the head update and sends the next;
// the terminal update's ack removes the task.
func (c *Cluster) ackLocked(fw *framework, ack *wire.Ack) {
	t := fw.tasks[ack.TaskID.Value]
	if t == nil || t.agent.id != ack.AgentID.Value || t.agent.removed || len(t.pending) == 0 {
		return
	}
	if !bytes.Equal(t.pending[0].UUID, ack.UUID) {
		return // a duplicate, or out of order
	}
	acked := t.pending[0]
	t.pending = t.pending[1:]
	t.retry = c.opts.UpdateRetry
	if wire.Terminal(acked.State) && len(t.pending) == 0 {
		t.stopTimers()
		delete(fw.tasks, t.id)
		delete(t.agent.tasks, t.id)
		return
	}
	c.forwardLocked(t)
}

// killLocked is KILL.
func (c *Cluster) killLocked(fw *framework, k *wire.Kill) {
	t := fw.tasks[k.TaskID.Value]
	if t == nil {
		c.reconcileLocked(fw, []wire.ReconcileTask{{TaskID: k.TaskID, AgentID: k.AgentID}})
		return
	}
	if k.AgentID != nil && k.AgentID.Value != t.agent.id {
		return
	}
	if t.ended || t.killed {
		return
	}
	t.killed = true
	if !t.started {
		c.updateLocked(t, c.status(t, "TASK_KILLED", "SOURCE_AGENT", "REASON_TASK_KILLED_DURING_LAUNCH", "Killed before delivery to the executor"))
		return
	}
	if fw.info.Has("TASK_KILLING_STATE") {
		c.updateLocked(t, c.status(t, "TASK_KILLING", "SOURCE_EXECUTOR", "", "Command is being killed"))
	}
	grace := 3 * time.Second
	if t.info.Container != nil && t.info.Container.Type == "DOCKER" {
		grace = 5 * time.Second
	}
	if kp := t.info.KillPolicy; kp != nil && kp.GracePeriod != nil {
		grace = time.Duration(kp.GracePeriod.Nanoseconds)
	}
	if kp := k.KillPolicy; kp != nil && kp.GracePeriod != nil {
		grace = time.Duration(kp.GracePeriod.Nanoseconds)
	}
	t.signal(syscall.SIGTERM)
	t.killTimer = time.AfterFunc(grace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.signal(syscall.SIGKILL)
	})
}

// reconcileLocked answers RECONCILE: explicit for the tasks named,
// implicit (every task the master tracks) for none.
func (c *Cluster) reconcileLocked(fw *framework, tasks []wire.ReconcileTask) {
	pa := fw.info.Has("PARTITION_AWARE")
	answer := func(id string, agentID *wire.ID, state, msg string, t *task) {
		st := wire.TaskStatus{
			TaskID: wire.ID{Value: id}, State: state, Source: "SOURCE_MASTER", Reason: "REASON_RECONCILIATION",
			Message: msg, AgentID: agentID, Timestamp: now(),
		}
		if t != nil && t.forwarded != nil {
			st.ContainerStatus = t.forwarded.ContainerStatus
			st.ExecutorID = t.forwarded.ExecutorID
		}
		c.sendLocked(fw, wire.Event{Type: "UPDATE", Update: &wire.Update{Status: st}})
	}
	latest := func(t *task) string {
		if t.forwarded != nil {
			return t.forwarded.State
		}
		return "TASK_STAGING"
	}
	if len(tasks) == 0 {
		for _, t := range fw.tasks {
			answer(t.id, &wire.ID{Value: t.agent.id}, latest(t), "Reconciliation: Latest task state", t)
		}
		return
	}
	for _, rt := range tasks {
		if rt.TaskID == nil {
			continue
		}
		if t := fw.tasks[rt.TaskID.Value]; t != nil {
			answer(t.id, &wire.ID{Value: t.agent.id}, latest(t), "Reconciliation: Latest task state", t)
			continue
		}
		var a *agent
		if rt.AgentID != nil {
			for _, x := range c.agents {
				if x.id == rt.AgentID.Value {
					a = x
				}
			}
		}
		switch {
		case rt.AgentID == nil || (a != nil && !a.removed):
			state := "TASK_GONE"
			if !pa {
				state = "TASK_LOST"
			}
			if rt.AgentID == nil {
				state = "TASK_UNKNOWN"
				if !pa {
					state = "TASK_LOST"
				}
				answer(rt.TaskID.Value, nil, state, "Reconciliation: Task is unknown", nil)
				continue
			}
			answer(rt.TaskID.Value, rt.AgentID, state, "Reconciliation: Task is unknown to the agent", nil)
		case a != nil && a.removed:
			state := "TASK_UNREACHABLE"
			if !pa {
				state = "TASK_LOST"
			}
			answer(rt.TaskID.Value, rt.AgentID, state, "Reconciliation: Task is unreachable", nil)
		default:
			state := "TASK_UNKNOWN"
			if !pa {
				state = "TASK_LOST"
			}
			answer(rt.TaskID.Value, rt.AgentID, state, "Reconciliation: Task is unknown", nil)
		}
	}
}

// run is the task's executor: it starts the process, reports
// TASK_STARTING and TASK_RUNNING, waits, and reports the end.
func (c *Cluster) run(t *task) {
	c.mu.Lock()
	if t.killed || t.lost {
		c.mu.Unlock()
		return
	}
	argv, env, failure, source, reason := c.command(t)
	t.started = true
	if failure != "" {
		c.updateLocked(t, c.status(t, "TASK_FAILED", source, reason, failure))
		c.mu.Unlock()
		return
	}
	c.updateLocked(t, c.status(t, "TASK_STARTING", "SOURCE_EXECUTOR", "", ""))
	sandbox := filepath.Join(c.workDir, "sandboxes", t.fw.id, t.id, t.container)
	os.MkdirAll(sandbox, 0o755)
	env = append(env, "MESOS_SANDBOX="+sandbox, "MESOS_TASK_ID="+t.id, "MESOS_AGENT_ENDPOINT=127.0.0.1:"+strconv.Itoa(t.agent.endpoint))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = sandbox
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := os.Create(filepath.Join(sandbox, "stdout"))
	errf, _ := os.Create(filepath.Join(sandbox, "stderr"))
	cmd.Stdout, cmd.Stderr = out, errf
	err := cmd.Start()
	msg := ""
	var state string
	if err != nil {
		// As Mesos's command executor: the fork succeeds, the exec fails.
		c.updateLocked(t, c.status(t, "TASK_RUNNING", "SOURCE_EXECUTOR", "", ""))
		fmt.Fprintf(errf, "Failed to execute %s: %v\n", argv[0], err)
		state, msg = "TASK_FAILED", "Command exited with status 1"
		closeAll(out, errf)
		c.updateLocked(t, c.status(t, state, "SOURCE_EXECUTOR", "", msg))
		c.mu.Unlock()
		return
	}
	t.cmd = cmd
	c.updateLocked(t, c.status(t, "TASK_RUNNING", "SOURCE_EXECUTOR", "", ""))
	if hc := t.info.HealthCheck; hc != nil {
		go c.healthCheck(t, *hc, env)
	}
	c.mu.Unlock()

	err = cmd.Wait()
	closeAll(out, errf)
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.lost {
		return
	}
	word := "Command"
	if t.info.Container != nil && t.info.Container.Type == "DOCKER" {
		word = "Container"
	}
	switch {
	case ws.Signaled():
		msg = word + " terminated with signal " + sigName(ws.Signal())
		state = "TASK_FAILED"
	case err != nil && !errors.As(err, new(*exec.ExitError)):
		msg, state = word+" exited with status -1", "TASK_FAILED"
	default:
		msg = word + " exited with status " + strconv.Itoa(ws.ExitStatus())
		state = "TASK_FINISHED"
		if ws.ExitStatus() != 0 {
			state = "TASK_FAILED"
		}
	}
	if t.killed {
		state = "TASK_KILLED"
	}
	st := c.status(t, state, "SOURCE_EXECUTOR", "", msg)
	if t.unhealthy {
		healthy := false
		st.Healthy = &healthy
		st.Reason = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
	}
	c.updateLocked(t, st)
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

func sigName(s syscall.Signal) string {
	n := s.String()
	if n == "" {
		return strconv.Itoa(int(s))
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// command works out the task's argv and environment the way its
// containerizer would, or the failure to report (message, source,
// reason).
func (c *Cluster) command(t *task) (argv, env []string, failure, source, reason string) {
	for _, k := range []string{"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range c.opts.Env {
		env = append(env, k+"="+v)
	}
	ci := t.info.Command
	if ci.Environment != nil {
		for _, v := range ci.Environment.Variables {
			env = append(env, v.Name+"="+v.Value)
		}
	}
	shell := ci.Shell == nil || *ci.Shell
	value := ""
	if ci.Value != nil {
		value = *ci.Value
	}
	image := ""
	docker := t.info.Container != nil && t.info.Container.Type == "DOCKER"
	if docker {
		d := t.info.Container.Docker
		image = d.Image
		if len(d.PortMappings) > 0 && d.Network != "BRIDGE" && d.Network != "USER" {
			return nil, nil, "Port mappings are only supported for bridge and user-defined networks", "SOURCE_EXECUTOR", ""
		}
		for _, pm := range d.PortMappings {
			if !t.res.sum().Contains(wire.Resources{Ports: []wire.Range{{Begin: pm.HostPort, End: pm.HostPort}}}) {
				return nil, nil, fmt.Sprintf("Failed to create docker run options: Port [%d] not included in resources", pm.HostPort), "SOURCE_EXECUTOR", ""
			}
			if pm.HostPort != pm.ContainerPort {
				return nil, nil, fmt.Sprintf("Failed to launch container: the emulator cannot map host port %d to container port %d; use equal ports", pm.HostPort, pm.ContainerPort), "SOURCE_AGENT", "REASON_CONTAINER_LAUNCH_FAILED"
			}
		}
	} else if ci := t.info.Container; ci != nil && ci.Mesos != nil && ci.Mesos.Image != nil {
		if ci.Mesos.Image.Docker == nil {
			return nil, nil, "Failed to launch container: unsupported image type", "SOURCE_AGENT", "REASON_CONTAINER_LAUNCH_FAILED"
		}
		image = ci.Mesos.Image.Docker.Name
	}
	if image != "" {
		entry, ok := c.opts.Images[image]
		if !ok || len(entry) == 0 {
			return nil, nil, "Failed to launch container: Failed to pull image '" + image + "': not found", "SOURCE_AGENT", "REASON_CONTAINER_LAUNCH_FAILED"
		}
		if shell {
			return []string{"/bin/sh", "-c", value}, env, "", "", ""
		}
		argv = append([]string(nil), entry...)
		if docker {
			// docker run IMAGE [value] arguments...: the image's
			// entrypoint with them as CMD.
			if value != "" {
				argv = append(argv, value)
			}
			return append(argv, ci.Arguments...), env, "", "", ""
		}
		// The Mesos containerizer runs value with arguments as argv,
		// inside the image: value names the image's command.
		if value == "" {
			return argv, env, "", "", ""
		}
		if len(ci.Arguments) > 1 {
			argv = append(argv, ci.Arguments[1:]...)
		}
		return argv, env, "", "", ""
	}
	if shell {
		return []string{"/bin/sh", "-c", value}, env, "", "", ""
	}
	if len(ci.Arguments) == 0 {
		return []string{value}, env, "", "", ""
	}
	// argv is the full list, argv[0] included; value is the executable.
	path := value
	args := append([]string(nil), ci.Arguments...)
	args[0] = path
	return args, env, "", "", ""
}
