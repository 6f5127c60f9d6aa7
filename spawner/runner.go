package spawner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// errExited: the server exited before it answered.
var errExited = errors.New("server exited")

// exitedError is errExited with how the server ended, as its backend
// tells it.
type exitedError struct{ status Status }

func (e *exitedError) Error() string {
	if e.status.Reason == "" {
		return errExited.Error()
	}
	return errExited.Error() + ": " + e.status.Reason
}
func (e *exitedError) Is(target error) bool { return target == errExited }

// run is the one goroutine that owns s, from admission until it is
// stopped or failed, or the manager closes (then the server is left as it
// is, for the next hub to recover). ctx bounds the spawn (or, for a
// recovered server, the wait for it to answer).
func (m *Manager) run(s *server, ctx context.Context) {
	defer m.wg.Done()
	defer m.finish(s)
	s.mu.Lock()
	cancel := s.cancelSpawn
	s.mu.Unlock()
	defer cancel()
	log := m.log.With("user", s.user)
	switch s.getState() {
	case Spawning:
		if !m.spawn(ctx, s, log) {
			return
		}
	case Running:
		if !m.confirm(ctx, s, log) {
			return
		}
	case Stopping:
		m.stopNow(s, log)
		return
	}
	m.watch(s, log)
}

func (m *Manager) finish(s *server) {
	m.mu.Lock()
	if !s.getState().Live() {
		m.index.CompareAndDelete(s.user, s)
	}
	m.mu.Unlock()
	close(s.done)
}

// spawn starts the server (unless a recovered one already has a handle)
// and waits until it answers. It reports whether the server is running.
func (m *Manager) spawn(ctx context.Context, s *server, log *slog.Logger) bool {
	p := s.progress
	s.mu.Lock()
	fresh := s.handle == nil
	s.mu.Unlock()
	if fresh {
		p.add(Event{Progress: 0, Message: "Server requested"})
		s.mu.Lock()
		token, credential := s.token, s.credential
		s.credential = ""
		s.mu.Unlock()
		var env map[string]string
		if s.bootstrap {
			// No secret in what the backend launches: the server
			// fetches them with the credential (Bootstrap).
			token = ""
			env = map[string]string{BootstrapURLEnv: m.opts.BootstrapURL(s.user), BootstrapCredentialEnv: credential}
		} else if m.opts.Env != nil {
			var err error
			if env, err = m.opts.Env(ctx, User{ID: s.userID, Name: s.user}); err != nil {
				return m.spawnEnded(ctx, s, log, &Failure{
					Message: "The hub could not prepare your server. Try again in a minute; if it keeps failing, tell an admin.",
					Err:     fmt.Errorf("environment hook: %w", err),
				})
			}
		}
		p.add(Event{Progress: 10, Message: "Spawning server..."})
		req := StartRequest{
			User:    s.user,
			Profile: s.profile,
			Spec:    s.spec,
			BaseURL: s.url,
			Token:   token,
			Env:     env,
			Progress: func(msg string) {
				p.add(Event{Progress: min(p.percent()+5, 45), Message: msg})
			},
		}
		st, err := s.backend.Start(ctx, req)
		if err != nil {
			return m.spawnEnded(ctx, s, log, err)
		}
		s.mu.Lock()
		s.handle, s.target = &st.Handle, st.Target
		s.mu.Unlock()
		// Saved at once, even if ctx just ended: a started server must
		// be findable by the next hub.
		wctx, cancel := m.cleanupContext()
		err = m.store.update(wctx, s.userID, map[string]any{
			"handle_backend": st.Handle.Backend, "handle_id": st.Handle.ID,
			"handle_state": st.Handle.State, "target": st.Target.String(),
		})
		cancel()
		if err != nil {
			return m.spawnEnded(ctx, s, log, &Failure{
				Message: "The hub could not record your server. Try again in a minute; if it keeps failing, tell an admin.",
				Err:     err,
			})
		}
		log.Info("server launched", "backend", st.Handle.Backend, "id", st.Handle.ID)
		p.add(Event{Progress: 50, Message: "Server started; waiting for it to answer"})
	} else {
		p.add(Event{Progress: 50, Message: "Waiting for your server to answer"})
	}
	if err := m.waitReady(ctx, s); err != nil {
		return m.spawnEnded(ctx, s, log, err)
	}
	m.becomeReady(s, log, true)
	return true
}

// spawnEnded handles a spawn that did not reach ready: the hub closing
// leaves everything as it is; a stop request stops; anything else fails
// the spawn and stops what was started.
func (m *Manager) spawnEnded(ctx context.Context, s *server, log *slog.Logger, err error) bool {
	if m.ctx.Err() != nil {
		return false
	}
	s.mu.Lock()
	stopRequested := s.stopRequested
	s.mu.Unlock()
	if stopRequested {
		m.stopNow(s, log)
		return false
	}
	msg := m.endSaying(s, log, Failed, func(tail []string) string {
		var f *Failure
		var exited *exitedError
		switch {
		case errors.As(err, &f):
			return f.Message
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Sprintf("Your server did not start within %s, so it was stopped. Try again; if it keeps happening, tell an admin.", human(m.opts.StartTimeout))
		case errors.As(err, &exited):
			return failedToStart(exited.status, tail)
		}
		return "Your server could not be started. Try again; if it keeps happening, tell an admin."
	}, "start failed: "+err.Error(), "server start failed", "err", err)
	var f *Failure
	s.mu.Lock()
	s.failReason, s.refused = msg, errors.As(err, &f) && f.Refused
	s.mu.Unlock()
	s.progress.add(failedEvent(msg))
	return false
}

// confirm checks that a recovered running server answers; one that does
// not is stopped.
func (m *Manager) confirm(ctx context.Context, s *server, log *slog.Logger) bool {
	err := m.waitReady(ctx, s)
	if err == nil {
		m.becomeReady(s, log, false)
		return true
	}
	if m.ctx.Err() != nil {
		return false
	}
	log.Warn("recovered server does not answer; stopping it", "err", err)
	s.requestStop("Your server stopped answering and was stopped.")
	m.stopNow(s, log)
	return false
}

// becomeReady routes the server. fresh starts the idle clock.
func (m *Manager) becomeReady(s *server, log *slog.Logger, fresh bool) {
	t := now()
	cols := map[string]any{"state": Running}
	if fresh {
		s.markActive(t)
		cols["ready_at"] = t
		cols["last_activity"] = t
	}
	m.setState(s, Running)
	s.mu.Lock()
	s.route.Store(&route{target: s.target, token: s.token})
	s.mu.Unlock()
	wctx, cancel := m.cleanupContext()
	defer cancel()
	if err := m.store.update(wctx, s.userID, cols); err != nil {
		log.Error("record server ready", "err", err)
	} else if fresh {
		s.flushed.Store(t.UnixNano())
	}
	close(s.ready)
	s.progress.add(readyEvent(s.url))
	log.Info("server ready")
}

// watch waits for the running server to exit or be asked to stop.
func (m *Manager) watch(s *server, log *slog.Logger) {
	ctx, cancel := context.WithCancel(m.ctx)
	defer cancel()
	s.mu.Lock()
	b, h := s.backend, *s.handle
	s.mu.Unlock()
	var exited <-chan struct{}
	if w, ok := b.(Waiter); ok {
		exited = w.Wait(ctx, h)
	}
	tick := time.NewTicker(m.opts.PollInterval)
	defer tick.Stop()
	for {
		s.mu.Lock()
		stopCh := s.stopCh
		s.mu.Unlock()
		check := false
		select {
		case <-m.ctx.Done():
			return
		case <-stopCh:
			if m.stopNow(s, log) {
				return
			}
		case <-exited:
			exited = nil
			check = true
		case <-tick.C:
			check = true
		}
		if !check || m.ctx.Err() != nil {
			continue
		}
		st, err := b.Status(ctx, h)
		switch {
		case errors.Is(err, ErrGone):
			st = Status{ExitCode: -1, Reason: "it is gone"}
		case err != nil:
			log.Warn("server status", "err", err)
			continue
		case st.Running:
			continue
		}
		s.route.Store(nil)
		m.endSaying(s, log, Stopped, func(tail []string) string { return stoppedOnItsOwn(st, tail) },
			"server ended: "+st.Reason, "server exited", "exit_code", st.ExitCode, "detail", st.Reason)
		return
	}
}

// stopNow stops the server at the user's, an admin's or the culler's
// request. It reports false when the backend could not stop a running
// server, which then stays running (and routed).
func (m *Manager) stopNow(s *server, log *slog.Logger) bool {
	wasSpawning := s.getState() == Spawning
	s.mu.Lock()
	reason, h := s.stopReason, s.handle
	s.mu.Unlock()
	r := s.route.Swap(nil)
	m.setState(s, Stopping)
	ctx, cancel := m.cleanupContext()
	defer cancel()
	if err := m.store.update(ctx, s.userID, map[string]any{"state": Stopping, "stop_reason": reason}); err != nil {
		log.Error("record server stopping", "err", err)
	}
	if h != nil {
		if err := s.backend.Stop(ctx, *h, m.opts.StopGrace); err != nil {
			st, serr := s.backend.Status(ctx, *h)
			if r != nil && serr == nil && st.Running {
				log.Error("stop server; it keeps running", "err", err)
				m.setState(s, Running)
				s.route.Store(r)
				if uerr := m.store.update(ctx, s.userID, map[string]any{"state": Running, "stop_reason": ""}); uerr != nil {
					log.Error("record server state", "err", uerr)
				}
				s.mu.Lock()
				s.stopRequested, s.stopReason, s.stopCh = false, "", make(chan struct{})
				s.mu.Unlock()
				return false
			}
			log.Error("stop server", "err", err)
		}
	}
	m.end(s, log, Stopped, reason, m.tail(s, m.opts.LogLines), false)
	if wasSpawning {
		s.mu.Lock()
		s.failReason = reason
		s.mu.Unlock()
		s.progress.add(failedEvent(reason))
	}
	log.Info("server stopped", "reason", reason)
	return true
}

// endSaying ends a server that failed or ended on its own: say turns
// its last log lines into the sentence its user reads; the admin gets the
// lines with the hub's note, and the hub log a warning (msg, attrs) with
// both. It returns the sentence.
func (m *Manager) endSaying(s *server, log *slog.Logger, st State, say func(tail []string) string, note, msg string, attrs ...any) string {
	tail := m.tail(s, explainLines)
	reason := say(tail)
	tail = m.last(tail)
	log.Warn(msg, append(attrs, "reason", reason, "log_tail", strings.Join(tail, "\n"))...)
	m.end(s, log, st, reason, append(tail, "[sparkhub] "+note), true)
	return reason
}

// end records the server as stopped (or failed) with the reason for the
// user, its last log lines for the admin. With stopBackend it first makes
// sure nothing of the server runs any more.
func (m *Manager) end(s *server, log *slog.Logger, st State, reason string, tail []string, stopBackend bool) {
	ctx, cancel := m.cleanupContext()
	defer cancel()
	s.route.Store(nil)
	s.mu.Lock()
	h := s.handle
	s.mu.Unlock()
	if h != nil && stopBackend {
		if err := s.backend.Stop(ctx, *h, m.opts.StopGrace); err != nil {
			log.Error("stop server", "err", err)
		}
	}
	cols := endedColumns(st, reason, tail)
	if n := s.lastActivity.Load(); n > s.flushed.Load() {
		cols["last_activity"] = time.Unix(0, n).UTC().Truncate(time.Microsecond)
	}
	if err := m.store.update(ctx, s.userID, cols); err != nil {
		log.Error("record server stop", "err", err)
	}
	m.revokeEnv(ctx, User{ID: s.userID, Name: s.user}, log)
	// Only now, so whoever sees the new state also reads its reason.
	m.setState(s, st)
}

// cleanupContext bounds work that must finish even while the manager
// closes: recording a started server, stopping a failed one.
func (m *Manager) cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.opts.StopGrace+30*time.Second)
}

// waitReady polls the server's /user/{name}/api with its token until it
// answers 200, the server exits, or ctx ends. A server that fetched its
// secrets with a credential is asked instead to prove it holds its token
// ({base}sparkhub/proof), and is sent nothing secret: whatever listens at
// its address may not be it.
func (m *Manager) waitReady(ctx context.Context, s *server) error {
	s.mu.Lock()
	b, h, target, token, bootstrap := s.backend, *s.handle, s.target, s.token, s.bootstrap
	s.mu.Unlock()
	if target == nil {
		return errors.New("server has no address")
	}
	path := "api"
	if bootstrap {
		path = ProofPath
	}
	probe, err := url.Parse(target.String() + s.url + path)
	if err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	answers := func() bool { return m.answers(ctx, probe, token) }
	if bootstrap {
		warned := false
		answers = func() bool {
			ok, answered := m.proves(ctx, probe, s.url, token)
			if answered && !ok && !warned {
				warned = true
				m.log.Warn("the listener at the server's address does not prove it holds the server's token; it is sent nothing and not routed",
					"user", s.user, "target", target.String())
			}
			return ok
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var exited <-chan struct{}
	w, waits := b.(Waiter)
	if waits {
		exited = w.Wait(wctx, h)
	}
	delay := 50 * time.Millisecond
	lastStatus := time.Now()
	for {
		if answers() {
			return nil
		}
		if !waits && time.Since(lastStatus) > 2*time.Second {
			lastStatus = time.Now()
			if st, err := b.Status(ctx, h); errors.Is(err, ErrGone) || (err == nil && !st.Running) {
				return m.exited(b, h)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return m.exited(b, h)
		case <-time.After(delay):
		}
		// Poll often while a server is likely to come up soon: a long
		// backoff would add up to its length to every spawn.
		delay = min(delay*3/2, 100*time.Millisecond)
	}
}

func (m *Manager) answers(ctx context.Context, u *url.URL, token string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "token "+token)
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// exited is the error of a server that exited before it answered, with
// how it ended.
func (m *Manager) exited(b Backend, h Handle) error {
	ctx, cancel := m.cleanupContext()
	defer cancel()
	st, err := b.Status(ctx, h)
	if err != nil || st.Running {
		st = Status{ExitCode: -1}
	}
	return &exitedError{status: st}
}
