package spawner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Defaults the hub's flags use. A zero Options field means the default
// for durations that cannot sensibly be zero, and "none" or "off" for
// limits and the culler, as documented on each field.
const (
	DefaultStartTimeout         = 120 * time.Second
	DefaultConcurrentSpawnLimit = 100
	DefaultStopGrace            = 10 * time.Second
	DefaultIdleTimeout          = time.Hour
	DefaultCullInterval         = 60 * time.Second
)

// Options tune a Manager.
type Options struct {
	// StartTimeout bounds a whole start, from the request until the
	// server answers (0: DefaultStartTimeout). Past it the server is
	// stopped and the spawn fails.
	StartTimeout time.Duration
	// ConcurrentSpawnLimit caps servers starting at once; past it Start
	// returns a LimitError matching ErrTooManySpawns (0: no limit; the
	// hub's flag defaults to DefaultConcurrentSpawnLimit).
	ConcurrentSpawnLimit int
	// ActiveServerLimit caps servers starting, running or stopping; past
	// it Start returns a LimitError matching ErrActiveLimit (0: no limit).
	ActiveServerLimit int
	// StopGrace is how long a server has to exit after being asked before
	// it is killed (0: DefaultStopGrace).
	StopGrace time.Duration
	// IdleTimeout: a running server with no proxied traffic and no busy
	// kernel for this long is stopped (0: never; the hub's flag defaults
	// to DefaultIdleTimeout).
	IdleTimeout time.Duration
	// CullInterval is how often Run looks for idle servers (0:
	// DefaultCullInterval).
	CullInterval time.Duration
	// CullBusy: cull idle servers even while a kernel is busy.
	CullBusy bool
	// MaxAge: a server running longer than this is stopped whatever it
	// does (0: no limit).
	MaxAge time.Duration
	// PollInterval is how often a running server's Status is checked
	// when its backend is not a Waiter (0: 10s).
	PollInterval time.Duration
	// FlushInterval is how often Run writes activity to the database
	// (0: 30s).
	FlushInterval time.Duration
	// SparkInterval is how often Run reads running servers' Spark
	// applications (0: DefaultSparkInterval).
	SparkInterval time.Duration
	// RecoverTimeout is how long a recovered server has to answer before
	// it is stopped as broken (0: 30s).
	RecoverTimeout time.Duration
	// LogLines is how many of a server's last log lines admins see (0: 20).
	LogLines int
	// Env, when set, returns extra environment for a user's server (the
	// hub gives SPARKHUB_CONTENTS_URL and SPARKHUB_CONTENTS_TOKEN). An
	// error fails the start. A Bootstrapper's server gets it when it
	// trades its credential (Bootstrap), not in its start.
	Env func(ctx context.Context, u User) (map[string]string, error)
	// RevokeEnv, when set, takes back what Env handed a server once the
	// server has ended (stopped, failed, or found gone), so nothing it
	// held outlives it: the hub revokes its contents token. Errors are
	// logged.
	RevokeEnv func(ctx context.Context, u User) error
	// BootstrapURL is where a Bootstrapper's server trades its
	// credential: the user's bootstrap endpoint on the hub. Required
	// when the backend new servers start on is a Bootstrapper.
	BootstrapURL func(user string) string
	// Profiles resolves the profile of each start into the server's
	// spec, which the backend gets; nil gives every profile an empty
	// spec (the backend's defaults).
	Profiles Profiles
	// Users names the users of the servers RecoverAll finds. Required.
	Users Users
	// Logger receives the lifecycle's events; nil discards them. Tokens
	// never reach it.
	Logger *slog.Logger
	// HTTPClient probes servers; nil uses one that ignores proxy
	// settings and times out each probe after 5s.
	HTTPClient *http.Client
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StartTimeout, DefaultStartTimeout)
	def(&o.StopGrace, DefaultStopGrace)
	def(&o.CullInterval, DefaultCullInterval)
	def(&o.PollInterval, 10*time.Second)
	def(&o.FlushInterval, 30*time.Second)
	def(&o.SparkInterval, DefaultSparkInterval)
	def(&o.RecoverTimeout, 30*time.Second)
	if o.LogLines <= 0 {
		o.LogLines = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout: 5 * time.Second,
			Transport: &http.Transport{
				Proxy:                 nil,
				DialContext:           Dial,
				MaxIdleConnsPerHost:   1,
				IdleConnTimeout:       30 * time.Second,
				ResponseHeaderTimeout: 5 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
}

// Manager owns every user's default server: it admits starts under the
// limits, resolves each start's profile into the spec its backend gets,
// runs one goroutine per live server that takes it from spawn through
// running to stopped, records each step in hub_servers (the table is
// its own: every question about servers comes to it), answers the
// proxy's route lookups from memory, tracks activity for the culler,
// and recovers servers after a hub restart. Build one in main with New,
// call RecoverAll before serving, run Run in the background, and Close on
// shutdown. Closing never stops a server.
//
// Servers are known by user name in memory and by user id in the
// database; the hub hands over the user it loaded (User). A running
// server serves under /user/{name}/: stop a user's server before
// renaming or deleting them.
type Manager struct {
	opts     Options
	log      *slog.Logger
	store    *store
	backend  Backend            // used for new servers
	backends map[string]Backend // by name, for recovery

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // runners

	index sync.Map // user name → *server, live servers only; read without locks

	mu       sync.Mutex // admission: index writes, counts, closed
	spawning int
	active   int
	closed   bool
}

// New returns a manager over gdb's hub_servers. The first backend starts
// new servers; every backend given recovers servers it started before
// (so a hub switched from one backend to another still finds the old
// servers); a backend that is a Reconciler is handed the manager to ask
// which servers the hub holds. It loads, or makes on first use, the key
// sealing server tokens in the database.
func New(ctx context.Context, gdb *gorm.DB, opts Options, backends ...Backend) (*Manager, error) {
	if len(backends) == 0 {
		return nil, errors.New("spawner: no backend")
	}
	if opts.Users == nil {
		return nil, errors.New("spawner: no Users to name the servers it recovers")
	}
	if _, ok := backends[0].(Bootstrapper); ok && opts.BootstrapURL == nil {
		return nil, errors.New("spawner: the backend's servers fetch their secrets from the hub, but no BootstrapURL says where")
	}
	opts.defaults()
	st, err := newStore(ctx, gdb)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opts:     opts,
		log:      opts.Logger,
		store:    st,
		backend:  backends[0],
		backends: make(map[string]Backend, len(backends)),
	}
	for _, b := range backends {
		m.backends[b.Name()] = b
		if r, ok := b.(Reconciler); ok {
			r.SetKnown(m)
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// server is one live server. The runner goroutine owns its lifecycle;
// others read it through atomics and mu.
type server struct {
	user    string
	userID  int64
	url     string // "/user/{name}/"
	profile string
	spec    Spec // what a start hands the backend
	started time.Time

	state        atomic.Value // State; written under Manager.mu
	route        atomic.Pointer[route]
	lastActivity atomic.Int64 // unix nanoseconds
	flushed      atomic.Int64 // lastActivity as last written

	progress *progress
	ready    chan struct{} // closed once running and answering
	done     chan struct{} // closed when the runner ends

	mu            sync.Mutex
	backend       Backend
	handle        *Handle
	target        *url.URL
	token         string
	busy          map[string]time.Time // kernel id → when the relay last saw it busy; zero once its websocket closed
	stopRequested bool
	stopReason    string
	stopCh        chan struct{} // closed to ask the runner to stop
	cancelSpawn   context.CancelFunc
	failReason    string // why the spawn failed, for Start's caller
	refused       bool   // the backend refused it (Failure.Refused)
	// bootstrap: the server fetches its secrets with a credential (its
	// backend is a Bootstrapper) and proves it holds its token before
	// the hub sends it; credential is that credential, until the
	// backend has it.
	bootstrap  bool
	credential string
	// spark is its Spark application as last read (ReadSpark), nil
	// when it runs none.
	spark atomic.Pointer[SparkApp]
}

type route struct {
	target *url.URL
	token  string
}

func (s *server) getState() State { return s.state.Load().(State) }

func (s *server) markActive(t time.Time) {
	n := t.UnixNano()
	for {
		old := s.lastActivity.Load()
		if n <= old || s.lastActivity.CompareAndSwap(old, n) {
			return
		}
	}
}

func (s *server) activity() time.Time {
	if n := s.lastActivity.Load(); n > 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Time{}
}

func newServer(user string, userID int64, profile string, b Backend, state State) *server {
	s := &server{
		user:     user,
		userID:   userID,
		url:      UserURL(user),
		profile:  profile,
		backend:  b,
		progress: newProgress(),
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
		stopCh:   make(chan struct{}),
		busy:     map[string]time.Time{},
	}
	s.state.Store(state)
	return s
}

// UserURL is the path a user's server lives under: "/user/{name}/".
func UserURL(user string) string { return "/user/" + url.PathEscape(user) + "/" }

// setState moves s to st, keeping the admission counts.
func (m *Manager) setState(s *server, st State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count(s.getState(), -1)
	s.state.Store(st)
	m.count(st, +1)
}

func (m *Manager) count(st State, d int) {
	if st == Spawning {
		m.spawning += d
	}
	if st.Live() {
		m.active += d
	}
}

func (m *Manager) lookup(user string) *server {
	if v, ok := m.index.Load(user); ok {
		return v.(*server)
	}
	return nil
}

// Start starts the user's server with the given profile ("" for the
// default) and waits until it is ready, its spawn fails, or ctx ends,
// whichever comes first; the spawn itself goes on after ctx ends. It
// returns ready=true when the server answers (201), false while it is
// still starting (202). Errors: ErrNoProfile (from Profiles),
// ErrAlreadyRunning, ErrPending, a *LimitError (ErrTooManySpawns,
// ErrActiveLimit: 429 with its RetryAfter), ErrNoUser (no user has u's
// id), a *SpawnError (ErrSpawnFailed) when the spawn failed while
// waiting, ErrClosed.
func (m *Manager) Start(ctx context.Context, u User, profile string) (ready bool, err error) {
	spec, err := m.resolve(profile)
	if err != nil {
		return false, err
	}
	user, userID := u.Name, u.ID
	s := newServer(user, userID, profile, m.backend, Spawning)
	s.spec = spec
	s.token = newToken()
	s.started = now()
	_, s.bootstrap = m.backend.(Bootstrapper)
	spawnCtx, cancel := context.WithTimeout(m.ctx, m.opts.StartTimeout)
	s.cancelSpawn = cancel
	if err := m.admit(s, true); err != nil {
		cancel()
		return false, err
	}
	r := &row{
		UserID:        userID,
		State:         Spawning,
		Profile:       profile,
		HandleBackend: m.backend.Name(),
		Token:         m.store.seal(userID, s.token),
		Started:       &s.started,
	}
	if s.bootstrap {
		// Good once, until the start's deadline; only its hash is kept.
		s.credential = newToken()
		expires := s.started.Add(m.opts.StartTimeout)
		r.BootstrapHash, r.BootstrapExpires = bootstrapHash(s.credential), &expires
	}
	if err := m.store.begin(ctx, r); err != nil {
		cancel()
		m.mu.Lock()
		m.count(Spawning, -1)
		m.index.CompareAndDelete(user, s)
		m.mu.Unlock()
		m.wg.Done()
		close(s.done)
		return false, err
	}
	m.log.Info("server start requested", "user", user, "profile", profile)
	go m.run(s, spawnCtx)
	select {
	case <-s.ready:
		return true, nil
	case <-s.done:
		if m.ctx.Err() != nil {
			return false, ErrClosed
		}
		s.mu.Lock()
		reason, refused := s.failReason, s.refused
		s.mu.Unlock()
		return false, &SpawnError{Reason: reason, Refused: refused}
	case <-ctx.Done():
		return false, nil
	}
}

// resolve is the spec of a profile: once per start, before anything is
// admitted or recorded.
func (m *Manager) resolve(profile string) (Spec, error) {
	if m.opts.Profiles == nil {
		return Spec{}, nil
	}
	return m.opts.Profiles.Resolve(profile)
}

// admit registers s, checking the limits when asked (recovered servers
// are not refused: they already run); on success the caller owns a
// runner slot in m.wg.
func (m *Manager) admit(s *server, limits bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if old := m.lookup(s.user); old != nil {
		if old.getState() == Running {
			return ErrAlreadyRunning
		}
		return ErrPending
	}
	if l := m.opts.ConcurrentSpawnLimit; limits && l > 0 && m.spawning >= l {
		return &LimitError{Err: ErrTooManySpawns, RetryAfter: retryAfter()}
	}
	if l := m.opts.ActiveServerLimit; limits && l > 0 && m.active >= l {
		return &LimitError{Err: ErrActiveLimit, RetryAfter: retryAfter()}
	}
	m.count(s.getState(), +1)
	m.index.Store(s.user, s)
	m.wg.Add(1)
	return nil
}

// retryAfter is JupyterHub's spawn_throttle_retry_range: 30-60 s,
// randomised so refused clients do not all come back at once.
func retryAfter() time.Duration {
	n, _ := rand.Int(rand.Reader, big.NewInt(31))
	return time.Duration(30+n.Int64()) * time.Second
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Stop stops the user's server (cancelling a start under way) and waits
// until it is stopped or ctx ends: stopped=true when it is (204), false
// while it is still stopping (202). ErrNotRunning when there is nothing
// to stop.
func (m *Manager) Stop(ctx context.Context, user string) (stopped bool, err error) {
	return m.stop(ctx, user, "Your server was stopped.")
}

func (m *Manager) stop(ctx context.Context, user, reason string) (bool, error) {
	s := m.lookup(user)
	if s == nil {
		return false, ErrNotRunning
	}
	s.requestStop(reason)
	select {
	case <-s.done:
		if m.ctx.Err() != nil {
			return false, ErrClosed
		}
		return true, nil
	case <-ctx.Done():
		return false, nil
	}
}

// requestStop asks the runner to stop the server, once.
func (s *server) requestStop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopRequested {
		return
	}
	s.stopRequested = true
	s.stopReason = reason
	close(s.stopCh)
	if s.cancelSpawn != nil {
		s.cancelSpawn()
	}
}

// Route is the proxy's lookup, answered from memory without locks. ok is
// true when the server is running and answering: target is its address
// (scheme and host; forward the request's path whole; do not modify it)
// and token the one to send as "Authorization: token <token>". Otherwise
// state says what to do: Spawning → send browsers to the progress page;
// anything else → offer to start.
func (m *Manager) Route(user string) (target *url.URL, token string, state State, ok bool) {
	s := m.lookup(user)
	if s == nil {
		return nil, "", Stopped, false
	}
	if r := s.route.Load(); r != nil {
		return r.target, r.token, Running, true
	}
	return nil, "", s.getState(), false
}

// MarkActive records activity on the user's server at t (a proxied
// request or websocket message, or the owner's contents traffic through
// the hub) while it runs; a server starting or stopping is not made
// active. It is kept in memory and written to the database in batches by
// Run. Cheap enough to call on every request.
func (m *Manager) MarkActive(user string, t time.Time) {
	if s := m.lookup(user); s != nil && s.route.Load() != nil {
		s.markActive(t)
	}
}

// RecordActivity records activity the user's server reported at t
// (JupyterHub's POST /hub/api/users/{name}/activity): in memory if it
// runs, and in the database at once, never moving last_activity
// backwards. ErrNoServer if the user never had a server.
func (m *Manager) RecordActivity(ctx context.Context, u User, t time.Time) error {
	rows, err := m.store.byUsers(ctx, []int64{u.ID})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return ErrNoServer
	}
	if s := m.lookup(u.Name); s != nil {
		s.markActive(t)
	}
	return m.store.flushActivity(ctx, map[int64]time.Time{u.ID: t.UTC()})
}

// KernelBusy records a kernel's execution state as the relay sees it in
// iopub status messages. A busy kernel keeps its server from being culled
// (unless CullBusy) for as long as the hub can vouch for it: while its
// websocket is open and for KernelBusyTrust after the last busy status
// relayed. A kernel going idle counts as activity.
func (m *Manager) KernelBusy(user, kernelID string, busy bool) {
	s := m.lookup(user)
	if s == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	_, was := s.busy[kernelID]
	if busy {
		s.busy[kernelID] = now
	} else {
		delete(s.busy, kernelID)
	}
	s.mu.Unlock()
	if busy || was {
		s.markActive(now)
	}
}

// KernelClosed records that a kernel's websocket closed: from then on the
// relay would not see the kernel go idle, so a busy mark it left no
// longer counts, and the culler asks the server's /api/kernels instead.
func (m *Manager) KernelClosed(user, kernelID string) {
	s := m.lookup(user)
	if s == nil {
		return
	}
	s.mu.Lock()
	if _, ok := s.busy[kernelID]; ok {
		s.busy[kernelID] = time.Time{}
	}
	s.mu.Unlock()
}

// KernelBusyTrust is how long a busy status the relay saw counts without
// another: a kernel busy longer than this (or whose websocket closed) is
// busy only if the server's /api/kernels says so when the culler asks.
const KernelBusyTrust = 5 * time.Minute

// busyKernels counts the kernels the relay saw busy that still count at
// now (see KernelBusyTrust).
func (s *server) busyKernels(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.busy {
		if !t.IsZero() && now.Sub(t) <= KernelBusyTrust {
			n++
		}
	}
	return n
}

// forgetStaleBusy drops the busy marks that no longer count at now: once
// the culler has asked the server, what it says replaces them.
func (s *server) forgetStaleBusy(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.busy {
		if t.IsZero() || now.Sub(t) > KernelBusyTrust {
			delete(s.busy, k)
		}
	}
}

// Progress streams the user's spawn events in JupyterHub's shape. A
// server already ready gets one ready event; a spawn under way streams
// its events from the first, ending after the ready or failed one (or
// when ctx ends); a server whose last spawn failed gets one failed event.
// Otherwise ErrNotRunning (JupyterHub answers 400).
func (m *Manager) Progress(ctx context.Context, u User) (<-chan Event, error) {
	if s := m.lookup(u.Name); s != nil {
		switch s.getState() {
		case Running:
			return single(readyEvent(s.url)), nil
		case Spawning:
			return s.progress.subscribe(ctx), nil
		}
		return nil, ErrNotRunning
	}
	rows, err := m.store.byUsers(ctx, []int64{u.ID})
	if err != nil {
		return nil, err
	}
	if len(rows) == 1 && rows[0].State == Failed {
		return single(failedEvent(rows[0].StopReason)), nil
	}
	return nil, ErrNotRunning
}

// Server returns the user's default server, with its last log lines for
// admins. A user who never started one gets a Stopped model.
func (m *Manager) Server(ctx context.Context, u User) (Model, error) {
	rows, err := m.store.byUsers(ctx, []int64{u.ID})
	if err != nil {
		return Model{}, err
	}
	var r *row
	if len(rows) == 1 {
		r = &rows[0]
	}
	md := m.model(u.Name, r)
	if r != nil {
		md.LogTail = splitLines(r.LogTail)
	}
	if s := m.lookup(u.Name); s != nil {
		if lines := m.tail(s, m.opts.LogLines); lines != nil {
			md.LogTail = lines
		}
	}
	return md, nil
}

// StoppedLogs returns the last log lines kept for the users' servers
// that failed or stopped, by user, for admins: one query for a page of
// users (keep it to a page), no backend asked. Live servers are left out
// (Server reads theirs from the backend). The map is by user name.
func (m *Manager) StoppedLogs(ctx context.Context, users []User) (map[string][]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	tails, err := m.store.logTails(ctx, userIDs(users))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(tails))
	for _, u := range users {
		tail, ok := tails[u.ID]
		if !ok {
			continue
		}
		if s := m.lookup(u.Name); s != nil && s.getState().Live() {
			continue
		}
		if lines := splitLines(&tail); len(lines) > 0 {
			out[u.Name] = lines
		}
	}
	return out, nil
}

// Servers returns the default servers of many users at once (the users
// list asks for thousands), in as few queries as the engines allow (one
// per 10,000 users), without log lines. The map is by user name, and
// every user asked for is in it; users who never started a server get a
// Stopped model.
func (m *Manager) Servers(ctx context.Context, users []User) (map[string]Model, error) {
	rows, err := m.store.byUsers(ctx, userIDs(users))
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*row, len(rows))
	for i := range rows {
		byID[rows[i].UserID] = &rows[i]
	}
	out := make(map[string]Model, len(users))
	for _, u := range users {
		out[u.Name] = m.model(u.Name, byID[u.ID])
	}
	return out, nil
}

func userIDs(users []User) []int64 {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// Handles lists the handles hub_servers holds of the named backend: the
// servers the hub knows there. It implements Known, for a backend that
// must tell the hub's servers from strangers.
func (m *Manager) Handles(ctx context.Context, backend string) ([]Handle, error) {
	return m.store.handles(ctx, backend)
}

// model merges a user's row (may be nil) with what memory knows.
func (m *Manager) model(user string, r *row) Model {
	md := Model{User: user, State: Stopped, URL: UserURL(user)}
	if r != nil {
		md.State = r.State
		md.Profile = r.Profile
		md.Started = r.Started
		md.LastActivity = r.LastActivity
		md.Stopped = r.Stopped
		md.StopReason = r.StopReason
	}
	if s := m.lookup(user); s != nil && s.getState().Live() {
		md.State = s.getState()
		md.Profile = s.profile
		if !s.started.IsZero() {
			t := s.started
			md.Started = &t
		}
		if a := s.activity(); !a.IsZero() && (md.LastActivity == nil || a.After(*md.LastActivity)) {
			md.LastActivity = &a
		}
		md.Stopped, md.StopReason = nil, ""
		md.BusyKernels = s.busyKernels(time.Now())
		if s.route.Load() != nil {
			md.Spark = s.spark.Load()
		}
	}
	md.Ready = md.State == Running
	md.Pending = md.State.Pending()
	return md
}

func (m *Manager) tail(s *server, n int) []string {
	s.mu.Lock()
	b, h, token := s.backend, s.handle, s.token
	s.mu.Unlock()
	lt, ok := b.(LogTailer)
	if !ok || h == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lines, err := lt.LogTail(ctx, *h, n)
	if err != nil {
		m.log.Warn("read server log", "user", s.user, "err", err)
		return nil
	}
	return redact(lines, token)
}

// Run culls idle servers every CullInterval, writes activity to the
// database every FlushInterval, reads servers' Spark applications every
// SparkInterval, until ctx ends or the manager closes.
func (m *Manager) Run(ctx context.Context) error {
	flush := time.NewTicker(m.opts.FlushInterval)
	defer flush.Stop()
	spark := time.NewTicker(m.opts.SparkInterval)
	defer spark.Stop()
	var cull <-chan time.Time
	if m.opts.IdleTimeout > 0 || m.opts.MaxAge > 0 {
		t := time.NewTicker(m.opts.CullInterval)
		defer t.Stop()
		cull = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.ctx.Done():
			return nil
		case <-flush.C:
			if err := m.Flush(ctx); err != nil {
				m.log.Warn("write activity", "err", err)
			}
		case t := <-cull:
			m.Cull(ctx, t)
		case <-spark.C:
			m.ReadSpark(ctx)
		}
	}
}

// Flush writes activity recorded since the last flush to hub_servers, in
// one transaction.
func (m *Manager) Flush(ctx context.Context) error {
	batch := map[int64]time.Time{}
	var servers []*server
	m.index.Range(func(_, v any) bool {
		s := v.(*server)
		if n := s.lastActivity.Load(); n > s.flushed.Load() {
			batch[s.userID] = time.Unix(0, n).UTC().Truncate(time.Microsecond)
			servers = append(servers, s)
		}
		return true
	})
	if err := m.store.flushActivity(ctx, batch); err != nil {
		return err
	}
	for _, s := range servers {
		s.flushed.Store(batch[s.userID].UnixNano())
	}
	return nil
}

// Close ends the manager's goroutines and writes pending activity. It
// never stops a server: the next hub recovers them.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Flush(ctx)
}

// RecoverAll takes over every server a previous hub left live: a server
// that is still running (its backend recovers it and it answers) is routed
// again without a restart; one that is gone is marked stopped with the
// reason kept; a start or stop that was under way is finished. It returns
// once every server that was running is routed or stopped. Call it once,
// before serving.
func (m *Manager) RecoverAll(ctx context.Context) error {
	rows, err := m.store.live(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.UserID
	}
	names, err := m.opts.Users.Names(ctx, ids)
	if err != nil {
		return fmt.Errorf("name the users of live servers: %w", err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	n := 0
	for _, r := range rows {
		user, ok := names[r.UserID]
		if !ok {
			continue // no such user: deleting one deletes their rows
		}
		n++
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m.recoverOne(ctx, r, user)
		})
	}
	wg.Wait()
	m.log.Info("servers recovered", "count", n)
	return nil
}

func (m *Manager) recoverOne(ctx context.Context, r row, user string) {
	log := m.log.With("user", user)
	b := m.backends[r.HandleBackend]
	if r.HandleID == "" || b == nil {
		reason := "Your server stopped while the hub restarted."
		state := Stopped
		if r.State == Spawning {
			reason = "The hub restarted while your server was starting."
			state = Failed
		}
		if b == nil && r.HandleID != "" {
			log.Warn("server's backend is not configured; marking it stopped", "backend", r.HandleBackend)
		}
		// A start the hub died in may have left a server with no
		// handle: end it, so nothing runs that nobody can reach.
		if sw, ok := b.(Sweeper); ok && r.HandleID == "" && r.State == Spawning {
			if err := sw.Sweep(ctx, user); err != nil {
				log.Warn("end a server left by an interrupted start", "err", err)
			}
		}
		m.markGone(ctx, User{ID: r.UserID, Name: user}, state, reason, nil)
		return
	}
	h := Handle{Backend: r.HandleBackend, ID: r.HandleID, State: r.HandleState}
	// The log's last lines only for a server that will not be routed
	// again: reading 2,000 logs would slow every hub start.
	token, terr := m.store.open(r.UserID, r.Token)
	tail := func() []string {
		if lt, ok := b.(LogTailer); ok {
			lines, _ := lt.LogTail(ctx, h, m.opts.LogLines)
			return redact(lines, token)
		}
		return nil
	}
	if err := b.Recover(ctx, h); err != nil {
		if !errors.Is(err, ErrGone) {
			log.Error("recover server", "err", err)
		} else {
			log.Info("server gone while the hub was away")
		}
		m.markGone(ctx, User{ID: r.UserID, Name: user}, Stopped, "Your server stopped while the hub was away.", tail())
		return
	}
	target, perr := url.Parse(r.Target)
	if terr != nil || perr != nil || r.Target == "" {
		// Alive but unreachable for us: stop it rather than leave it
		// running unrouted.
		log.Error("recovered server has no usable token or address; stopping it")
		if err := b.Stop(ctx, h, m.opts.StopGrace); err != nil {
			log.Error("stop server", "err", err)
		}
		m.markGone(ctx, User{ID: r.UserID, Name: user}, Stopped, "Your server was stopped when the hub restarted.", tail())
		return
	}
	s := newServer(user, r.UserID, r.Profile, b, r.State)
	s.handle, s.target, s.token = &h, target, token
	// Started with a credential: it proves itself again before it is
	// routed again.
	s.bootstrap = r.BootstrapHash != ""
	if r.Started != nil {
		s.started = *r.Started
	}
	if r.LastActivity != nil {
		s.markActive(*r.LastActivity)
		s.flushed.Store(s.lastActivity.Load())
	} else if r.ReadyAt != nil {
		s.markActive(*r.ReadyAt)
	}
	// A running server has RecoverTimeout to answer again; a start
	// under way keeps what is left of its StartTimeout (at least that).
	wait := m.opts.RecoverTimeout
	if r.State == Spawning {
		wait = max(m.opts.StartTimeout-time.Since(s.started), wait)
	}
	spawnCtx, cancel := context.WithTimeout(m.ctx, wait)
	s.cancelSpawn = cancel
	if err := m.admit(s, false); err != nil {
		cancel()
		log.Error("recover server", "err", err)
		return
	}
	if r.State == Stopping {
		s.requestStop(r.StopReason)
	}
	go m.run(s, spawnCtx)
	if r.State == Running {
		select {
		case <-s.ready:
		case <-s.done:
		case <-ctx.Done():
		}
	}
}

// markGone records a server this hub does not hold as ended.
func (m *Manager) markGone(ctx context.Context, u User, st State, reason string, tail []string) {
	log := m.log.With("user", u.Name)
	if err := m.store.update(ctx, u.ID, endedColumns(st, reason, tail)); err != nil {
		log.Error("record server stop", "err", err)
	}
	m.revokeEnv(ctx, u, log)
}

// revokeEnv takes back what Options.Env handed the user's server, which
// has ended.
func (m *Manager) revokeEnv(ctx context.Context, u User, log *slog.Logger) {
	if m.opts.RevokeEnv == nil {
		return
	}
	if err := m.opts.RevokeEnv(ctx, u); err != nil {
		log.Error("revoke what the server was handed", "err", err)
	}
}
