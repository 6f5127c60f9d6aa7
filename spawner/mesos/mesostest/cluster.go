// Package mesostest is an in-process Apache Mesos cluster for tests and
// demos: one or more masters speaking the v1 scheduler HTTP API (JSON)
// the way Mesos 1.11 does on the wire, and agents that run tasks as local
// processes.
//
// What it reproduces (see ../../../../shared/specs/mesos.md, "emulator
// must"): the status codes of /api/v1/scheduler in the master's order,
// the exact Content-Type and Mesos-Stream-Id checks, RecordIO streams
// flushed per record, SUBSCRIBED then HEARTBEATs, failover (the old
// stream gets "Framework failed over"), the failover timeout, TEARDOWN,
// one offer per agent and role holding all its free resources for the
// role, allocation every interval and on events, refuse filters per role
// and agent (subset rule, default 5 s, 0 = none), SUPPRESS and REVIVE per
// role, the offer timeout with RESCIND, invalid ACCEPTs (TASK_LOST or
// TASK_DROPPED, REASON_INVALID_OFFERS), task validation (TASK_ERROR,
// REASON_TASK_INVALID), reliable status updates
// (one in flight per task, retried with doubling intervals until
// acknowledged, resent at once on resubscribe), reconciliation answers,
// KILL with a grace period, agent loss, and leader changes (standbys
// answer 307 with a protocol-relative Location, 503 without a leader).
//
// Roles: a framework subscribes with one role, or with several when it is
// MULTI_ROLE. An agent's unreserved resources go to one of those roles per
// offer (the role furthest below its share, skipping suppressed and
// filtered ones); resources statically reserved for a role
// (AgentConfig.Reserved) are offered only to that role, and to the roles
// below it. Offers and their resources carry allocation_info (MULTI_ROLE
// only) and the reservation role in Resource.role. A task's resources are
// allocated to the offer's role (the master fills it in where missing); a
// task naming another role, or resources the offer did not have under that
// reservation, gets TASK_ERROR "Total resources ... is more than available
// ...", and one naming several roles "Invalid task resources: ...".
//
// Command tasks run as local processes (shell or argv, with their
// environment and MESOS_SANDBOX). DOCKER tasks, and MESOS tasks with a
// Docker image, run the local command Options.Images maps the image to,
// with the task's arguments appended as the image's CMD would be.
//
// GET /master/state and /master/tasks (and /state, /tasks) show every
// task with its definition whole, environment included: the most any
// reader of a real cluster's state might see.
//
// Not emulated: the protobuf encoding (415-free but answered 400),
// health checks, custom executors (so no FAILURE events for tasks,
// which Mesos does not send for command tasks either), operations
// feedback, dynamic reservations, quota and maintenance.
package mesostest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// Resources is an amount of an agent's resources: cpus, mem and disk
// (MiB), gpus, and ports.
type Resources = wire.Resources

// Attribute is an agent attribute; ParseAttributes reads them.
type Attribute = wire.Attribute

// ParseResources reads the agent --resources syntax:
// "cpus:4;mem:8192;disk:20000;gpus:1;ports:[31000-31999,32100-32200]".
func ParseResources(s string) (Resources, error) { return wire.ParseResources(s) }

// AgentConfig describes one agent.
type AgentConfig struct {
	// Hostname is what offers name the agent by (default agentN). Every
	// agent listens on 127.0.0.1: that is the IP offers and task
	// statuses carry.
	Hostname string
	// Resources are the agent's unreserved resources.
	Resources Resources
	// Reserved are resources statically reserved for a role (the agent's
	// --resources="cpus(role):4;..."). Their ports are used as given, not
	// shared out among agents as Resources' are.
	Reserved   map[string]Resources
	Attributes []Attribute
}

// Options configure a Cluster.
type Options struct {
	// Agents of the cluster.
	Agents []AgentConfig
	// Masters is how many masters listen (default 1); the first leads.
	Masters int
	// Listen is the first master's address (default 127.0.0.1:0); the
	// others always take a free port.
	Listen string
	// Images maps a Docker image name to the local command (argv) that
	// stands for its entrypoint.
	Images map[string][]string
	// Heartbeat is the interval of HEARTBEAT events (default 15 s).
	Heartbeat time.Duration
	// AllocationInterval is how often offers are made besides events
	// (default 1 s).
	AllocationInterval time.Duration
	// OfferTimeout rescinds offers held longer (0: never, as Mesos).
	OfferTimeout time.Duration
	// UpdateRetry is the first resend interval of an unacknowledged
	// status update (default 10 s), doubling up to UpdateRetryMax
	// (default 10 min).
	UpdateRetry, UpdateRetryMax time.Duration
	// Credentials, when set, turn on Basic authentication of frameworks
	// (principal → secret).
	Credentials map[string]string
	// WorkDir holds task sandboxes (default: a temporary folder).
	WorkDir string
	// Env is added to every task's environment; the emulator's own PATH,
	// HOME and LANG are passed on too, as an agent's would be.
	Env    map[string]string
	Logger *slog.Logger
}

// Cluster is a running emulated Mesos cluster.
type Cluster struct {
	opts     Options
	log      *slog.Logger
	masterID string
	servers  []*http.Server
	addrs    []string // host:port of each master
	workDir  string
	ownWork  bool
	kick     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu         sync.Mutex
	leader     int // index into addrs; -1: none
	agents     []*agent
	frameworks map[string]*framework
	removed    map[string]bool // completed frameworks
	offers     map[string]*offer
	nextOffer  int
	nextFw     int
	stats      Stats
}

// Stats counts what the master saw, for tests and benchmarks.
type Stats struct {
	OffersSent, OffersAccepted, OffersDeclined, OffersRescinded int
	TasksLaunched, Subscribes                                   int
	Calls                                                       map[string]int
}

type agent struct {
	id       string
	cfg      AgentConfig
	total    pool
	used     pool // by tasks not yet known terminal
	offered  pool
	removed  bool
	tasks    map[string]*task
	endpoint int // fake agent port, for offer URLs
}

func (a *agent) free() pool {
	return a.total.sub(a.used).sub(a.offered)
}

// newAgentLocked adds agent number i.
func (c *Cluster) newAgentLocked(i int, ac AgentConfig) *agent {
	if ac.Hostname == "" {
		ac.Hostname = "agent" + strconv.Itoa(i+1)
	}
	total := pool{"*": ac.Resources}
	for role, r := range ac.Reserved {
		total = total.add(pool{role: r})
	}
	a := &agent{
		id: c.masterID + "-S" + strconv.Itoa(i), cfg: ac, total: total.trim(), used: pool{}, offered: pool{},
		tasks: map[string]*task{}, endpoint: 5051 + i,
	}
	c.agents = append(c.agents, a)
	return a
}

type offer struct {
	id    string
	fw    *framework
	agent *agent
	role  string // the role it is allocated to
	res   pool
	timer *time.Timer
}

// New starts a cluster.
func New(opts Options) (*Cluster, error) {
	if opts.Masters <= 0 {
		opts.Masters = 1
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Heartbeat, 15*time.Second)
	def(&opts.AllocationInterval, time.Second)
	def(&opts.UpdateRetry, 10*time.Second)
	def(&opts.UpdateRetryMax, 10*time.Minute)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		opts: opts, log: opts.Logger, masterID: newUUID(), kick: make(chan struct{}, 1),
		frameworks: map[string]*framework{}, removed: map[string]bool{}, offers: map[string]*offer{},
		stats: Stats{Calls: map[string]int{}},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.workDir = opts.WorkDir
	if c.workDir == "" {
		d, err := os.MkdirTemp("", "mesostest-")
		if err != nil {
			return nil, err
		}
		c.workDir, c.ownWork = d, true
	}
	for i, ac := range splitPorts(opts.Agents) {
		if msg := reservedRolesOK(ac); msg != "" {
			return nil, errors.New(msg)
		}
		c.newAgentLocked(i, ac)
	}
	for i := 0; i < opts.Masters; i++ {
		addr := "127.0.0.1:0"
		if i == 0 {
			addr = opts.Listen
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("master %d: %w", i, err)
		}
		srv := &http.Server{Handler: c.handler(i), ReadHeaderTimeout: 10 * time.Second}
		c.servers = append(c.servers, srv)
		c.addrs = append(c.addrs, ln.Addr().String())
		go srv.Serve(ln)
	}
	c.wg.Add(1)
	go c.allocator()
	return c, nil
}

// splitPorts gives agents that were configured with the same port
// ranges disjoint shares of them: on one machine they cannot all bind
// the same ports.
func splitPorts(agents []AgentConfig) []AgentConfig {
	out := append([]AgentConfig(nil), agents...)
	groups := map[string][]int{}
	for i, a := range out {
		if len(a.Resources.Ports) > 0 {
			k := fmt.Sprint(a.Resources.Ports)
			groups[k] = append(groups[k], i)
		}
	}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		var ports []uint64
		all, _ := out[idx[0]].Resources.TakePorts(out[idx[0]].Resources.NumPorts())
		ports = all
		per := len(ports) / len(idx)
		for j, i := range idx {
			r := out[i].Resources
			r.Ports = wire.PortRanges(ports[j*per : (j+1)*per])
			out[i].Resources = r
		}
	}
	return out
}

// URL is the base URL of master i ("http://127.0.0.1:port").
func (c *Cluster) URL(i int) string { return "http://" + c.addrs[i] }

// URLs are every master's base URL, comma-separated, as --mesos-master
// takes them.
func (c *Cluster) URLs() string {
	s := ""
	for i := range c.addrs {
		if i > 0 {
			s += ","
		}
		s += c.URL(i)
	}
	return s
}

// SetLeader makes master i the leader (-1: none), as after a ZooKeeper
// election: every subscription breaks, outstanding offers are gone, and
// the other masters answer 307 to the new leader (503 without one).
// Tasks and frameworks carry over, as agents and frameworks reregister
// with the new leader.
func (c *Cluster) SetLeader(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader = i
	for _, fw := range c.frameworks {
		if fw.stream != nil {
			fw.stream.abort()
			c.disconnectLocked(fw, fw.stream)
		}
	}
}

// Close stops the masters and kills every task.
func (c *Cluster) Close() {
	c.cancel()
	for _, s := range c.servers {
		s.Close()
	}
	c.mu.Lock()
	for _, fw := range c.frameworks {
		if fw.stream != nil {
			fw.stream.abort()
		}
		for _, t := range fw.tasks {
			t.stopTimers()
			t.signal(syscall.SIGKILL)
		}
	}
	c.mu.Unlock()
	c.wg.Wait()
	if c.ownWork {
		os.RemoveAll(c.workDir)
	}
}

// AddAgent adds an agent to the running cluster, as when one registers,
// and returns its id. Its ports are used as given.
func (c *Cluster) AddAgent(ac AgentConfig) (string, error) {
	if msg := reservedRolesOK(ac); msg != "" {
		return "", errors.New(msg)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.newAgentLocked(len(c.agents), ac)
	c.kickAllocator()
	return a.id, nil
}

func reservedRolesOK(ac AgentConfig) string {
	for role := range ac.Reserved {
		if msg := validRole(role); msg != "" {
			return "agent " + ac.Hostname + ": " + msg
		}
	}
	return ""
}

// Agents are the agents' ids, in order.
func (c *Cluster) Agents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, a := range c.agents {
		ids = append(ids, a.id)
	}
	return ids
}

// AgentResources are each agent's unreserved resources, ports split as
// they were.
func (c *Cluster) AgentResources() []Resources {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rs []Resources
	for _, a := range c.agents {
		rs = append(rs, a.cfg.Resources)
	}
	return rs
}

// TaskView is what a test sees of a task.
type TaskView struct {
	ID, Framework, Agent, Hostname, State string
	Labels                                map[string]string
	Pid                                   int
	// Role is the role the task's resources are allocated to.
	Role string
	// Resources are the task's resources as the framework launched it.
	Resources []wire.Resource
}

// Tasks lists the tasks the master tracks, sorted by id.
func (c *Cluster) Tasks() []TaskView {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []TaskView
	for _, fw := range c.frameworks {
		for _, t := range fw.tasks {
			v := TaskView{
				ID: t.id, Framework: fw.id, Agent: t.agent.id, Hostname: t.agent.cfg.Hostname, State: t.agentState,
				Labels: map[string]string{}, Role: t.role, Resources: t.info.Resources,
			}
			if t.info.Labels != nil {
				for _, l := range t.info.Labels.Labels {
					v.Labels[l.Key] = l.Value
				}
			}
			if t.cmd != nil && t.cmd.Process != nil {
				v.Pid = t.cmd.Process.Pid
			}
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// OutstandingOffers is how many offers are out, unanswered.
func (c *Cluster) OutstandingOffers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.offers)
}

// Stats returns a copy of the counters.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Calls = map[string]int{}
	for k, v := range c.stats.Calls {
		s.Calls[k] = v
	}
	return s
}

// Connected reports whether framework id has an open subscription.
func (c *Cluster) Connected(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fw := c.frameworks[id]
	return fw != nil && fw.stream != nil
}

// SuppressedRoles lists the roles framework id has suppressed, sorted.
func (c *Cluster) SuppressedRoles(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	fw := c.frameworks[id]
	if fw == nil {
		return nil
	}
	var out []string
	for _, r := range fw.roles {
		if fw.suppressed[r] {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// Frameworks lists the ids of the frameworks the master knows (not
// removed).
func (c *Cluster) Frameworks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.frameworks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// RemoveAgent makes agent i lost, as after it missed its health pings:
// its tasks die, their frameworks get TASK_UNREACHABLE (TASK_LOST
// without PARTITION_AWARE) from the master with no uuid, its offers are
// rescinded, and connected frameworks get FAILURE{agent_id}.
func (c *Cluster) RemoveAgent(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.agents) || c.agents[i].removed {
		return errors.New("no such agent")
	}
	a := c.agents[i]
	a.removed = true
	for _, o := range c.offers {
		if o.agent == a {
			c.rescindLocked(o)
		}
	}
	for _, t := range a.tasks {
		t.stopTimers()
		t.lost = true
		t.signal(syscall.SIGKILL)
		st := "TASK_UNREACHABLE"
		if !t.fw.info.Has("PARTITION_AWARE") {
			st = "TASK_LOST"
		}
		c.sendLocked(t.fw, wire.Event{Type: "UPDATE", Update: &wire.Update{Status: wire.TaskStatus{
			TaskID: wire.ID{Value: t.id}, State: st, Source: "SOURCE_MASTER", Reason: "REASON_AGENT_REMOVED",
			AgentID: &wire.ID{Value: a.id}, Message: "Agent " + a.cfg.Hostname + " is unreachable", Timestamp: now(),
		}}})
		delete(t.fw.tasks, t.id)
	}
	a.tasks = map[string]*task{}
	a.used = pool{}
	for _, fw := range c.frameworks {
		c.sendLocked(fw, wire.Event{Type: "FAILURE", Failure: &wire.FailureInfo{AgentID: &wire.ID{Value: a.id}}})
	}
	return nil
}

func now() wire.Number {
	return wire.Number(float64(time.Now().UnixNano()) / 1e9)
}

func newUUID() string {
	b := newUUIDBytes()
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newUUIDBytes is a random (version 4) UUID.
func newUUIDBytes() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

func (c *Cluster) kickAllocator() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
