// Package mesos runs users' Jupyter servers as tasks on an Apache Mesos
// cluster: a framework over the v1 scheduler HTTP API (JSON).
//
// Backend.Run owns the subscription: it finds the leading master (a
// list of URLs, following 307s by hand with Basic auth kept, or
// ZooKeeper's json.info_ nodes), subscribes with the framework id kept in
// the hub's database (failover timeout one week by default, checkpointing
// on), watches heartbeats, reconnects with backoff and jitter, and after
// every SUBSCRIBED reconciles every task the hub holds (the manager says
// which: SetKnown), explicitly, then implicitly; sparkhub tasks nobody
// knows are killed. Offers are
// matched at once against the servers waiting (first come, first
// served): role, resources, ports and Marathon-style constraints; what
// fits is accepted, the rest declined with a refuse filter. Status
// updates are acted on, then acknowledged.
//
// Roles. Every server runs under a Mesos role: its spec's (a profile's
// role), or Options.Role (--mesos-role, default "*"). The framework is
// MULTI_ROLE and subscribes with Options.Role plus Options.Roles, which
// the hub fills with every role its profile catalog names; the catalog is
// fixed while the hub runs, so the roles are too. The master allocates
// each offer to one of those roles (Offer.allocation_info): an agent's
// unreserved resources may go to any of them, resources reserved for a
// role only to that role. A waiting server is matched only against offers
// allocated to its role, and its task takes the offer's resources as they
// were offered (Resource.role and .reservation kept, reserved ones
// first) with allocation_info naming that role, so Mesos accounts the
// server to the role (weights, quota) and reserved machines serve only
// their role's profiles. Offers of a role nobody waits for are declined.
// REVIVE names the roles new work came for; SUPPRESS the roles nobody
// waits for, so an idle role gets no offers while another waits. A server
// whose role no offer fits keeps saying in its progress what it waits for,
// naming the role: Still waiting: no machine for role "analytics" has 64
// GiB of memory free. A profile naming a role the framework lacks does
// not start.
//
// A server is one task: a DOCKER container of the profile's image (HOST
// network, or BRIDGE with host port == container port) or the Mesos
// containerizer with that image; Jupyter's arguments are the task's
// arguments; its environment is the local backend's (SPARKHUB_USER,
// SPARKHUB_PORT, SPARKHUB_BASE_URL, the hub's extras) plus the agent's
// address and the Spark ports:
//
//	SPARKHUB_AGENT_HOST          the agent's IP (what executors and the master reach)
//	SPARKHUB_AGENT_HOSTNAME      the agent's hostname
//	SPARKHUB_SPARK_DRIVER_PORT   spark.driver.port
//	SPARKHUB_SPARK_BLOCKMANAGER_PORT spark.driver.blockManager.port
//	SPARKHUB_SPARK_UI_PORT       spark.ui.port
//	SPARKHUB_SPARK_BIND_ADDRESS  spark.driver.bindAddress (0.0.0.0 in BRIDGE)
//	LIBPROCESS_IP, LIBPROCESS_PORT, LIBPROCESS_ADVERTISE_IP, LIBPROCESS_ADVERTISE_PORT
//	SPARKHUB_SPARK_PORTS         a set of the four Spark ports per Spark
//	                             application the server may run (SparkApps)
//
// All the ports are taken from the offer, so they are the task's own;
// KeepPorts (the agents' shuffle service's) never are.
//
// No secret goes into a task: its definition, environment included, is
// the master's and the agents' to show to whoever may read their state.
// The backend is a spawner.Bootstrapper: a start carries no token, only
// the single-use credential (SPARKHUB_BOOTSTRAP_URL and
// SPARKHUB_BOOTSTRAP_CREDENTIAL) with which the image's entrypoint
// fetches the server's tokens from the hub before Jupyter starts, and the
// hub takes the server as ready once the listener at the task's address
// proves it holds them. Start refuses a request that carries a token.
//
// What a server gets (image, resources, role, constraints, environment)
// comes resolved with each start (StartRequest.Spec); Options.Defaults,
// the --mesos-* flags, fill what a spec leaves out. Constraints come
// parsed and checked (images reads Marathon's grammar); the framework
// compiles and evaluates them.
package mesos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

var (
	_ spawner.Backend      = (*Backend)(nil)
	_ spawner.Waiter       = (*Backend)(nil)
	_ spawner.Runner       = (*Backend)(nil)
	_ spawner.Reconciler   = (*Backend)(nil)
	_ spawner.Bootstrapper = (*Backend)(nil)
)

// Defaults of Options and of a server's spec: what a zero field means.
// The hub's --mesos-* flags start from them.
const (
	DefaultRole            = "*"
	DefaultFrameworkName   = "sparkhub"
	DefaultFailoverTimeout = 7 * 24 * time.Hour
	DefaultRefuseSeconds   = 60
	DefaultNetwork         = "HOST"
	DefaultContainerizer   = "DOCKER"
	DefaultCPUs            = 1
	DefaultMem             = 2048 // MiB
	// DefaultEntrypoint is where the image has its entrypoint
	// (images/Dockerfile), which the Mesos containerizer runs.
	DefaultEntrypoint = "/usr/local/bin/sparkhub-entrypoint"
	// DefaultSparkApps is how many Spark applications (kernels with a
	// SparkContext) a server may run at once.
	DefaultSparkApps = 3
)

// Name is the backend's name in handles.
const Name = "mesos"

// IDStore keeps the framework id across hub restarts (the hub's
// database).
type IDStore interface {
	Get(ctx context.Context) (string, error) // "" when none
	Set(ctx context.Context, id string) error
}

// Options configure the framework.
type Options struct {
	// Master is --mesos-master: "http://m1:5050,http://m2:5050" or
	// "zk://h1:2181,h2:2181/mesos".
	Master string
	// Principal and Secret authenticate the framework (Basic).
	Principal, Secret string
	// Role the framework subscribes with (MULTI_ROLE); default "*".
	// Servers whose spec names no role run under it.
	Role string
	// Roles are the other roles the framework subscribes with: every
	// role a spec may name (the profile catalog's). A spec naming a role
	// that is neither Role nor among these cannot start.
	Roles []string
	// User tasks run as by default (default: the hub's user).
	User string
	// FrameworkName default "sparkhub".
	FrameworkName string
	// FailoverTimeout is how long the master keeps tasks running while
	// the hub is away (default one week).
	FailoverTimeout time.Duration
	// RefuseSeconds is the filter on declined offers (default 60).
	RefuseSeconds float64
	// Network is HOST (default) or BRIDGE.
	Network string
	// Containerizer is DOCKER (default) or MESOS (a Docker image under
	// the Mesos containerizer; the only way to GPUs).
	Containerizer string
	// Command is the Jupyter the image's entrypoint runs
	// (SPARKHUB_JUPYTER_COMMAND; default jupyter-notebook). Both
	// containerizers run the entrypoint, which writes Spark's
	// configuration and fetches the server's tokens first: DOCKER as the
	// image's ENTRYPOINT, MESOS as the command DefaultEntrypoint.
	Command string
	// Jupyter names the hub's classes servers start with.
	Jupyter spawner.Jupyter
	// Defaults is what a server gets where its StartRequest's Spec says
	// nothing (a zero field): the --mesos-* flags' image, resources and
	// constraints. A spec's Role is launched only from offers allocated
	// to that role ("" means Role); the framework must subscribe with it
	// (Roles). GPUs need the Mesos containerizer.
	Defaults spawner.Spec
	// KillGrace is the tasks' kill policy (default 30 s); a Stop's grace
	// overrides it.
	KillGrace time.Duration
	// Env is extra environment for every server.
	Env map[string]string
	// SparkApps is how many Spark applications a server may run at
	// once (default DefaultSparkApps): its task holds four ports for
	// each (SPARKHUB_SPARK_PORTS), which the image's spark-env.sh hands
	// out to drivers as they start.
	SparkApps int
	// KeepPorts are agents' ports no server is given (the Spark shuffle
	// service's, which listens on every agent).
	KeepPorts []uint64
	// ReadOnlyFiles are agents' files mounted read-only at the same
	// path into every server (Spark's own secret file).
	ReadOnlyFiles []string
	// IDs keeps the framework id; nil keeps it in memory only.
	IDs IDStore
	// Hostname and WebUIURL describe the hub to Mesos.
	Hostname, WebUIURL string
	Logger             *slog.Logger

	// Tuning, for tests: the first and longest reconnect backoff (0.5 s,
	// 15 s), the silence that counts as a dead stream in heartbeats (5),
	// the timeout of calls (75 s), periodic implicit reconciliation
	// (15 min), and how often a server waiting for an offer says in its
	// progress why it still waits (30 s).
	MinBackoff, MaxBackoff time.Duration
	MissedHeartbeats       int
	CallTimeout            time.Duration
	ReconcileInterval      time.Duration
	StillWaiting           time.Duration
}

// Backend is the Mesos framework. Safe for concurrent use.
type Backend struct {
	opts     Options
	roles    []string // what the framework subscribes with: Role first
	log      *slog.Logger
	masters  []string // http(s) base URLs, when not ZooKeeper
	zk       *zkDetector
	calls    *http.Client
	streams  *http.Client
	ctx      context.Context // the framework's life: it ends when Run returns
	cancel   context.CancelFunc
	ran      atomic.Bool // Run was called
	kick     chan struct{}
	offersIn atomic.Int64
	// maintainMu orders REVIVE and SUPPRESS decisions with their calls,
	// and with the answers to offers.
	maintainMu sync.Mutex

	mu         sync.Mutex
	fwID       string
	master     string // the leader serving the current stream
	streamID   string
	connected  chan struct{}   // closed while subscribed
	gen        int             // counts subscriptions
	hangUp     func()          // ends the current stream
	suppressed map[string]bool // roles SUPPRESSed on this stream
	revive     map[string]bool // roles with new work since the last REVIVE
	queue      []*launch
	tasks      map[string]*task
	groups     map[string][]Placement // profile → where its servers run
	// known says which tasks the hub holds (SetKnown): those are
	// reconciled after every subscription, any other task of the
	// framework is killed. Until knownSet is closed, none is.
	known     spawner.Known
	knownSet  chan struct{}
	knownOnce sync.Once
}

// task is what the framework knows of one server's task.
type task struct {
	id, agentID, hostname, ip string
	profile                   string
	port                      int
	state                     string
	placement                 Placement
	status                    spawner.Status
	running                   chan struct{} // closed on RUNNING or end
	done                      chan struct{} // closed on end
	answered                  chan struct{} // closed on any update
	ended                     bool
	stopping                  bool
	launch                    *launch // while Start waits
	gen                       int     // the subscription it was launched in; 0: an earlier hub's
}

// launch is a server waiting for an offer.
type launch struct {
	id      string
	user    string
	profile string
	req     spawner.StartRequest
	spec    spawner.Spec // the request's, with Options.Defaults
	rules   []rule       // spec.Constraints, compiled
	need    wire.Resources
	placed  chan *task
	requeue chan struct{}

	// What the offers looked like, for the message when none fits.
	seen    int
	best    wire.Resources
	bestGPU float64
	refused bool // an offer had the resources but the constraints said no
}

// state is a handle's State: where the task is. It holds no secret.
type state struct {
	TaskID   string `json:"task_id"`
	AgentID  string `json:"agent_id"`
	Hostname string `json:"hostname"`
	IP       string `json:"ip"`
	Port     int    `json:"port"`
	Profile  string `json:"profile,omitempty"`
}

// numPorts is how many ports a server's task takes: the notebook's and,
// for each Spark application it may run at once, Spark's driver, block
// manager and UI, and libprocess's.
func (b *Backend) numPorts() int { return 1 + 4*max(1, b.opts.SparkApps) }

// New makes the framework; Run subscribes it.
func New(opts Options) (*Backend, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Role == "" {
		opts.Role = DefaultRole
	}
	roles := roleList(opts.Role, opts.Roles)
	for _, r := range roles {
		if err := checkRole(r); err != nil {
			return nil, fmt.Errorf("mesos: role %q: %w", r, err)
		}
	}
	if opts.User == "" {
		opts.User = "root"
		if u, err := user.Current(); err == nil {
			opts.User = u.Username
		}
	}
	if opts.FrameworkName == "" {
		opts.FrameworkName = DefaultFrameworkName
	}
	if opts.FailoverTimeout <= 0 {
		opts.FailoverTimeout = DefaultFailoverTimeout
	}
	if opts.RefuseSeconds <= 0 {
		opts.RefuseSeconds = DefaultRefuseSeconds
	}
	opts.Network = strings.ToUpper(opts.Network)
	if opts.Network == "" {
		opts.Network = DefaultNetwork
	}
	if opts.Network != "HOST" && opts.Network != "BRIDGE" {
		return nil, fmt.Errorf("mesos: network %q: want HOST or BRIDGE", opts.Network)
	}
	opts.Containerizer = strings.ToUpper(opts.Containerizer)
	if opts.Containerizer == "" {
		opts.Containerizer = DefaultContainerizer
	}
	if opts.Containerizer != "DOCKER" && opts.Containerizer != "MESOS" {
		return nil, fmt.Errorf("mesos: containerizer %q: want DOCKER or MESOS", opts.Containerizer)
	}
	if opts.Command == "" {
		opts.Command = "jupyter-notebook"
	}
	if opts.SparkApps <= 0 {
		opts.SparkApps = DefaultSparkApps
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 30 * time.Second
	}
	if strings.Contains(opts.Secret, ":") {
		return nil, errors.New("mesos: the secret may not contain ':' (Basic authentication splits on it)")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.MinBackoff, 500*time.Millisecond)
	def(&opts.MaxBackoff, 15*time.Second)
	def(&opts.CallTimeout, 75*time.Second)
	def(&opts.ReconcileInterval, 15*time.Minute)
	def(&opts.StillWaiting, 30*time.Second)
	if opts.MissedHeartbeats <= 0 {
		opts.MissedHeartbeats = 5
	}
	if opts.IDs == nil {
		opts.IDs = &memIDs{}
	}
	b := &Backend{
		opts: opts, roles: roles, log: opts.Logger, kick: make(chan struct{}, 1),
		connected: make(chan struct{}), tasks: map[string]*task{}, groups: map[string][]Placement{},
		suppressed: map[string]bool{}, revive: map[string]bool{}, knownSet: make(chan struct{}),
	}
	switch {
	case strings.HasPrefix(opts.Master, "zk://"):
		z, err := newZKDetector(opts.Master, b.log)
		if err != nil {
			return nil, err
		}
		b.zk = z
	default:
		for _, m := range strings.Split(opts.Master, ",") {
			m = strings.TrimRight(strings.TrimSpace(m), "/")
			if m == "" {
				continue
			}
			if !strings.Contains(m, "://") {
				m = "http://" + m
			}
			u, err := url.Parse(m)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("mesos: master %q: want http://host:port or zk://hosts/path", m)
			}
			b.masters = append(b.masters, m)
		}
		if len(b.masters) == 0 {
			return nil, errors.New("mesos: no master given")
		}
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}
	b.calls = &http.Client{Transport: tr, Timeout: opts.CallTimeout, CheckRedirect: noRedirect}
	b.streams = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}, CheckRedirect: noRedirect}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// OffersHandled counts the offers the framework has answered.
func (b *Backend) OffersHandled() int64 { return b.offersIn.Load() }

// Name implements spawner.Backend.
func (b *Backend) Name() string { return Name }

// SetKnown implements spawner.Reconciler: the manager tells which tasks
// the hub holds. Until it is set, the framework reconciles nothing and
// kills no task.
func (b *Backend) SetKnown(k spawner.Known) {
	b.mu.Lock()
	b.known = k
	b.mu.Unlock()
	b.knownOnce.Do(func() { close(b.knownSet) })
}

// spec is what a server gets: its request's spec, with Options.Defaults
// where it says nothing.
func (b *Backend) spec(p spawner.Spec) spawner.Spec {
	s := b.opts.Defaults
	if p.Image != "" {
		s.Image = p.Image
	}
	for _, f := range []struct{ dst, src *float64 }{{&s.CPUs, &p.CPUs}, {&s.Mem, &p.Mem}, {&s.Disk, &p.Disk}, {&s.GPUs, &p.GPUs}} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	if p.Constraints != nil {
		s.Constraints = p.Constraints
	}
	if p.Env != nil {
		s.Env = p.Env
	}
	if p.Role != "" {
		s.Role = p.Role
	}
	if s.Role == "" {
		s.Role = b.opts.Role
	}
	if s.CPUs <= 0 {
		s.CPUs = DefaultCPUs
	}
	if s.Mem <= 0 {
		s.Mem = DefaultMem
	}
	return s
}

// BootstrapsSecrets implements spawner.Bootstrapper.
func (b *Backend) BootstrapsSecrets() {}

// Start implements spawner.Backend: it queues the server, waits for an
// offer that fits, launches the task and returns once it runs.
func (b *Backend) Start(ctx context.Context, req spawner.StartRequest) (spawner.Started, error) {
	if req.Token != "" {
		return spawner.Started{}, &spawner.Failure{Message: "The hub could not start your server safely; tell an admin.",
			Err: errors.New("mesos: a start carries the server's token, which its task's definition would show; give it a bootstrap credential")}
	}
	spec := b.spec(req.Spec)
	rules, err := compile(spec.Constraints)
	if err != nil {
		return spawner.Started{}, &spawner.Failure{Message: "This profile cannot be started; tell an admin.", Err: err}
	}
	if spec.Image == "" {
		return spawner.Started{}, &spawner.Failure{Message: "No image is configured for this profile; tell an admin.", Err: errors.New("mesos: no image")}
	}
	if spec.GPUs > 0 && b.opts.Containerizer != "MESOS" {
		return spawner.Started{}, &spawner.Failure{Message: "GPU profiles need the Mesos containerizer; tell an admin.", Err: errors.New("mesos: gpus with the DOCKER containerizer")}
	}
	if !b.hasRole(spec.Role) {
		return spawner.Started{}, &spawner.Failure{Message: "This profile cannot be started; tell an admin.",
			Err: fmt.Errorf("mesos: role %q is not among the framework's roles %q", spec.Role, b.roles)}
	}
	l := &launch{
		id: "sparkhub-" + safeID(req.User) + "-" + randHex(6), user: req.User, profile: req.Profile, req: req, spec: spec, rules: rules,
		need:   wire.Resources{CPUs: spec.CPUs, Mem: spec.Mem, Disk: spec.Disk, GPUs: spec.GPUs},
		placed: make(chan *task, 1), requeue: make(chan struct{}, 1),
	}
	waiting := "Waiting for a machine with " + describe(l.need) + " free"
	if spec.Role != "*" {
		waiting = "Waiting for a machine for role " + strconv.Quote(spec.Role) + " with " + describe(l.need) + " free"
	}
	req.Report(waiting)
	b.mu.Lock()
	b.queue = append(b.queue, l)
	b.revive[spec.Role] = true
	b.mu.Unlock()
	b.poke()
	still := time.NewTicker(b.opts.StillWaiting)
	defer still.Stop()
	var t *task
	for t == nil {
		select {
		case <-still.C:
			b.mu.Lock()
			what, _ := b.shortage(l)
			b.mu.Unlock()
			if msg := "Still waiting: " + what; msg != waiting {
				req.Report(msg)
				waiting = msg
			}
		case t = <-l.placed:
		case <-ctx.Done():
			b.mu.Lock()
			b.dequeue(l)
			b.mu.Unlock()
			select {
			case t = <-l.placed: // placed just now: stop it below
				b.kill(t, b.opts.KillGrace)
			default:
			}
			return spawner.Started{}, b.noFit(l, ctx.Err())
		}
	}
	req.Report("Starting on " + t.hostname)
	for {
		select {
		case <-t.running:
		case <-l.requeue:
			// The offer was gone by the time of the launch: wait for
			// another.
			select {
			case t = <-l.placed:
				continue
			case <-ctx.Done():
				b.mu.Lock()
				b.dequeue(l)
				b.mu.Unlock()
				return spawner.Started{}, b.noFit(l, ctx.Err())
			}
		case <-ctx.Done():
			b.kill(t, 0)
			return spawner.Started{}, ctx.Err()
		}
		break
	}
	b.mu.Lock()
	t.launch = nil
	ended, st, taskState := t.ended, t.status, t.state
	s := state{TaskID: t.id, AgentID: t.agentID, Hostname: t.hostname, IP: t.ip, Port: t.port, Profile: t.profile}
	b.mu.Unlock()
	if ended {
		return spawner.Started{}, &spawner.Failure{Message: "Your server stopped while starting: " + st.Reason + ". Try again; if it keeps happening, tell an admin.", Err: errors.New("mesos: task " + s.TaskID + " " + taskState)}
	}
	raw, _ := json.Marshal(s)
	b.log.Info("mesos server running", "user", req.User, "task", t.id, "agent", t.hostname, "port", t.port)
	return spawner.Started{
		Handle: spawner.Handle{Backend: Name, ID: t.id, State: raw},
		Target: &url.URL{Scheme: "http", Host: net.JoinHostPort(t.ip, strconv.Itoa(t.port))},
	}, nil
}

func (b *Backend) dequeue(l *launch) {
	for i, x := range b.queue {
		if x == l {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

func (b *Backend) hasRole(role string) bool {
	for _, r := range b.roles {
		if r == role {
			return true
		}
	}
	return false
}

// noFit is the sentence for a server no offer was found for.
func (b *Backend) noFit(l *launch, err error) error {
	b.mu.Lock()
	what, smaller := b.shortage(l)
	unreachable := l.seen == 0 && b.streamID == ""
	b.mu.Unlock()
	msg := strings.ToUpper(what[:1]) + what[1:]
	switch {
	case unreachable:
		msg += "; try again later or tell an admin."
	case smaller:
		msg += "; pick a smaller profile or try again later."
	default:
		msg += "; try again later."
	}
	return &spawner.Failure{Message: msg, Err: err}
}

// shortage says what the offers of the server's role lacked so far, as
// in: no machine in the cluster has 64 GiB of memory free. A role other
// than "*" is named: no machine for role "analytics" has 64 GiB of memory
// free. smaller tells whether a smaller profile would help. b.mu is held.
func (b *Backend) shortage(l *launch) (what string, smaller bool) {
	where := "in the cluster"
	if l.spec.Role != "*" {
		where = "for role " + strconv.Quote(l.spec.Role)
	}
	switch {
	case l.seen == 0 && b.streamID == "":
		return "the cluster cannot be reached right now", false
	case l.seen == 0:
		return "no machine " + where + " has room for your server right now", false
	case l.best.Mem < l.need.Mem:
		return "no machine " + where + " has " + mib(l.need.Mem) + " of memory free", true
	case l.best.CPUs < l.need.CPUs:
		return "no machine " + where + " has " + num(l.need.CPUs) + " CPUs free", true
	case l.bestGPU < l.need.GPUs:
		return "no machine " + where + " has " + num(l.need.GPUs) + " GPUs free", true
	case l.best.Disk < l.need.Disk:
		return "no machine " + where + " has " + mib(l.need.Disk) + " of disk free", true
	case l.refused:
		return "no machine " + where + " matches where this profile may run (" + constraintsText(l.spec.Constraints) + ")", false
	}
	return "no machine " + where + " has room for your server right now", false
}

// Recover implements spawner.Backend: the task must still run, as the
// master says after an explicit reconciliation.
func (b *Backend) Recover(ctx context.Context, h spawner.Handle) error {
	t, err := b.lookup(ctx, h)
	if err != nil {
		return err
	}
	b.mu.Lock()
	ended := t.ended
	b.mu.Unlock()
	if ended {
		return spawner.ErrGone
	}
	return nil
}

// lookup finds the task behind a handle, asking the master about it
// when this process has not heard of it yet.
func (b *Backend) lookup(ctx context.Context, h spawner.Handle) (*task, error) {
	var st state
	if h.Backend != Name || json.Unmarshal(h.State, &st) != nil || st.TaskID == "" || st.TaskID != h.ID {
		return nil, spawner.ErrGone
	}
	b.mu.Lock()
	t := b.tasks[st.TaskID]
	if t == nil {
		t = b.adopt(st)
	}
	answered := t.answered
	b.mu.Unlock()
	select {
	case <-answered:
		return t, nil
	default:
	}
	if err := b.waitConnected(ctx); err != nil {
		return nil, err
	}
	b.sendCall(ctx, wire.Call{Type: "RECONCILE", Reconcile: &wire.Reconcile{Tasks: []wire.ReconcileTask{
		{TaskID: &wire.ID{Value: st.TaskID}, AgentID: &wire.ID{Value: st.AgentID}},
	}}})
	select {
	case <-answered:
		return t, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mesos: no answer about task %s: %w", st.TaskID, ctx.Err())
	}
}

// adopt records a task of an earlier hub. b.mu is held.
func (b *Backend) adopt(st state) *task {
	t := &task{
		id: st.TaskID, agentID: st.AgentID, hostname: st.Hostname, ip: st.IP, port: st.Port, profile: st.Profile,
		state: "TASK_STAGING", placement: Placement{Hostname: st.Hostname},
		running: make(chan struct{}), done: make(chan struct{}), answered: make(chan struct{}),
	}
	b.tasks[t.id] = t
	b.groups[t.profile] = append(b.groups[t.profile], t.placement)
	return t
}

// Status implements spawner.Backend.
func (b *Backend) Status(ctx context.Context, h spawner.Handle) (spawner.Status, error) {
	t, err := b.lookup(ctx, h)
	if err != nil {
		return spawner.Status{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.ended {
		return t.status, nil
	}
	return spawner.Status{Running: true}, nil
}

// Wait implements spawner.Waiter.
func (b *Backend) Wait(ctx context.Context, h spawner.Handle) <-chan struct{} {
	var st state
	if json.Unmarshal(h.State, &st) != nil || st.TaskID == "" {
		c := make(chan struct{})
		close(c)
		return c
	}
	b.mu.Lock()
	t := b.tasks[st.TaskID]
	if t == nil {
		t = b.adopt(st)
	}
	b.mu.Unlock()
	return t.done
}

// Stop implements spawner.Backend: KILL with grace as the kill policy,
// and wait for the task's end.
func (b *Backend) Stop(ctx context.Context, h spawner.Handle, grace time.Duration) error {
	var st state
	if h.Backend != Name || json.Unmarshal(h.State, &st) != nil || st.TaskID == "" {
		return nil
	}
	b.mu.Lock()
	t := b.tasks[st.TaskID]
	if t == nil {
		t = b.adopt(st)
	}
	ended := t.ended
	b.mu.Unlock()
	if ended {
		return nil
	}
	if err := b.waitConnected(ctx); err != nil {
		return fmt.Errorf("mesos: stop %s: %w", st.TaskID, err)
	}
	b.kill(t, grace)
	for {
		select {
		case <-t.done:
			return nil
		case <-time.After(grace + 5*time.Second):
			b.kill(t, 0) // the KILL may have been lost with a stream
		case <-b.ctx.Done():
			return errors.New("mesos: stop " + st.TaskID + ": the framework is closed")
		case <-ctx.Done():
			return fmt.Errorf("mesos: stop %s: %w", st.TaskID, ctx.Err())
		}
	}
}

// kill sends KILL (grace 0: the task's kill policy).
func (b *Backend) kill(t *task, grace time.Duration) {
	b.mu.Lock()
	t.stopping = true
	agent := t.agentID
	b.mu.Unlock()
	k := &wire.Kill{TaskID: &wire.ID{Value: t.id}}
	if agent != "" {
		k.AgentID = &wire.ID{Value: agent}
	}
	if grace > 0 {
		k.KillPolicy = &wire.KillPolicy{GracePeriod: &wire.DurationInfo{Nanoseconds: grace.Nanoseconds()}}
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.CallTimeout)
	defer cancel()
	if err := b.sendCall(ctx, wire.Call{Type: "KILL", Kill: k}); err != nil {
		b.log.Warn("mesos kill", "task", t.id, "err", err)
	}
}

func (b *Backend) waitConnected(ctx context.Context) error {
	b.mu.Lock()
	c := b.connected
	b.mu.Unlock()
	select {
	case <-c:
		return nil
	case <-b.ctx.Done():
		return errors.New("the Mesos framework is closed")
	case <-ctx.Done():
		return fmt.Errorf("not subscribed to the Mesos master: %w", ctx.Err())
	}
}

func (b *Backend) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func describe(r wire.Resources) string {
	s := num(r.CPUs) + " CPUs and " + mib(r.Mem)
	if r.GPUs > 0 {
		s += " and " + num(r.GPUs) + " GPUs"
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// mib formats MiB for people: "512 MiB", "64 GiB", "1.5 GiB".
func mib(m float64) string {
	if m >= 1024 {
		return strconv.FormatFloat(float64(int(m/1024*10+0.5))/10, 'f', -1, 64) + " GiB"
	}
	return num(m) + " MiB"
}

func constraintsText(cs []spawner.Constraint) string {
	var parts []string
	for _, c := range cs {
		s := c.Field + ":" + c.Operator
		if c.Value != "" {
			s += ":" + c.Value
		}
		parts = append(parts, strings.ReplaceAll(s, ":", " "))
	}
	return strings.Join(parts, ", ")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// safeID keeps what a task id may hold.
func safeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

type memIDs struct {
	mu sync.Mutex
	id string
}

func (m *memIDs) Get(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id, nil
}

func (m *memIDs) Set(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id = id
	return nil
}
