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

// safeNext returns next when it is a path on this hub, else "".
// Absolute URLs, scheme-relative ones (//evil), backslash tricks and
// control characters are all refused.
func safeNext(next string) string {
	if next == "" || len(next) > 2000 || !strings.HasPrefix(next, "/") {
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
	if _, err := h.auth.Authenticate(w, r); err == nil {
		http.Redirect(w, r, orHome(next), http.StatusFound)
		return
	}
	h.renderLogin(w, r, http.StatusOK, "", "", next)
}

func orHome(next string) string {
	if next == "" {
		return "/hub/home"
	}
	return next
}

func (h *Hub) renderLogin(w http.ResponseWriter, r *http.Request, code int, username, msg, next string) {
	h.render(w, r, code, "login.html", map[string]any{
		"Title":    "Log in",
		"XSRF":     h.auth.XSRFToken(w, r, nil),
		"Username": username,
		"Error":    msg,
		"Next":     next,
	})
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
	case err != nil:
		h.errorPage(w, r, err)
		return
	}
	if err := h.auth.StartSession(w, r, u); err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.metrics.logins.WithLabelValues("success").Inc()
	h.log.InfoContext(r.Context(), "login", "user", u.Name, "client", addr)
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

func (h *Hub) logout(w http.ResponseWriter, r *http.Request) {
	h.auth.EndSession(w, r)
	http.Redirect(w, r, "/hub/login", http.StatusFound)
}
