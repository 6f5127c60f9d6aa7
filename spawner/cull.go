package spawner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Cull asks, as of now, every running server idle longer than IdleTimeout
// (nothing proxied, no contents traffic from its owner and no busy
// kernel, or busy ones too with CullBusy) or running longer than MaxAge
// to stop, and returns their users. Before culling an idle server it
// reads the server's /api/kernels, in case a kernel is busy or was
// active unseen by the proxy (after a hub restart the relay knows nothing
// yet; a kernel whose websocket closed, or that sent no busy status for
// KernelBusyTrust, is busy only if the server says so). The stops go on in the background. Run
// calls it every CullInterval.
func (m *Manager) Cull(ctx context.Context, now time.Time) []string {
	var running []*server
	m.index.Range(func(_, v any) bool {
		if s := v.(*server); s.route.Load() != nil {
			running = append(running, s)
		}
		return true
	})
	var culled []string
	for _, s := range running {
		reason := m.cullReason(ctx, s, now)
		if reason == "" {
			continue
		}
		m.log.Info("culling server", "user", s.user, "reason", reason)
		s.requestStop(reason)
		culled = append(culled, s.user)
	}
	return culled
}

// cullReason says why s should be culled now, or "" to spare it.
func (m *Manager) cullReason(ctx context.Context, s *server, now time.Time) string {
	if m.opts.MaxAge > 0 && !s.started.IsZero() && now.Sub(s.started) > m.opts.MaxAge {
		return fmt.Sprintf("Your server was stopped because servers may run at most %s.", human(m.opts.MaxAge))
	}
	if m.opts.IdleTimeout <= 0 || !m.idle(s, now) {
		return ""
	}
	r := s.route.Load()
	if r == nil {
		return ""
	}
	kernels, err := m.kernels(ctx, r, s.url)
	if err != nil {
		m.log.Debug("read server's kernels", "user", s.user, "err", err)
	}
	// Busy marks the relay can no longer vouch for give way to what the
	// server says: a kernel it lists idle, or no longer lists, is not busy.
	s.forgetStaleBusy(now)
	for _, k := range kernels {
		if k.ExecutionState == "busy" && !m.opts.CullBusy {
			return ""
		}
		if !k.LastActivity.IsZero() && k.LastActivity.Before(now) {
			s.markActive(k.LastActivity)
		}
	}
	if !m.idle(s, now) {
		return ""
	}
	return fmt.Sprintf("Your server was stopped after %s without activity.", human(m.opts.IdleTimeout))
}

// idle reports whether s saw no activity, and (unless CullBusy) has no
// busy kernel, for longer than IdleTimeout before now.
func (m *Manager) idle(s *server, now time.Time) bool {
	last := s.activity()
	if last.IsZero() {
		last = s.started
	}
	if now.Sub(last) <= m.opts.IdleTimeout {
		return false
	}
	return m.opts.CullBusy || s.busyKernels(now) == 0
}

type kernel struct {
	ID             string    `json:"id"`
	ExecutionState string    `json:"execution_state"`
	LastActivity   time.Time `json:"last_activity"`
}

// kernels reads the server's /api/kernels.
func (m *Manager) kernels(ctx context.Context, r *route, base string) ([]kernel, error) {
	var ks []kernel
	status, err := m.getJSON(ctx, r, base+"api/kernels", 4<<20, &ks)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	return ks, nil
}

// getJSON GETs path of the server at r with its token and, when it
// answers 200, decodes at most limit bytes of its answer into v. It
// returns the status: what a server answers is the server's, so the
// caller decides what else it may mean.
func (m *Manager) getJSON(ctx context.Context, r *route, path string, limit int64, v any) (int, error) {
	u, err := url.Parse(r.target.String() + path)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "token "+r.token)
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v)
}
