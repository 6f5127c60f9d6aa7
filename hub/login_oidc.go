package hub

import (
	"errors"
	"net/http"

	"github.com/sparkhub/sparkhub/auth"
)

// oidcLogin is GET /hub/oauth_login (--auth oidc), what "Sign in with
// <provider>" leads to, open to anyone: it begins a sign-in bound to
// this browser by a state cookie and sends the browser to the
// provider. Nothing is stored but the sign-in under way, which expires
// within ten minutes.
func (h *Hub) oidcLogin(w http.ResponseWriter, r *http.Request) {
	o := h.auth.OIDC()
	if o == nil {
		h.notFound(w, r)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	to, state, err := o.Begin(next)
	if err != nil {
		h.errorPage(w, r, errorf(http.StatusServiceUnavailable, "Too many sign-ins are under way; try again in a minute."))
		return
	}
	http.SetCookie(w, h.oidcStateCookie(r, state, 600))
	http.Redirect(w, r, to, http.StatusFound)
}

func (h *Hub) oidcStateCookie(r *http.Request, state string, maxAge int) *http.Cookie {
	// Lax: the provider sends the browser back with a top-level GET.
	return &http.Cookie{Name: auth.OIDCStateCookie, Value: state, Path: "/hub/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.auth.Proxies().IsHTTPS(r), SameSite: http.SameSiteLaxMode}
}

// oidcCallback is GET /hub/oauth_callback, where the provider sends
// the browser back: the sign-in is checked (auth.OIDC.Finish), the
// person admitted as a hub user (auth.Authenticator.Admit) and logged
// in as with a password. A refusal is the login page with the reason
// and a 403; no user is made.
func (h *Hub) oidcCallback(w http.ResponseWriter, r *http.Request) {
	o := h.auth.OIDC()
	if o == nil {
		h.notFound(w, r)
		return
	}
	cookieState := ""
	if c, err := r.Cookie(auth.OIDCStateCookie); err == nil {
		cookieState = c.Value
	}
	// The state is good once: its cookie goes whatever happens.
	http.SetCookie(w, h.oidcStateCookie(r, "", -1))
	addr := h.auth.Proxies().ClientAddr(r).String()
	id, next, err := o.Finish(r.Context(), r.URL.Query(), cookieState)
	var u *auth.User
	if err == nil {
		u, err = h.auth.Admit(r.Context(), o.Name(), id)
	}
	var refused *auth.RefusedError
	switch {
	case errors.As(err, &refused):
		h.metrics.logins.WithLabelValues("refused").Inc()
		h.log.InfoContext(r.Context(), "sign-in refused", "client", addr, "why", refused.Msg)
		h.renderLogin(w, r, http.StatusForbidden, "", refused.Msg, next)
		return
	case err != nil:
		h.errorPage(w, r, err)
		return
	}
	h.loggedIn(w, r, u, next, "client", addr, "via", "oidc", "groups", len(id.Groups))
}
