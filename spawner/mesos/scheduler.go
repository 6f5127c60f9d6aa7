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
	"time"
)

// errRemoved: the master removed the framework (failover timeout or
// teardown); its tasks are gone.
var errRemoved = errors.New("framework has been removed")

// run owns the subscription until Close.
func (b *Backend) run() {
	defer close(b.done)
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

// leader returns the base URLs to try, the known leader first.
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
	info := b.frameworkInfo(fwID)
	call := map[string]any{"type": "SUBSCRIBE", "subscribe": map[string]any{"framework_info": info}}
	if fwID != "" {
		call["framework_id"] = ID{Value: fwID}
	}
	body, _ := json.Marshal(call)
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var resp *http.Response
	var lastErr error
	for _, m := range masters {
		target := m + "/api/v1/scheduler"
		for hops := 0; hops < 10; hops++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			b.auth(req)
			r, err := b.streams.Do(req)
			if err != nil {
				lastErr = err
				break
			}
			if r.StatusCode == http.StatusTemporaryRedirect {
				loc := r.Header.Get("Location")
				r.Body.Close()
				next, err := resolve(target, loc)
				if err != nil {
					lastErr = err
					break
				}
				target = next
				continue
			}
			if r.StatusCode != http.StatusOK {
				msg, _ := io.ReadAll(io.LimitReader(r.Body, 512))
				r.Body.Close()
				lastErr = fmt.Errorf("SUBSCRIBE to %s: %s %s", hostOf(target), r.Status, strings.TrimSpace(string(msg)))
				break
			}
			resp = r
			break
		}
		if resp != nil {
			break
		}
	}
	if resp == nil {
		return lastErr
	}
	defer resp.Body.Close()
	master := strings.TrimSuffix(resp.Request.URL.String(), "/api/v1/scheduler")
	streamID := resp.Header.Get("Mesos-Stream-Id")
	if streamID == "" {
		return errors.New("SUBSCRIBE answer without Mesos-Stream-Id")
	}

	// The watchdog: a stream silent for MissedHeartbeats intervals is
	// dead. Until SUBSCRIBED says the interval, assume Mesos's 15 s.
	silence := time.Duration(b.opts.MissedHeartbeats) * 15 * time.Second
	dog := time.AfterFunc(silence, cancel)
	defer dog.Stop()
	defer b.disconnected()

	b.mu.Lock()
	b.hangUp = cancel
	b.mu.Unlock()

	// New work must not wait for the next event: REVIVE at once.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-b.kick:
				b.maintain(ctx)
			}
		}
	}()

	rr := NewRecordReader(resp.Body)
	for {
		rec, err := rr.Next()
		if err != nil {
			if ctx.Err() != nil && b.ctx.Err() == nil {
				return errors.New("no heartbeat from the master")
			}
			return fmt.Errorf("subscription stream: %w", err)
		}
		dog.Reset(silence)
		var ev Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			return fmt.Errorf("subscription stream: bad event: %w", err)
		}
		switch ev.Type {
		case "SUBSCRIBED":
			s := ev.Subscribed
			if s == nil {
				return errors.New("SUBSCRIBED without its body")
			}
			if hb := float64(s.HeartbeatIntervalSeconds); hb > 0 {
				silence = time.Duration(float64(b.opts.MissedHeartbeats) * hb * float64(time.Second))
				dog.Reset(silence)
			}
			// The id is stored before anything is launched under it.
			if s.FrameworkID.Value != fwID {
				if err := b.opts.IDs.Set(b.ctx, s.FrameworkID.Value); err != nil {
					return fmt.Errorf("store the framework id: %w", err)
				}
			}
			b.subscribed(master, streamID, s.FrameworkID.Value)
			b.log.Info("mesos framework subscribed", "framework_id", s.FrameworkID.Value, "master", hostOf(master))
			go b.reconcileAll(ctx)
		case "HEARTBEAT":
		case "OFFERS":
			if ev.Offers != nil {
				b.offers(ctx, ev.Offers.Offers)
			}
		case "RESCIND":
		case "UPDATE":
			if ev.Update != nil {
				b.update(ctx, ev.Update.Status)
			}
		case "FAILURE":
		case "ERROR":
			msg := ""
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			if strings.Contains(msg, "Framework has been removed") {
				b.removed()
				return errRemoved
			}
			return fmt.Errorf("master says: %s", msg)
		}
		// Between events: what Start and the queue asked for.
		b.maintain(ctx)
	}
}

// frameworkInfo is what SUBSCRIBE says about the hub.
func (b *Backend) frameworkInfo(id string) map[string]any {
	caps := []map[string]string{{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}, {"type": "PARTITION_AWARE"}}
	if b.opts.Defaults.GPUs > 0 || b.opts.Containerizer == "MESOS" {
		caps = append(caps, map[string]string{"type": "GPU_RESOURCES"})
	}
	info := map[string]any{
		"user": b.opts.User, "name": b.opts.FrameworkName, "roles": b.roles,
		"failover_timeout": b.opts.FailoverTimeout.Seconds(), "checkpoint": true,
		"capabilities": caps,
		"labels":       Labels{Labels: []Label{{Key: "app", Value: "sparkhub"}}},
	}
	if id != "" {
		info["id"] = ID{Value: id}
	}
	if b.opts.Principal != "" {
		info["principal"] = b.opts.Principal
	}
	if b.opts.Hostname != "" {
		info["hostname"] = b.opts.Hostname
	}
	if b.opts.WebUIURL != "" {
		info["webui_url"] = b.opts.WebUIURL
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
	var explicit []any
	for _, t := range b.tasks {
		// Not those launched on this stream: the master may not have
		// seen their ACCEPT yet, and would call them unknown.
		if !t.ended && t.gen < b.gen {
			rt := map[string]any{"task_id": ID{Value: t.id}}
			if t.agentID != "" {
				rt["agent_id"] = ID{Value: t.agentID}
			}
			explicit = append(explicit, rt)
		}
	}
	b.mu.Unlock()
	if len(explicit) > 0 {
		if err := b.sendCall(ctx, "RECONCILE", map[string]any{"reconcile": map[string]any{"tasks": explicit}}); err != nil {
			b.log.Warn("mesos explicit reconciliation", "err", err)
		}
	}
	tick := time.NewTicker(b.opts.ReconcileInterval)
	defer tick.Stop()
	for {
		if err := b.sendCall(ctx, "RECONCILE", map[string]any{"reconcile": map[string]any{}}); err != nil {
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
		if err := b.sendCall(ctx, "REVIVE", map[string]any{"revive": RoleList{Roles: revive}}); err != nil {
			b.log.Warn("mesos revive", "roles", revive, "err", err)
			b.mu.Lock()
			for _, r := range revive {
				b.revive[r] = true
			}
			b.mu.Unlock()
		}
	}
	if len(suppress) > 0 {
		if err := b.sendCall(ctx, "SUPPRESS", map[string]any{"suppress": RoleList{Roles: suppress}}); err != nil {
			b.log.Warn("mesos suppress", "roles", suppress, "err", err)
			b.mu.Lock()
			for _, r := range suppress {
				b.suppressed[r] = false
			}
			b.mu.Unlock()
		}
	}
}

// sendCall posts a call to the master of the current stream.
func (b *Backend) sendCall(ctx context.Context, typ string, fields map[string]any) error {
	b.mu.Lock()
	master, sid, fw := b.master, b.streamID, b.fwID
	b.mu.Unlock()
	if sid == "" {
		return errors.New("not subscribed")
	}
	call := map[string]any{"type": typ, "framework_id": ID{Value: fw}}
	for k, v := range fields {
		call[k] = v
	}
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
