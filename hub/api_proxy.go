package hub

import (
	"net/http"
	"net/url"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// proxyRoute is one entry of JupyterHub's GET /hub/api/proxy.
type proxyRoute struct {
	RouteSpec string         `json:"routespec"`
	Target    string         `json:"target"`
	Data      map[string]any `json:"data"`
}

// getProxy is GET /hub/api/proxy (proxy, which only admins hold): the
// built-in proxy's routing table in JupyterHub's shape, keyed by route:
// the hub's "/" and each server that answers. Targets are addresses
// only; no server's token is in it.
func (h *Hub) getProxy(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeProxy, ""); err != nil {
		return err
	}
	table := map[string]proxyRoute{
		"/": {RouteSpec: "/", Target: h.absURL(r, ""), Data: map[string]any{"hub": true}},
	}
	for _, rt := range h.servers.Routes() {
		spec := spawner.UserURL(rt.User)
		table[spec] = proxyRoute{
			RouteSpec: spec,
			Target:    routeTarget(rt.Target),
			Data:      map[string]any{"user": rt.User, "server_name": "", "last_activity": isoTime(rt.LastActivity)},
		}
	}
	writeJSON(w, http.StatusOK, table)
	return nil
}

// routeTarget shows a target as a URL: scheme and host of a TCP server,
// or for a local server's Unix socket http+unix:// with the socket's
// path escaped as the host (the form requests-unixsocket takes).
func routeTarget(t *url.URL) string {
	if path, ok := spawner.SocketPath(t.Host); ok {
		return "http+unix://" + url.PathEscape(path)
	}
	return (&url.URL{Scheme: t.Scheme, Host: t.Host}).String()
}
