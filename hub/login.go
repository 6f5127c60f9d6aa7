package hub

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// maxNext is the longest next= a page follows.
const maxNext = 2000

// safeNext returns next when it is a path on this hub, else "".
// Absolute URLs, scheme-relative ones (//evil), backslash tricks and
// control characters are all refused.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || !strings.HasPrefix(next, "/") {
		return ""
	}
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t\x00") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

func (h *Hub) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	// Someone already logged in goes straight on.
	_, err := h.auth.Authenticate(w, r)
	if err == nil {
		http.Redirect(w, r, orHome(next), http.StatusFound)
		return
	}
	msg := ""
	// Two session cookies came here, or to the page that sent the
	// browser here: Authenticate cleared them.
	if errors.Is(err, auth.ErrSessionClash) || r.URL.Query().Get("why") == "cookies" {
		msg = httperr.SessionClash
	}
	h.renderLogin(w, r, http.StatusOK, "", msg, next)
}

// loginForm reports whether the login page shows the password form:
// always but with --auth oidc, and there only at /hub/login?local for
// the hub's own accounts (the admin made at first start).
func (h *Hub) loginForm(r *http.Request) bool {
	return h.auth.OIDC() == nil || r.Method == http.MethodPost || r.URL.Query().Has("local")
}

func orHome(next string) string {
	if next == "" {
		return "/hub/home"
	}
	return next
}

func (h *Hub) renderLogin(w http.ResponseWriter, r *http.Request, code int, username, msg, next string) {
	data := map[string]any{
		"Title":    "Log in",
		"XSRF":     h.auth.XSRFToken(w, r, nil),
		"Username": username,
		"Error":    msg,
		"Next":     next,
		"Form":     h.loginForm(r),
	}
	if o := h.auth.OIDC(); o != nil {
		data["Provider"] = o.Name()
		q := url.Values{}
		if next != "" {
			q.Set("next", next)
		}
		data["ProviderURL"] = "/hub/oauth_login"
		if len(q) > 0 {
			data["ProviderURL"] = "/hub/oauth_login?" + q.Encode()
		}
	}
	h.render(w, r, code, "login.html", data)
}

func (h *Hub) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := safeNext(r.URL.Query().Get("next"))
	if err := r.ParseForm(); errors.Is(err, httperr.ErrSlowBody) {
		h.renderLogin(w, r, http.StatusRequestTimeout, "", httperr.SlowBody, next)
		return
	} else if err != nil {
		h.renderLogin(w, r, http.StatusBadRequest, "", "The form could not be read; please try again.", next)
		return
	}
	if v := r.PostForm.Get("next"); v != "" {
		next = safeNext(v)
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	if err := h.auth.CheckLoginXSRF(r); err != nil {
		h.metrics.logins.WithLabelValues("xsrf").Inc()
		h.renderLogin(w, r, http.StatusForbidden, name, "This form expired or came from another site. Please log in again.", next)
		return
	}
	from := h.auth.Proxies().ClientAddr(r)
	addr := from.String()
	u, err := h.auth.Login(r.Context(), strings.ToLower(name), r.PostForm.Get("password"), from)
	var te *auth.ThrottledError
	var refused *auth.RefusedError
	switch {
	case errors.As(err, &te):
		h.metrics.logins.WithLabelValues("throttled").Inc()
		h.log.WarnContext(r.Context(), "login throttled", "user", h.logName(r, name), "client", addr)
		httperr.SetRetryAfter(w.Header(), te.RetryAfter)
		h.renderLogin(w, r, http.StatusTooManyRequests, name, "Too many attempts, try again in "+strconv.Itoa(te.Seconds())+" s.", next)
		return
	case errors.Is(err, auth.ErrBadCredentials):
		h.metrics.logins.WithLabelValues("failure").Inc()
		h.log.InfoContext(r.Context(), "login failed", "user", h.logName(r, name), "client", addr)
		h.renderLogin(w, r, http.StatusUnauthorized, name, "Wrong username or password.", next)
		return
	case errors.As(err, &refused):
		// The directory knew the password; the hub refuses the person.
		h.metrics.logins.WithLabelValues("refused").Inc()
		h.log.InfoContext(r.Context(), "login refused", "user", h.logName(r, name), "client", addr, "why", refused.Msg)
		h.renderLogin(w, r, http.StatusForbidden, name, refused.Msg, next)
		return
	case errors.Is(err, auth.ErrDirectory):
		h.log.WarnContext(r.Context(), "login failed: the directory did not answer", "client", addr, "err", err)
		h.renderLogin(w, r, http.StatusServiceUnavailable, name, "The company directory could not check your password just now; please try again in a minute.", next)
		return
	case err != nil:
		h.errorPage(w, r, err)
		return
	}
	h.loggedIn(w, r, u, next, "client", addr)
}

// loggedIn starts u's session in this browser, logs the login with
// attrs, and sends the browser on to next.
func (h *Hub) loggedIn(w http.ResponseWriter, r *http.Request, u *auth.User, next string, attrs ...any) {
	if err := h.auth.StartSession(w, r, u); err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.metrics.logins.WithLabelValues("success").Inc()
	h.log.InfoContext(r.Context(), "login", append([]any{"user", u.Name}, attrs...)...)
	http.Redirect(w, r, orHome(next), http.StatusFound)
}

// logName is a typed username made safe for a log line: the name of a
// user that exists, else "(unknown user)": what was typed may be a
// password in the wrong field.
func (h *Hub) logName(r *http.Request, name string) string {
	name = strings.ToLower(name)
	if auth.ValidateName(name) != nil {
		return "(unknown user)"
	}
	if _, err := h.users.UserByName(r.Context(), name); err != nil {
		return "(unknown user)"
	}
	return name
}

// logoutPage is GET /hub/logout, where Jupyter's Logout leads too: a
// page with a Log out button, which posts the form. A GET changes
// nothing, so a link on another site cannot log anyone out.
func (h *Hub) logoutPage(w http.ResponseWriter, r *http.Request) {
	p, err := h.auth.Authenticate(w, r)
	if errors.Is(err, auth.ErrUnauthenticated) {
		http.Redirect(w, r, auth.LoginURL("", err), http.StatusFound)
		return
	}
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	if p.ViaCookie() && sameOriginNavigation(r) {
		// Jupyter's Log Out (JupyterLab's File > Log Out, notebook 6's
		// button) leads here from a page of the hub's own origin: the
		// person asked to log out, so they are.
		h.endBrowserSession(w, r, p)
		return
	}
	h.render(w, r, http.StatusOK, "logout.html", h.pageData(w, r, p, "Log out"))
}

// sameOriginNavigation reports whether the browser says r is a
// top-level navigation from a page of the hub's own origin: the Fetch
// Metadata headers, which browsers set and no page can. A link or form
// on another site, or on another user's origin under --user-subdomains,
// is "cross-site" or "same-site", and gets the page with its button.
func sameOriginNavigation(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "same-origin" && r.Header.Get("Sec-Fetch-Mode") == "navigate"
}

// logoutSubmit is POST /hub/logout: the browser's own session, with its
// XSRF token, is revoked (a copy of its cookie stops working too) and
// its cookies cleared. Anyone logged in may end their own session; a
// post without the token, or from another site (which SameSite keeps
// the cookie from), changes nothing.
func (h *Hub) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	// No refresh: the session is ending.
	p, err := h.auth.Authenticate(nil, r)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		// Nothing to end. The cookies stay: a post from another site
		// carries none, and must not clear them.
		http.Redirect(w, r, auth.LoginURL("", err), http.StatusSeeOther)
		return
	case err == nil && !p.ViaCookie():
		err = errorf(http.StatusBadRequest, "Log out ends a browser's login; to stop a token working, revoke it on the Tokens page.")
	case err == nil:
		if err = r.ParseForm(); err == nil {
			err = h.auth.CheckHubXSRF(r, p)
		}
	}
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.endBrowserSession(w, r, p)
}

// endBrowserSession revokes the browser's session (a copy of its cookie
// stops working too), clears its cookies and sends it to the login page,
// or to the provider's logout with --oidc-end-session.
func (h *Hub) endBrowserSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := h.auth.EndSession(r.Context(), w, r, p); err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "logout", "user", p.User.Name)
	to := "/hub/login"
	if o := h.auth.OIDC(); o != nil && o.LogoutURL() != "" {
		// --oidc-end-session: the provider's session ends too.
		to = o.LogoutURL()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
