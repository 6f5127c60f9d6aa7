package mesostest

import (
	"sort"
	"strconv"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos"
)

// minAllocatable is the master's --min_allocatable_resources default,
// cpus:0.01|mem:32: a leftover with neither is not offered.
func minAllocatable(r mesos.Resources) bool {
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

// allocate offers every agent's free resources to one framework each:
// the connected, unsuppressed framework with the smallest share (DRF on
// cpus and mem), skipping frameworks whose refuse filter covers them.
func (c *Cluster) allocate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader < 0 {
		return
	}
	var fws []*framework
	for _, fw := range c.frameworks {
		if fw.stream != nil && !fw.suppressed {
			fws = append(fws, fw)
		}
	}
	if len(fws) == 0 {
		return
	}
	var total mesos.Resources
	for _, a := range c.agents {
		if !a.removed {
			total = total.Add(a.cfg.Resources)
		}
	}
	share := map[*framework]float64{}
	for _, fw := range fws {
		var used mesos.Resources
		for _, t := range fw.tasks {
			used = used.Add(t.res)
		}
		for _, o := range c.offers {
			if o.fw == fw {
				used = used.Add(o.res)
			}
		}
		share[fw] = max(ratio(used.CPUs, total.CPUs), ratio(used.Mem, total.Mem))
	}
	now := time.Now()
	batches := map[*framework][]mesos.Offer{}
	for _, a := range c.agents {
		if a.removed {
			continue
		}
		free := a.free()
		if !minAllocatable(free) {
			continue
		}
		sort.SliceStable(fws, func(i, j int) bool { return share[fws[i]] < share[fws[j]] })
		for _, fw := range fws {
			if a.cfg.Resources.GPUs > 0 && !fw.info.Has("GPU_RESOURCES") {
				continue
			}
			if f, ok := fw.filters[a.id]; ok {
				if now.Before(f.until) && f.res.Contains(free) {
					continue
				}
				if !now.Before(f.until) {
					delete(fw.filters, a.id)
				}
			}
			o := &offer{id: c.masterID + "-O" + strconv.Itoa(c.nextOffer), fw: fw, agent: a, res: free}
			c.nextOffer++
			c.offers[o.id] = o
			a.offered = a.offered.Add(free)
			share[fw] += max(ratio(free.CPUs, total.CPUs), ratio(free.Mem, total.Mem))
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
			break
		}
	}
	for fw, offers := range batches {
		c.sendLocked(fw, mesos.Event{Type: "OFFERS", Offers: &mesos.Offers{Offers: offers}})
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (c *Cluster) wireOffer(o *offer) mesos.Offer {
	a := o.agent
	alloc := ""
	var ai *mesos.AllocationInfo
	if o.fw.info.Has("MULTI_ROLE") {
		alloc = o.fw.role
		ai = &mesos.AllocationInfo{Role: alloc}
	}
	var execs []mesos.ID
	for _, t := range a.tasks {
		if t.fw == o.fw && !t.ended {
			execs = append(execs, mesos.ID{Value: t.id})
		}
	}
	sort.Slice(execs, func(i, j int) bool { return execs[i].Value < execs[j].Value })
	return mesos.Offer{
		ID: mesos.ID{Value: o.id}, FrameworkID: mesos.ID{Value: o.fw.id}, AgentID: mesos.ID{Value: a.id},
		Hostname: a.cfg.Hostname,
		URL: &mesos.OfferURL{Scheme: "http", Path: "/slave(1)",
			Address: mesos.Address{Hostname: a.cfg.Hostname, IP: "127.0.0.1", Port: a.endpoint}},
		AllocationInfo: ai,
		Resources:      o.res.Wire("*", alloc),
		Attributes:     a.cfg.Attributes,
		ExecutorIDs:    execs,
	}
}

// rescindLocked takes an offer back and tells its framework.
func (c *Cluster) rescindLocked(o *offer) {
	c.dropOfferLocked(o)
	c.stats.OffersRescinded++
	c.sendLocked(o.fw, mesos.Event{Type: "RESCIND", Rescind: &mesos.Rescind{OfferID: mesos.ID{Value: o.id}}})
	c.kickAllocator()
}

func (c *Cluster) dropOfferLocked(o *offer) {
	if o.timer != nil {
		o.timer.Stop()
	}
	delete(c.offers, o.id)
	o.agent.offered = o.agent.offered.Sub(o.res)
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
func (c *Cluster) refuse(f *mesos.Filters) time.Duration {
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
func (c *Cluster) acceptLocked(fw *framework, ids []mesos.ID, ops []mesos.Operation, filters *mesos.Filters) {
	var launches []mesos.TaskInfo
	for _, op := range ops {
		if op.Type == "LAUNCH" && op.Launch != nil {
			launches = append(launches, op.Launch.TaskInfos...)
		}
	}
	// Validate the offers: they must exist, be this framework's, be
	// distinct and share one agent.
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
			c.sendLocked(fw, mesos.Event{Type: "UPDATE", Update: &mesos.Update{Status: mesos.TaskStatus{
				TaskID: mesos.ID{Value: id}, State: st, Source: "SOURCE_MASTER", Reason: "REASON_INVALID_OFFERS",
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
			c.filterLocked(fw, o.agent, o.res, filters)
		}
		c.stats.OffersDeclined += len(offers)
		c.kickAllocator()
		return
	}
	a := offers[0].agent
	var avail mesos.Resources
	for _, o := range offers {
		c.dropOfferLocked(o)
		avail = avail.Add(o.res)
	}
	c.stats.OffersAccepted += len(offers)
	for _, ti := range launches {
		res := mesos.FromWire(ti.Resources)
		if msg := validateTask(fw, ti, res, avail); msg != "" {
			id := ""
			if ti.TaskID != nil {
				id = ti.TaskID.Value
			}
			c.sendLocked(fw, mesos.Event{Type: "UPDATE", Update: &mesos.Update{Status: mesos.TaskStatus{
				TaskID: mesos.ID{Value: id}, State: "TASK_ERROR", Source: "SOURCE_MASTER", Reason: "REASON_TASK_INVALID",
				Message: msg, AgentID: &mesos.ID{Value: a.id}, Timestamp: now(),
			}}})
			continue
		}
		avail = avail.Sub(res)
		a.used = a.used.Add(res)
		c.launchLocked(fw, a, ti, res)
	}
	c.filterLocked(fw, a, avail, filters)
	c.kickAllocator()
}

// filterLocked refuses resources of an agent to a framework for the
// filter's time: they are not offered again unless more is free.
func (c *Cluster) filterLocked(fw *framework, a *agent, avail mesos.Resources, filters *mesos.Filters) {
	if d := c.refuse(filters); d > 0 && !avail.Empty() {
		f := fw.filters[a.id]
		if time.Now().Before(f.until) {
			f.res = f.res.Add(avail)
		} else {
			f.res = avail
		}
		if u := time.Now().Add(d); u.After(f.until) {
			f.until = u
		}
		fw.filters[a.id] = f
	}
}

// validateTask is the master's per-task validation.
func validateTask(fw *framework, ti mesos.TaskInfo, res, avail mesos.Resources) string {
	if ti.TaskID == nil || !validID(ti.TaskID.Value) {
		return "Task ID is invalid"
	}
	if _, dup := fw.tasks[ti.TaskID.Value]; dup {
		return "Task has duplicate ID: " + ti.TaskID.Value
	}
	if res.Empty() {
		return "Task uses no resources"
	}
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
	if !avail.Contains(res) {
		return "Total resources " + res.String() + " required by task and its executor is more than available " + avail.String()
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
