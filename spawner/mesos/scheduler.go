package mesos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/spawner/mesos/internal/wire"
)

// errRemoved: the master removed the framework (failover timeout or
// teardown); its tasks are gone.
var errRemoved = errors.New("framework has been removed")

// Run implements spawner.Runner: it subscribes the framework and keeps
// it subscribed, resubscribing with backoff whenever the stream breaks,
// until ctx ends. Then it hangs up without tearing the framework down:
// the tasks keep running for the next hub. Start, Recover, Status and
// Stop wait (within their own contexts) for the subscription Run makes;
// once Run has returned, those that need the master fail. Call it once.
func (b *Backend) Run(ctx context.Context) error {
	if !b.ran.CompareAndSwap(false, true) {
		return errors.New("mesos: the framework is already running")
	}
	context.AfterFunc(ctx, b.cancel)
	if b.zk != nil {
		defer b.zk.close()
	}
	b.resubscribe()
	return nil
}

// resubscribe keeps the framework subscribed until b.ctx ends.
func (b *Backend) resubscribe() {
	backoff := b.opts.MinBackoff
	for b.ctx.Err() == nil {
		start := time.Now()
		err := b.subscribe()
		if b.ctx.Err() != nil {
			return
		}
		if time.Since(start) > 30*time.Second {
			backoff = b.opts.MinBackoff // it was up for a while
		}
		if errors.Is(err, errRemoved) {
			backoff = b.opts.MinBackoff
		}
		// Jitter of ±25%, so many hubs do not come back in step.
		d := time.Duration(float64(backoff) * (0.75 + 0.5*mrand.Float64()))
		b.log.Warn("mesos subscription ended; subscribing again", "err", err, "in", d.Round(time.Millisecond))
		select {
		case <-time.After(d):
		case <-b.ctx.Done():
			return
		}
		backoff = min(backoff*2, b.opts.MaxBackoff)
	}
}

// candidates returns the base URLs to try, the known leader first.
func (b *Backend) candidates() ([]string, error) {
	if b.zk != nil {
		m, err := b.zk.leader(b.ctx)
		if err != nil {
			return nil, err
		}
		return []string{m}, nil
	}
	b.mu.Lock()
	cur := b.master
	b.mu.Unlock()
	out := []string{}
	if cur != "" {
		out = append(out, cur)
	}
	for _, m := range b.masters {
		if m != cur {
			out = append(out, m)
		}
	}
	return out, nil
}

// subscribe opens one subscription and serves it until it breaks.
func (b *Backend) subscribe() error {
	masters, err := b.candidates()
	if err != nil {
		return err
	}
	fwID, err := b.opts.IDs.Get(b.ctx)
	if err != nil {
		return fmt.Errorf("read the framework id: %w", err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	s, err := b.dial(ctx, masters, fwID)
	if err != nil {
		return err
	}
	defer s.body.Close()
	return b.serve(ctx, cancel, s)
}

// stream is one subscription, from dial to its end.
type stream struct {
	master  string // the leader serving it
	id      string // its Mesos-Stream-Id
	fwID    string // the framework id it was opened with; "" for a new framework
	body    io.ReadCloser
	records *wire.RecordReader // the events, one RecordIO record each
	dog     *watchdog
	wg      sync.WaitGroup // its goroutines
}

// dial subscribes the framework with id fwID ("" for a new one): it
// sends SUBSCRIBE to the masters in turn and returns the stream of the
// first that opens one.
func (b *Backend) dial(ctx context.Context, masters []string, fwID string) (*stream, error) {
	body, err := json.Marshal(b.subscribeCall(fwID))
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, m := range masters {
		resp, err := b.post(ctx, m+"/api/v1/scheduler", body)
		if err != nil {
			lastErr = err
			continue
		}
		id := resp.Header.Get("Mesos-Stream-Id")
		if id == "" {
			resp.Body.Close()
			return nil, errors.New("SUBSCRIBE answer without Mesos-Stream-Id")
		}
		return &stream{
			master: strings.TrimSuffix(resp.Request.URL.String(), "/api/v1/scheduler"),
			id:     id, fwID: fwID, body: resp.Body, records: wire.NewRecordReader(resp.Body),
		}, nil
	}
	return nil, lastErr
}

// maxRedirects bounds the 307s one SUBSCRIBE follows.
const maxRedirects = 10

// post sends SUBSCRIBE to target, following the 307s of masters that do
// not lead by hand (Basic auth kept), and returns the leader's 200.
func (b *Backend) post(ctx context.Context, target string, body []byte) (*http.Response, error) {
	for range maxRedirects {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		b.auth(req)
		resp, err := b.streams.Do(req)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			return resp, nil
		case http.StatusTemporaryRedirect:
			resp.Body.Close()
			if target, err = resolve(target, resp.Header.Get("Location")); err != nil {
				return nil, err
			}
		default:
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("SUBSCRIBE to %s: %s %s", hostOf(target), resp.Status, strings.TrimSpace(string(msg)))
		}
	}
	return nil, fmt.Errorf("SUBSCRIBE to %s: more than %d redirects", hostOf(target), maxRedirects)
}

// watchdog hangs up a stream silent for MissedHeartbeats heartbeat
// intervals: Mesos's 15 s until SUBSCRIBED says the interval.
type watchdog struct {
	missed  int
	silence time.Duration
	timer   *time.Timer
}

func newWatchdog(missed int, hangUp func()) *watchdog {
	d := &watchdog{missed: missed, silence: time.Duration(missed) * 15 * time.Second}
	d.timer = time.AfterFunc(d.silence, hangUp)
	return d
}

// heard restarts the count: the stream spoke.
func (d *watchdog) heard() { d.timer.Reset(d.silence) }

// interval is the master's heartbeat interval; none when seconds <= 0.
func (d *watchdog) interval(seconds float64) {
	if seconds > 0 {
		d.silence = time.Duration(float64(d.missed) * seconds * float64(time.Second))
		d.timer.Reset(d.silence)
	}
}

func (d *watchdog) stop() { d.timer.Stop() }

// serve reads the stream's events and acts on them until it breaks, is
// silent too long or hung up, or the master ends it; it returns once the
// stream's goroutines have ended.
func (b *Backend) serve(ctx context.Context, hangUp context.CancelFunc, s *stream) error {
	defer s.wg.Wait()
	defer hangUp()
	s.dog = newWatchdog(b.opts.MissedHeartbeats, hangUp)
	defer s.dog.stop()
	defer b.disconnected()

	b.mu.Lock()
	b.hangUp = hangUp
	b.mu.Unlock()

	// New work must not wait for the next event: REVIVE at once.
	s.wg.Go(func() { b.serveKicks(ctx) })

	for {
		rec, err := s.records.Next()
		if err != nil {
			if ctx.Err() != nil && b.ctx.Err() == nil {
				return errors.New("no heartbeat from the master")
			}
			return fmt.Errorf("subscription stream: %w", err)
		}
		s.dog.heard()
		if err := b.dispatch(ctx, s, rec); err != nil {
			return err
		}
		// Between events: what Start and the queue asked for.
		b.maintain(ctx)
	}
}

// serveKicks answers what Start asks for (b.kick) until ctx ends.
func (b *Backend) serveKicks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
			b.maintain(ctx)
		}
	}
}

// dispatch acts on one event of the stream; an error ends the stream.
// HEARTBEAT only feeds the watchdog; RESCIND needs nothing, as no offer
// is held; FAILURE neither: the updates of the tasks say what ended.
func (b *Backend) dispatch(ctx context.Context, s *stream, rec []byte) error {
	var ev wire.Event
	if err := json.Unmarshal(rec, &ev); err != nil {
		return fmt.Errorf("subscription stream: bad event: %w", err)
	}
	switch ev.Type {
	case "SUBSCRIBED":
		return b.onSubscribed(ctx, s, ev.Subscribed)
	case "OFFERS":
		if ev.Offers != nil {
			b.offers(ctx, ev.Offers.Offers)
		}
	case "UPDATE":
		if ev.Update != nil {
			b.update(ctx, ev.Update.Status)
		}
	case "ERROR":
		return b.onError(ev.Error)
	}
	return nil
}

// onSubscribed: the stream is up. The framework id is stored before
// anything is launched under it; then every task is reconciled.
func (b *Backend) onSubscribed(ctx context.Context, s *stream, sub *wire.Subscribed) error {
	if sub == nil {
		return errors.New("SUBSCRIBED without its body")
	}
	s.dog.interval(float64(sub.HeartbeatIntervalSeconds))
	id := sub.FrameworkID.Value
	if id != s.fwID {
		if err := b.opts.IDs.Set(b.ctx, id); err != nil {
			return fmt.Errorf("store the framework id: %w", err)
		}
	}
	b.subscribed(s.master, s.id, id)
	b.log.Info("mesos framework subscribed", "framework_id", id, "master", hostOf(s.master))
	s.wg.Go(func() { b.reconcileAll(ctx) })
	return nil
}

// onError: the master ends the stream, saying why. A removed framework
// has lost its tasks.
func (b *Backend) onError(e *wire.ErrorInfo) error {
	msg := ""
	if e != nil {
		msg = e.Message
	}
	if strings.Contains(msg, "Framework has been removed") {
		b.removed()
		return errRemoved
	}
	return fmt.Errorf("master says: %s", msg)
}

// subscribeCall is the SUBSCRIBE of the framework with id fwID, ""
// for a new one: a known id goes both at the top and in framework_info.
func (b *Backend) subscribeCall(fwID string) wire.Call {
	call := wire.Call{Type: "SUBSCRIBE", Subscribe: &wire.Subscribe{FrameworkInfo: b.frameworkInfo(fwID)}}
	if fwID != "" {
		call.FrameworkID = &wire.ID{Value: fwID}
	}
	return call
}

// frameworkInfo is what SUBSCRIBE says about the hub.
func (b *Backend) frameworkInfo(id string) *wire.FrameworkInfo {
	caps := []wire.Capability{{Type: "MULTI_ROLE"}, {Type: "TASK_KILLING_STATE"}, {Type: "PARTITION_AWARE"}}
	if b.opts.Defaults.GPUs > 0 || b.opts.Containerizer == "MESOS" {
		caps = append(caps, wire.Capability{Type: "GPU_RESOURCES"})
	}
	info := &wire.FrameworkInfo{
		User: ptr(b.opts.User), Name: ptr(b.opts.FrameworkName), Roles: b.roles,
		FailoverTimeout: wire.Number(b.opts.FailoverTimeout.Seconds()), Checkpoint: true,
		Principal: b.opts.Principal, Hostname: b.opts.Hostname, WebUIURL: b.opts.WebUIURL,
		Capabilities: caps,
		Labels:       &wire.Labels{Labels: []wire.Label{{Key: "app", Value: "sparkhub"}}},
	}
	if id != "" {
		info.ID = &wire.ID{Value: id}
	}
	return info
}

func (b *Backend) auth(req *http.Request) {
	if b.opts.Principal != "" {
		req.SetBasicAuth(b.opts.Principal, b.opts.Secret)
	}
}

// resolve turns a 307's Location (often protocol-relative,
// "//host:port/api/v1/scheduler") into a URL.
func resolve(from, loc string) (string, error) {
	if loc == "" {
		return "", errors.New("307 without Location")
	}
	base, err := url.Parse(from)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad Location %q: %w", loc, err)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/v1/scheduler"
	}
	return u.String(), nil
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	return p.Host
}

func (b *Backend) subscribed(master, streamID, fwID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.master, b.streamID, b.fwID = master, streamID, fwID
	b.gen++
	b.suppressed = map[string]bool{} // a new subscription is not suppressed
	b.revive = map[string]bool{}
	select {
	case <-b.connected:
	default:
		close(b.connected)
	}
}

func (b *Backend) disconnected() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.streamID = ""
	select {
	case <-b.connected:
		b.connected = make(chan struct{})
	default:
	}
}

// removed: the framework is gone, and with it every task.
func (b *Backend) removed() {
	b.log.Error("the Mesos master removed the framework; its tasks are gone, registering anew")
	if err := b.opts.IDs.Set(b.ctx, ""); err != nil {
		b.log.Error("clear the framework id", "err", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.tasks {
		b.endLocked(t, "the cluster removed the hub's framework, and the server with it", -1)
	}
}

// reconcileAll asks about every task the hub (SetKnown) and this
// process know, then about every task the master has. It waits for
// SetKnown: without the hub's list, killing strangers would be wrong.
func (b *Backend) reconcileAll(ctx context.Context) {
	select {
	case <-b.knownSet:
	case <-ctx.Done():
		return
	}
	b.mu.Lock()
	known := b.known
	b.mu.Unlock()
	hs, err := known.Handles(ctx, Name)
	if err != nil {
		b.log.Error("list the hub's Mesos tasks", "err", err)
		return // without the list, killing strangers would be wrong
	}
	b.mu.Lock()
	for _, h := range hs {
		var st state
		if json.Unmarshal(h.State, &st) == nil && st.TaskID != "" && b.tasks[st.TaskID] == nil {
			b.adopt(st)
		}
	}
	var explicit []wire.ReconcileTask
	for _, t := range b.tasks {
		// Not those launched on this stream: the master may not have
		// seen their ACCEPT yet, and would call them unknown.
		if !t.ended && t.gen < b.gen {
			rt := wire.ReconcileTask{TaskID: &wire.ID{Value: t.id}}
			if t.agentID != "" {
				rt.AgentID = &wire.ID{Value: t.agentID}
			}
			explicit = append(explicit, rt)
		}
	}
	b.mu.Unlock()
	if len(explicit) > 0 {
		if err := b.sendCall(ctx, wire.Call{Type: "RECONCILE", Reconcile: &wire.Reconcile{Tasks: explicit}}); err != nil {
			b.log.Warn("mesos explicit reconciliation", "err", err)
		}
	}
	tick := time.NewTicker(b.opts.ReconcileInterval)
	defer tick.Stop()
	for {
		if err := b.sendCall(ctx, wire.Call{Type: "RECONCILE", Reconcile: &wire.Reconcile{}}); err != nil {
			b.log.Warn("mesos implicit reconciliation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// maintain sends REVIVE for the roles new work came for (or that wait
// while suppressed), SUPPRESS for the roles none waits for. Both name
// their roles: an empty list would mean every role.
func (b *Backend) maintain(ctx context.Context) {
	b.maintainMu.Lock() // a decision and its calls go together
	defer b.maintainMu.Unlock()
	b.mu.Lock()
	waits := map[string]bool{}
	for _, l := range b.queue {
		waits[l.spec.Role] = true
	}
	var revive, suppress []string
	for _, r := range b.roles {
		switch {
		case waits[r] && (b.revive[r] || b.suppressed[r]):
			revive = append(revive, r)
			b.suppressed[r] = false
		case !waits[r] && !b.suppressed[r]:
			suppress = append(suppress, r)
			b.suppressed[r] = true
		}
	}
	b.revive = map[string]bool{}
	b.mu.Unlock()
	if len(revive) > 0 {
		if err := b.sendCall(ctx, wire.Call{Type: "REVIVE", Revive: &wire.RoleList{Roles: revive}}); err != nil {
			b.log.Warn("mesos revive", "roles", revive, "err", err)
			b.mu.Lock()
			for _, r := range revive {
				b.revive[r] = true
			}
			b.mu.Unlock()
		}
	}
	if len(suppress) > 0 {
		if err := b.sendCall(ctx, wire.Call{Type: "SUPPRESS", Suppress: &wire.RoleList{Roles: suppress}}); err != nil {
			b.log.Warn("mesos suppress", "roles", suppress, "err", err)
			b.mu.Lock()
			for _, r := range suppress {
				b.suppressed[r] = false
			}
			b.mu.Unlock()
		}
	}
}

// sendCall posts a call to the master of the current stream, as the
// framework subscribed on it.
func (b *Backend) sendCall(ctx context.Context, call wire.Call) error {
	b.mu.Lock()
	master, sid, fw := b.master, b.streamID, b.fwID
	b.mu.Unlock()
	if sid == "" {
		return errors.New("not subscribed")
	}
	call.FrameworkID = &wire.ID{Value: fw}
	typ := call.Type
	body, err := json.Marshal(call)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, master+"/api/v1/scheduler", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mesos-Stream-Id", sid)
	b.auth(req)
	resp, err := b.calls.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// Not subscribed any more, a stale stream, or no longer the leader:
	// subscribe again.
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTemporaryRedirect ||
		resp.StatusCode == http.StatusServiceUnavailable || bytes.Contains(msg, []byte("stream ID")) {
		b.mu.Lock()
		if b.streamID == sid && b.hangUp != nil {
			b.hangUp()
		}
		b.mu.Unlock()
	}
	return fmt.Errorf("%s: %s %s", typ, strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(msg)))
}
