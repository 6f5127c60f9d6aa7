package hub

import (
	"net/http"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// Per-user origins (--user-subdomains HOST): the hub answers on HOST as
// always, and on {label}.HOST only what belongs to that user's server:
// /user/{label}/... (the proxy, the contents service, and the hand-off's
// callback). The rest of the hub is never served there: its API and
// forms get a 404, and a browser's GET of a hub page goes to the hub's
// own host, where the hub's cookie lives (Jupyter links to /hub/home).
// The hand-off itself (auth.UserPath.Grant and Callback) gives each
// origin a cookie of its own; the hub's session cookie is host-only on
// HOST and is never read on a user's origin.

// userOrigins routes requests for a host under HOST before the hub's
// routes see them. Without --user-subdomains it is next itself.
func (h *Hub) userOrigins(next http.Handler) http.Handler {
	sd := h.auth.Subdomains()
	if !sd.On() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, under := sd.OwnerOf(h.auth.Proxies().Host(r))
		if !under {
			next.ServeHTTP(w, r)
			return
		}
		prefix := "/user/" + owner
		p := r.URL.Path
		switch {
		case owner != "" && (p == prefix || strings.HasPrefix(p, prefix+"/")):
			if p == prefix+"/logout" {
				// The server's Log Out ends this origin's cookie too;
				// the server then sends the browser on to the hub's.
				h.auth.EndServerCookie(w, r)
			}
			next.ServeHTTP(w, r)
		case owner != "" && p == "/":
			http.Redirect(w, r, prefix+"/", http.StatusFound)
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(p, "/hub/") && !strings.HasPrefix(p, "/hub/api") && !auth.IsWebsocket(r):
			http.Redirect(w, r, h.auth.HubOrigin(r)+r.URL.RequestURI(), http.StatusFound)
		default:
			msg := "There is nothing at this address."
			if owner != "" {
				msg = "This address serves only the server of " + owner + "; the hub is at " + h.auth.HubOrigin(r) + "/hub/."
			}
			h.refusePage(w, r, &auth.Refusal{Status: http.StatusNotFound, Message: msg})
		}
	})
}

// oauthAuthorize is GET /hub/api/oauth2/authorize: the hub's side of the
// hand-off, on its own host (auth.UserPath.Grant says who may).
func (h *Hub) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	loc, ref := h.serverAuthz.Grant(w, r)
	if ref != nil {
		h.refusePage(w, r, ref)
		return
	}
	http.Redirect(w, r, loc, http.StatusFound)
}

// oauthCallback is GET /user/{name}/oauth_callback: on the user's own
// origin, the end of the hand-off (auth.UserPath.Callback); anywhere
// else, a path of the user's server like any other.
func (h *Hub) oauthCallback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if owner, _ := h.auth.Subdomains().OwnerOf(h.auth.Proxies().Host(r)); owner == "" || owner != name {
		if h.deps.Proxy == nil {
			h.notFound(w, r)
			return
		}
		h.deps.Proxy.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	loc, ref := h.serverAuthz.Callback(w, r, name)
	if ref != nil {
		h.refusePage(w, r, ref)
		return
	}
	http.Redirect(w, r, loc, http.StatusFound)
}

// formAction is the CSP form-action of the hub's pages: the hub itself,
// and under --user-subdomains the users' origins, since browsers hold a
// form's redirects to it too (logging in, or starting a server, ends on
// the server's origin). Every page's script and connections stay 'self'.
func (h *Hub) formAction(r *http.Request) string {
	if !h.auth.Subdomains().On() {
		return "'self'"
	}
	return "'self' " + h.auth.ServerOriginPattern(r)
}

// refusePage answers a refusal with an error page for a browser, and in
// JSON for anyone else.
func (h *Hub) refusePage(w http.ResponseWriter, r *http.Request, ref *auth.Refusal) {
	if !auth.IsBrowser(r) || ref.Status == http.StatusFound {
		h.refuse(w, r, ref)
		return
	}
	if ref.Err != nil {
		h.errorPage(w, r, ref.Err)
		return
	}
	h.ErrorPage(w, r, ref.Status, ref.Message)
}

// intoServer is where a page sends a browser into the named user's
// server: next when given (a path on the hub), else the server's home;
// on the server's own origin under --user-subdomains.
func (h *Hub) intoServer(r *http.Request, next, name string) string {
	if next == "" {
		next = spawner.UserURL(name)
	}
	return h.auth.ServerURL(r, next)
}

// checkName checks a new username: the rule of every username, and
// under --user-subdomains that it can be an origin's label, or its
// owner could never reach a server.
func (h *Hub) checkName(name string) error {
	if err := auth.ValidateName(name); err != nil || !h.auth.Subdomains().On() {
		return err
	}
	_, err := auth.Label(name)
	return err
}
