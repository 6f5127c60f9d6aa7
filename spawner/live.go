package spawner

import (
	"net/url"
	"sort"
	"time"
)

// LiveUsers lists, sorted, the users whose server is starting, running or
// stopping (JupyterHub's state=active), or only running (state=ready),
// from memory.
func (m *Manager) LiveUsers(readyOnly bool) []string {
	var out []string
	m.index.Range(func(k, v any) bool {
		st := v.(*server).getState()
		if st == Running || !readyOnly && st.Live() {
			out = append(out, k.(string))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// RouteEntry is one route of the proxy's table: a user's server that
// answers. It holds no token.
type RouteEntry struct {
	User   string
	Target *url.URL
	// LastActivity is the last proxied request or busy kernel the hub
	// saw, or the start if none yet.
	LastActivity time.Time
}

// Routes lists, sorted by user, the routes the proxy serves now, from
// memory: every server that is running and answering.
func (m *Manager) Routes() []RouteEntry {
	var out []RouteEntry
	m.index.Range(func(k, v any) bool {
		s := v.(*server)
		r := s.route.Load()
		if r == nil {
			return true
		}
		at := s.activity()
		if at.IsZero() {
			at = s.started
		}
		t := *r.target
		out = append(out, RouteEntry{User: k.(string), Target: &t, LastActivity: at})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}
