package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Refusal says how to answer a request that may not go on.
type Refusal struct {
	// Status is the HTTP status: 302 sends a browser to Location, any
	// other answers with Message.
	Status   int
	Message  string
	Location string
	// Err is the cause of a 500 or 503, for the log only.
	Err error
}

// Need says how to refuse p the scope on user's resources ("" for the
// hub's), or nil when p holds it. Like JupyterHub, someone holding the
// scope only on other users gets a 404 that does not tell whether the
// user exists; someone without it at all gets a 403 naming it.
func (p *Principal) Need(scope, user string) *Refusal {
	return p.NeedAny(user, scope)
}

// NeedAny is Need for an action any one of scopes allows, as
// JupyterHub's needs_scope takes several.
func (p *Principal) NeedAny(user string, scopes ...string) *Refusal {
	for _, sc := range scopes {
		if p.Can(sc, user) {
			return nil
		}
	}
	return p.refuse(user != "", scopes)
}

// NeedGroup is NeedAny for the named group's resources: the scopes
// alone or with the group's filter.
func (p *Principal) NeedGroup(group string, scopes ...string) *Refusal {
	for _, sc := range scopes {
		if p.Scopes.HasGroup(sc, group) {
			return nil
		}
	}
	return p.refuse(true, scopes)
}

// refuse is the answer to p lacking every one of scopes: a 404 on a
// named resource when p holds one of them on others, else a 403.
func (p *Principal) refuse(named bool, scopes []string) *Refusal {
	for _, sc := range scopes {
		if named && p.Scopes.HasAny(sc) {
			return &Refusal{Status: http.StatusNotFound, Message: httperr.Hidden}
		}
	}
	who := "your account"
	if !p.ViaCookie() {
		who = "this token"
	}
	return &Refusal{Status: http.StatusForbidden, Message: fmt.Sprintf("This action needs the scope %s, which %s does not have.", strings.Join(scopes, " or "), who)}
}

// UserPath authorizes requests to /user/{owner}/... for one service
// living there: the proxy to the owner's server (scope access:servers)
// or the contents service (scope contents). Both ask it, so the two
// cannot come to different answers for the same caller.
type UserPath struct {
	auth     *Authenticator
	scope    string
	resource string
	log      *slog.Logger
}

// NewUserPath is the authorizer of a service under /user/{owner}/ that
// needs scope on the owner; resource ("server", "contents") names what
// an admin reached in the log line that records it.
func NewUserPath(a *Authenticator, scope, resource string, log *slog.Logger) *UserPath {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &UserPath{auth: a, scope: scope, resource: resource, log: log}
}

// Authorize decides a request to /user/{owner}/...: the caller and nil
// when they may go on, or how to refuse them:
//   - no valid login: a browser asking for a page goes to the login page
//     with next= pointing back, anyone else gets a 401 (two session
//     cookies are no valid login: both are cleared, and the login page
//     or the 401 says why; under --user-subdomains the login depends on
//     where the request arrived: authenticateOrigin);
//   - without the scope on owner: 404 when the caller holds it on some
//     user, else 403 (Need);
//   - a cookie-authenticated write without X-XSRFToken equal to one of
//     its _xsrf cookies, or a cookie-authenticated write or websocket
//     handshake from another site: 403;
//   - the database not answering: 503; anything else unexpected: 500.
//
// An admin reaching another user's resource (with --admin-access) is
// logged.
func (u *UserPath) Authorize(w http.ResponseWriter, r *http.Request, owner string) (*Principal, *Refusal) {
	p, ref := u.authenticate(w, r, owner)
	if ref != nil {
		return nil, ref
	}
	if ref := p.Need(u.scope, owner); ref != nil {
		return nil, ref
	}
	if err := u.checkXSRF(r, p); err != nil {
		return nil, &Refusal{Status: http.StatusForbidden, Message: httperr.XSRF}
	}
	u.logAccess(r, p, owner)
	return p, nil
}

func (u *UserPath) authenticate(w http.ResponseWriter, r *http.Request, owner string) (*Principal, *Refusal) {
	if u.auth.opts.Subdomains.On() {
		return u.auth.authenticateOrigin(w, r, owner)
	}
	p, err := u.auth.Authenticate(w, r)
	if err != nil {
		return nil, notAuthenticated(r, err)
	}
	return p, nil
}

// logAccess records an admin reaching another user's resource.
func (u *UserPath) logAccess(r *http.Request, p *Principal, owner string) {
	if p.User.Name != owner {
		u.log.InfoContext(r.Context(), "admin access to a user's "+u.resource, "admin", p.User.Name, "user", owner, "method", r.Method, "path", r.URL.Path)
	}
}

// notAuthenticated is the refusal of a request Authenticate turned down.
func notAuthenticated(r *http.Request, err error) *Refusal {
	switch {
	case errors.Is(err, ErrUnauthenticated) && IsBrowser(r):
		return &Refusal{Status: http.StatusFound, Location: LoginURL(r.URL.RequestURI(), err)}
	case errors.Is(err, ErrSessionClash):
		return &Refusal{Status: http.StatusUnauthorized, Message: httperr.SessionClash}
	case errors.Is(err, ErrUnauthenticated):
		return &Refusal{Status: http.StatusUnauthorized, Message: httperr.Unauthenticated}
	case db.Unavailable(err):
		return &Refusal{Status: http.StatusServiceUnavailable, Message: httperr.Unavailable, Err: err}
	}
	return &Refusal{Status: http.StatusInternalServerError, Message: httperr.Internal, Err: err}
}

// checkXSRF is Jupyter's XSRF rule for writes (CheckUserXSRF), and for a
// websocket handshake, a GET that browsers send cross-site with the
// cookie, the same-site check alone.
func (u *UserPath) checkXSRF(r *http.Request, p *Principal) error {
	if IsWebsocket(r) {
		if p.ViaCookie() {
			return u.auth.CheckSameSite(r)
		}
		return nil
	}
	return u.auth.CheckUserXSRF(r, p)
}

// IsBrowser guesses whether a person's browser asked for a page, not a
// script for data, by JupyterHub's rule: a GET or HEAD with no
// Authorization that is neither a websocket handshake nor accepts JSON
// (Accept: application/json). Such a request without a login goes to
// the login page; any other gets a 401.
func IsBrowser(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.Header.Get("Authorization") == "" && !IsWebsocket(r) && !strings.Contains(r.Header.Get("Accept"), "application/json")
}

// IsWebsocket reports whether r is a websocket handshake.
func IsWebsocket(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
