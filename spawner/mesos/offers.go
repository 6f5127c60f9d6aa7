package mesos

import (
	"context"
	"sort"
	"strconv"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// offers answers every offer at once: the waiting servers of the offer's
// role that fit are launched, first come first served; an offer nobody
// fits is declined with a refuse filter. No offer is held.
func (b *Backend) offers(ctx context.Context, offers []wire.Offer) {
	// Decisions and their calls go out in order with REVIVE's: a
	// DECLINE decided before a server was asked for must reach the
	// master before the REVIVE that server's request sends, or its
	// refuse filter outlives the REVIVE and the server waits for it.
	b.maintainMu.Lock()
	defer b.maintainMu.Unlock()
	type accept struct {
		offer wire.Offer
		tasks []wire.TaskInfo
		made  []*task
	}
	var accepts []accept
	var declines []wire.ID
	b.mu.Lock()
	for _, o := range offers {
		x := readOffer(o, b.opts.Role)
		ip := o.Hostname
		if o.URL != nil && o.URL.Address.IP != "" {
			ip = o.URL.Address.IP
		}
		here := Placement{Hostname: o.Hostname, Attributes: o.Attributes}
		a := accept{offer: o}
		for i := 0; i < len(b.queue); i++ {
			l := b.queue[i]
			if l.spec.Role != x.role {
				continue // another role's resources are not its to use
			}
			free := x.total()
			l.seen++
			l.best = maxRes(l.best, free)
			l.bestGPU = max(l.bestGPU, free.GPUs)
			if !free.Contains(l.need) || free.NumPorts() < numPorts {
				continue
			}
			ok := true
			for _, c := range l.rules {
				if !c.allows(here, b.groups[l.profile]) {
					ok = false
					break
				}
			}
			if !ok {
				l.refused = true
				continue
			}
			use, rest, ports, _ := x.take(l.need, numPorts)
			x = rest
			t := &task{
				id: l.id, agentID: o.AgentID.Value, hostname: o.Hostname, ip: ip, profile: l.profile,
				port: int(ports[0]), state: "TASK_STAGING", placement: here, launch: l, gen: b.gen,
				running: make(chan struct{}), done: make(chan struct{}), answered: make(chan struct{}),
			}
			b.tasks[t.id] = t
			b.groups[l.profile] = append(b.groups[l.profile], here)
			a.tasks = append(a.tasks, b.taskInfo(l, o, use.wire(), ports, ip))
			a.made = append(a.made, t)
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			i--
		}
		if len(a.tasks) > 0 {
			accepts = append(accepts, a)
		} else {
			declines = append(declines, o.ID)
		}
	}
	b.mu.Unlock()
	b.offersIn.Add(int64(len(offers)))
	filters := wire.Filters{RefuseSeconds: ptr(wire.Number(b.opts.RefuseSeconds))}
	for _, a := range accepts {
		err := b.sendCall(ctx, wire.Call{Type: "ACCEPT", Accept: &wire.Accept{
			OfferIDs:   []wire.ID{a.offer.ID},
			Operations: []wire.Operation{{Type: "LAUNCH", Launch: &wire.Launch{TaskInfos: a.tasks}}},
			Filters:    &filters,
		}})
		if err != nil {
			// Not launched: back to the head of the queue.
			b.log.Warn("mesos accept", "err", err)
			b.mu.Lock()
			var back []*launch
			for _, t := range a.made {
				b.forgetLocked(t)
				back = append(back, t.launch)
			}
			b.queue = append(back, b.queue...)
			b.mu.Unlock()
			continue
		}
		for _, t := range a.made {
			t.launch.placed <- t
		}
	}
	if len(declines) > 0 {
		if err := b.sendCall(ctx, wire.Call{Type: "DECLINE", Decline: &wire.Decline{OfferIDs: declines, Filters: &filters}}); err != nil {
			b.log.Warn("mesos decline", "err", err)
		}
	}
}

// forgetLocked drops a task that never launched.
func (b *Backend) forgetLocked(t *task) {
	delete(b.tasks, t.id)
	g := b.groups[t.profile]
	for i, p := range g {
		if p.Hostname == t.placement.Hostname {
			b.groups[t.profile] = append(g[:i], g[i+1:]...)
			break
		}
	}
}

func maxRes(a, b wire.Resources) wire.Resources {
	return wire.Resources{CPUs: max(a.CPUs, b.CPUs), Mem: max(a.Mem, b.Mem), Disk: max(a.Disk, b.Disk), GPUs: max(a.GPUs, b.GPUs)}
}

func ptr[T any](v T) *T { return &v }

// taskInfo builds the server's task.
func (b *Backend) taskInfo(l *launch, o wire.Offer, res []wire.Resource, ports []uint64, ip string) wire.TaskInfo {
	port := strconv.FormatUint(ports[0], 10)
	req := l.req
	bind := ip
	if b.opts.Network == "BRIDGE" {
		bind = "0.0.0.0"
	}
	args := []string{
		"--ip=" + bind,
		"--port=" + port,
		"--port-retries=0",
		"--no-browser",
		"--allow-root",
	}
	args = append(args, b.opts.Jupyter.Args(req.BaseURL)...)
	args = append(args, spawner.DefaultURLArgs(l.spec.DefaultURL)...)
	env := map[string]string{}
	for k, v := range b.opts.Env {
		env[k] = v
	}
	for k, v := range l.spec.Env {
		env[k] = v
	}
	for k, v := range req.Env {
		env[k] = v
	}
	for k, v := range spawner.HubEnv(req.User) {
		env[k] = v
	}
	p := func(i int) string { return strconv.FormatUint(ports[i], 10) }
	for k, v := range map[string]string{
		"SPARKHUB_USER":                    req.User,
		"SPARKHUB_PORT":                    port,
		"SPARKHUB_BASE_URL":                req.BaseURL,
		"SPARKHUB_AGENT_HOST":              ip,
		"SPARKHUB_AGENT_HOSTNAME":          o.Hostname,
		"SPARKHUB_SPARK_DRIVER_PORT":       p(1),
		"SPARKHUB_SPARK_BLOCKMANAGER_PORT": p(2),
		"SPARKHUB_SPARK_UI_PORT":           p(3),
		"SPARKHUB_SPARK_BIND_ADDRESS":      bind,
		"LIBPROCESS_PORT":                  p(4),
	} {
		env[k] = v
	}
	if b.opts.Network == "BRIDGE" {
		env["LIBPROCESS_IP"] = "0.0.0.0"
		env["LIBPROCESS_ADVERTISE_IP"] = ip
		env["LIBPROCESS_ADVERTISE_PORT"] = p(4)
	} else {
		env["LIBPROCESS_IP"] = ip
	}
	var vars []wire.Variable
	for k, v := range env {
		vars = append(vars, wire.Variable{Name: k, Value: v})
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })

	shell := false
	cmd := &wire.CommandInfo{Shell: &shell, Environment: &wire.Environment{Variables: vars}}
	var ci *wire.ContainerInfo
	if b.opts.Containerizer == "MESOS" {
		v := b.opts.Command
		cmd.Value = &v
		cmd.Arguments = append([]string{v}, args...)
		ci = &wire.ContainerInfo{Type: "MESOS", Mesos: &wire.MesosInfo{Image: &wire.Image{Type: "DOCKER", Docker: &wire.DockerImage{Name: l.spec.Image}, Cached: true}}}
	} else {
		cmd.Arguments = args
		d := &wire.DockerInfo{Image: l.spec.Image, Network: b.opts.Network}
		if b.opts.Network == "BRIDGE" {
			for _, hp := range ports {
				d.PortMappings = append(d.PortMappings, wire.PortMapping{HostPort: hp, ContainerPort: hp, Protocol: "tcp"})
			}
		}
		ci = &wire.ContainerInfo{Type: "DOCKER", Docker: d}
	}
	name := "jupyter-" + safeID(req.User)
	return wire.TaskInfo{
		Name: name, TaskID: &wire.ID{Value: l.id}, AgentID: &o.AgentID,
		Resources: res, Command: cmd, Container: ci,
		KillPolicy: &wire.KillPolicy{GracePeriod: &wire.DurationInfo{Nanoseconds: b.opts.KillGrace.Nanoseconds()}},
		Labels: &wire.Labels{Labels: []wire.Label{
			{Key: "sparkhub.user", Value: req.User},
			{Key: "sparkhub.server", Value: req.BaseURL},
			{Key: "sparkhub.profile", Value: l.profile},
		}},
	}
}

// update acts on a status update, then acknowledges it if it carries a
// uuid.
func (b *Backend) update(ctx context.Context, st wire.TaskStatus) {
	b.mu.Lock()
	t := b.tasks[st.TaskID.Value]
	kill := false
	switch {
	case t == nil:
		// Not ours to keep: a task no hub knows is killed.
		kill = !wire.Terminal(st.State) && st.State != "TASK_LOST" && st.State != "TASK_UNKNOWN" && st.State != "TASK_GONE_BY_OPERATOR"
		if kill {
			b.log.Warn("killing a task the hub does not know", "task", st.TaskID.Value, "state", st.State)
		}
	default:
		select {
		case <-t.answered:
		default:
			close(t.answered)
		}
		if st.AgentID != nil && st.AgentID.Value != "" {
			t.agentID = st.AgentID.Value
		}
		b.apply(t, st)
		kill = t.ended && (st.State == "TASK_RUNNING" || st.State == "TASK_STARTING")
	}
	b.mu.Unlock()
	if kill {
		k := &wire.Kill{TaskID: &st.TaskID, AgentID: st.AgentID}
		if err := b.sendCall(ctx, wire.Call{Type: "KILL", Kill: k}); err != nil {
			b.log.Warn("mesos kill", "task", st.TaskID.Value, "err", err)
		}
	}
	if len(st.UUID) > 0 && st.AgentID != nil {
		err := b.sendCall(ctx, wire.Call{Type: "ACKNOWLEDGE", Acknowledge: &wire.Ack{AgentID: st.AgentID, TaskID: &st.TaskID, UUID: st.UUID}})
		if err != nil {
			b.log.Warn("mesos acknowledge", "task", st.TaskID.Value, "err", err)
		}
	}
}

// apply moves a task along. b.mu is held.
func (b *Backend) apply(t *task, st wire.TaskStatus) {
	if t.ended {
		return
	}
	if st.Reason == "REASON_RECONCILIATION" && t.gen == b.gen && t.state == "TASK_STAGING" &&
		st.State != "TASK_STAGING" && st.State != "TASK_STARTING" && st.State != "TASK_RUNNING" {
		return // an answer that crossed this stream's ACCEPT; updates will follow
	}
	t.state = st.State
	switch st.State {
	case "TASK_STAGING", "TASK_STARTING", "TASK_KILLING":
	case "TASK_RUNNING":
		select {
		case <-t.running:
		default:
			close(t.running)
		}
	case "TASK_DROPPED", "TASK_LOST":
		if st.Reason == "REASON_INVALID_OFFERS" && t.launch != nil {
			// The offer was gone: launch again elsewhere.
			l := t.launch
			b.forgetLocked(t)
			b.queue = append([]*launch{l}, b.queue...)
			b.revive[l.spec.Role] = true
			l.requeue <- struct{}{}
			b.poke()
			return
		}
		b.endLocked(t, reason(st, t.hostname), -1)
	default:
		b.endLocked(t, reason(st, t.hostname), exitCode(st))
	}
}

// endLocked marks a task's server stopped. b.mu is held.
func (b *Backend) endLocked(t *task, why string, code int) {
	if t.ended {
		return
	}
	t.ended = true
	t.status = spawner.Status{ExitCode: code, Reason: why}
	for _, c := range []chan struct{}{t.answered, t.running, t.done} {
		select {
		case <-c:
		default:
			close(c)
		}
	}
	g := b.groups[t.profile]
	for i, p := range g {
		if p.Hostname == t.placement.Hostname {
			b.groups[t.profile] = append(g[:i], g[i+1:]...)
			break
		}
	}
}
