package mesostest

import (
	"sort"
	"strconv"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// minAllocatable is the master's --min_allocatable_resources default,
// cpus:0.01|mem:32: a leftover with neither is not offered.
func minAllocatable(r wire.Resources) bool {
	return r.CPUs >= 0.01 || r.Mem >= 32
}

func (c *Cluster) allocator() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.AllocationInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		c.allocate()
	}
}

// allocate offers every agent's free resources: for each agent, the
// (framework, role) pairs of connected frameworks' unsuppressed roles in
// order of the role's share, then the framework's (DRF on cpus and mem),
// each get one offer of what the agent has for that role: the unreserved
// resources not yet offered, and those reserved for the role. Pairs whose
// refuse filter covers that are skipped.
func (c *Cluster) allocate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader < 0 {
		return
	}
	type client struct {
		fw   *framework
		role string
	}
	var clients []client
	for _, fw := range c.frameworks {
		if fw.stream == nil {
			continue
		}
		for _, r := range fw.roles {
			if !fw.suppressed[r] {
				clients = append(clients, client{fw, r})
			}
		}
	}
	if len(clients) == 0 {
		return
	}
	var total wire.Resources
	for _, a := range c.agents {
		if !a.removed {
			total = total.Add(a.total.sum())
		}
	}
	dominant := func(r wire.Resources) float64 { return max(ratio(r.CPUs, total.CPUs), ratio(r.Mem, total.Mem)) }
	fwShare, roleShare := map[*framework]float64{}, map[string]float64{}
	for _, fw := range c.frameworks {
		for _, t := range fw.tasks {
			if !t.freed {
				fwShare[fw] += dominant(t.res.sum())
				roleShare[t.role] += dominant(t.res.sum())
			}
		}
	}
	for _, o := range c.offers {
		fwShare[o.fw] += dominant(o.res.sum())
		roleShare[o.role] += dominant(o.res.sum())
	}
	now := time.Now()
	batches := map[*framework][]wire.Offer{}
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		sort.SliceStable(clients, func(i, j int) bool {
			ci, cj := clients[i], clients[j]
			if roleShare[ci.role] != roleShare[cj.role] {
				return roleShare[ci.role] < roleShare[cj.role]
			}
			return fwShare[ci.fw] < fwShare[cj.fw]
		})
		gpus := a.total.sum().GPUs > 0
		for _, cl := range clients {
			fw := cl.fw
			if gpus && !fw.info.Has("GPU_RESOURCES") {
				continue
			}
			free := a.free().allocatableTo(cl.role)
			if free.empty() || !minAllocatable(free.sum()) {
				continue
			}
			key := filterKey{cl.role, a.id}
			if f, ok := fw.filters[key]; ok {
				if now.Before(f.until) && f.res.contains(free) {
					continue
				}
				if !now.Before(f.until) {
					delete(fw.filters, key)
				}
			}
			o := &offer{id: c.masterID + "-O" + strconv.Itoa(c.nextOffer), fw: fw, agent: a, role: cl.role, res: free}
			c.nextOffer++
			c.offers[o.id] = o
			a.offered = a.offered.add(free)
			fwShare[fw] += dominant(free.sum())
			roleShare[cl.role] += dominant(free.sum())
			if d := c.opts.OfferTimeout; d > 0 {
				o.timer = time.AfterFunc(d, func() {
					c.mu.Lock()
					defer c.mu.Unlock()
					if c.offers[o.id] == o {
						c.rescindLocked(o)
					}
				})
			}
			batches[fw] = append(batches[fw], c.wireOffer(o))
			c.stats.OffersSent++
		}
	}
	for fw, offers := range batches {
		c.sendLocked(fw, wire.Event{Type: "OFFERS", Offers: &wire.Offers{Offers: offers}})
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (c *Cluster) wireOffer(o *offer) wire.Offer {
	a := o.agent
	// Without MULTI_ROLE the master strips allocation_info.
	alloc := ""
	var ai *wire.AllocationInfo
	if o.fw.info.Has("MULTI_ROLE") {
		alloc = o.role
		ai = &wire.AllocationInfo{Role: alloc}
	}
	var execs []wire.ID
	for _, t := range a.tasks {
		if t.fw == o.fw && !t.ended {
			execs = append(execs, wire.ID{Value: t.id})
		}
	}
	sort.Slice(execs, func(i, j int) bool { return execs[i].Value < execs[j].Value })
	return wire.Offer{
		ID: wire.ID{Value: o.id}, FrameworkID: wire.ID{Value: o.fw.id}, AgentID: wire.ID{Value: a.id},
		Hostname: a.cfg.Hostname,
		URL: &wire.OfferURL{Scheme: "http", Path: "/slave(1)",
			Address: wire.Address{Hostname: a.cfg.Hostname, IP: "127.0.0.1", Port: a.endpoint}},
		AllocationInfo: ai,
		Resources:      o.res.wire(alloc),
		Attributes:     a.cfg.Attributes,
		ExecutorIDs:    execs,
	}
}

// rescindLocked takes an offer back and tells its framework.
func (c *Cluster) rescindLocked(o *offer) {
	c.dropOfferLocked(o)
	c.stats.OffersRescinded++
	c.sendLocked(o.fw, wire.Event{Type: "RESCIND", Rescind: &wire.Rescind{OfferID: wire.ID{Value: o.id}}})
	c.kickAllocator()
}

func (c *Cluster) dropOfferLocked(o *offer) {
	if o.timer != nil {
		o.timer.Stop()
	}
	delete(c.offers, o.id)
	o.agent.offered = o.agent.offered.sub(o.res)
}

// discardOffersLocked drops a framework's offers without RESCIND
// (failover, disconnection).
func (c *Cluster) discardOffersLocked(fw *framework, _ bool) {
	for _, o := range c.offers {
		if o.fw == fw {
			c.dropOfferLocked(o)
		}
	}
	c.kickAllocator()
}

// refuse is how long the filters of an ACCEPT or DECLINE last.
func (c *Cluster) refuse(f *wire.Filters) time.Duration {
	secs := 5.0
	if f != nil && f.RefuseSeconds != nil && *f.RefuseSeconds >= 0 {
		secs = float64(*f.RefuseSeconds)
	}
	if secs > 31536000 {
		secs = 31536000
	}
	if secs == 0 {
		return 0
	}
	return max(time.Duration(secs*float64(time.Second)), c.opts.AllocationInterval)
}

// acceptLocked is ACCEPT (and DECLINE, with no operations).
func (c *Cluster) acceptLocked(fw *framework, ids []wire.ID, ops []wire.Operation, filters *wire.Filters) {
	var launches []wire.TaskInfo
	for _, op := range ops {
		if op.Type == "LAUNCH" && op.Launch != nil {
			launches = append(launches, op.Launch.TaskInfos...)
		}
	}
	// Validate the offers: they must exist, be this framework's, be
	// distinct and share one role and one agent.
	invalid := ""
	if len(ids) == 0 {
		invalid = "No offers specified"
	}
	seen := map[string]bool{}
	var offers []*offer
	for _, id := range ids {
		o := c.offers[id.Value]
		switch {
		case seen[id.Value]:
			invalid = "Duplicate offer " + id.Value + " in offer list"
		case o == nil:
			if ops == nil {
				continue // DECLINE of an unknown offer is ignored
			}
			invalid = "Offer " + id.Value + " is no longer valid"
		case o.fw != fw && ops != nil:
			invalid = "Offer " + id.Value + " has invalid framework"
		case len(offers) > 0 && o.role != offers[0].role && ops != nil:
			invalid = "Aggregated offers must be allocated to the same role. Offer " + id.Value + " uses role '" + o.role + " but another is using role '" + offers[0].role
		case len(offers) > 0 && o.agent != offers[0].agent && ops != nil:
			invalid = "Aggregated offers must belong to one single agent"
		}
		seen[id.Value] = true
		if o != nil {
			offers = append(offers, o)
		}
	}
	if invalid != "" && ops != nil {
		for _, o := range offers {
			c.dropOfferLocked(o)
		}
		st := "TASK_LOST"
		if fw.info.Has("PARTITION_AWARE") {
			st = "TASK_DROPPED"
		}
		for _, ti := range launches {
			id := ""
			if ti.TaskID != nil {
				id = ti.TaskID.Value
			}
			c.sendLocked(fw, wire.Event{Type: "UPDATE", Update: &wire.Update{Status: wire.TaskStatus{
				TaskID: wire.ID{Value: id}, State: st, Source: "SOURCE_MASTER", Reason: "REASON_INVALID_OFFERS",
				Message: "Task launched with invalid offers: " + invalid, Timestamp: now(),
			}}})
		}
		c.kickAllocator()
		return
	}
	if len(offers) == 0 {
		return
	}
	if ops == nil {
		// DECLINE: each offer's resources come back with its own filter.
		for _, o := range offers {
			c.dropOfferLocked(o)
			c.filterLocked(fw, o.role, o.agent, o.res, filters)
		}
		c.stats.OffersDeclined += len(offers)
		c.kickAllocator()
		return
	}
	a, role := offers[0].agent, offers[0].role
	avail := pool{}
	for _, o := range offers {
		c.dropOfferLocked(o)
		avail = avail.add(o.res)
	}
	c.stats.OffersAccepted += len(offers)
	for _, ti := range launches {
		res, msg := validateTask(fw, ti, role, avail)
		if msg != "" {
			id := ""
			if ti.TaskID != nil {
				id = ti.TaskID.Value
			}
			c.sendLocked(fw, wire.Event{Type: "UPDATE", Update: &wire.Update{Status: wire.TaskStatus{
				TaskID: wire.ID{Value: id}, State: "TASK_ERROR", Source: "SOURCE_MASTER", Reason: "REASON_TASK_INVALID",
				Message: msg, AgentID: &wire.ID{Value: a.id}, Timestamp: now(),
			}}})
			continue
		}
		avail = avail.sub(res)
		a.used = a.used.add(res)
		c.launchLocked(fw, a, ti, role, res)
	}
	c.filterLocked(fw, role, a, avail, filters)
	c.kickAllocator()
}

// filterLocked refuses resources of an agent to a framework's role for
// the filter's time: they are not offered to it again unless more is
// free.
func (c *Cluster) filterLocked(fw *framework, role string, a *agent, avail pool, filters *wire.Filters) {
	if d := c.refuse(filters); d > 0 && !avail.empty() {
		key := filterKey{role, a.id}
		f := fw.filters[key]
		if time.Now().Before(f.until) {
			f.res = f.res.add(avail)
		} else {
			f.res = avail
		}
		if u := time.Now().Add(d); u.After(f.until) {
			f.until = u
		}
		fw.filters[key] = f
	}
}

// validateTask is the master's per-task validation against offers
// allocated to role, holding avail. It returns the task's resources, or
// the error.
func validateTask(fw *framework, ti wire.TaskInfo, role string, avail pool) (pool, string) {
	if ti.TaskID == nil || !validID(ti.TaskID.Value) {
		return nil, "Task ID is invalid"
	}
	if _, dup := fw.tasks[ti.TaskID.Value]; dup {
		return nil, "Task has duplicate ID: " + ti.TaskID.Value
	}
	res, alloc, msg := taskResources(ti.Resources, role)
	switch {
	case len(ti.Resources) == 0 || (msg == "" && res.empty()):
		return nil, "Task uses no resources"
	case msg != "":
		return nil, "Invalid task resources: " + msg
	}
	if msg := validateTaskInfo(ti); msg != "" {
		return nil, msg
	}
	if alloc != role || !avail.contains(res) {
		return nil, "Total resources " + res.String(alloc) + " required by task and its executor is more than available " + avail.String(role)
	}
	return res, ""
}

// validateTaskInfo checks what a task runs.
func validateTaskInfo(ti wire.TaskInfo) string {
	if (ti.Command == nil) == (ti.Executor == nil) {
		return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
	}
	if ci := ti.Container; ci != nil {
		switch {
		case ci.Type == "DOCKER" && ci.Docker == nil:
			return "Task's `ContainerInfo` is invalid: DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"
		case ci.Type != "DOCKER" && ci.Type != "MESOS":
			return "Task's `ContainerInfo` is invalid: 'type' is not set"
		}
		if ci.Docker != nil {
			for _, p := range ci.Docker.Parameters {
				if p.Key == "name" {
					return "Task's `ContainerInfo` is invalid: Parameter in DockerInfo must not be 'name'"
				}
			}
		}
	}
	if kp := ti.KillPolicy; kp != nil && kp.GracePeriod != nil && kp.GracePeriod.Nanoseconds < 0 {
		return "Task's 'kill_policy.grace_period' must be non-negative"
	}
	return ""
}

func validID(s string) bool {
	if s == "" || len(s) > 255 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return false
		}
	}
	return true
}
