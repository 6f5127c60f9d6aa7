package hub

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// pageNames are the templates that are whole pages.
var pageNames = []string{"login.html", "logout.html", "home.html", "spawn.html", "spawn_pending.html", "token.html", "admin.html", "error.html"}

func parsePages(static *staticFiles) (*template.Template, error) {
	t := template.New("").Funcs(template.FuncMap{
		"static": static.URL,
		"ago":    ago,
		"iso":    isoString,
	})
	t, err := t.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range pageNames {
		if t.Lookup(n) == nil {
			return nil, errors.New("missing page template " + n)
		}
		// Render once with empty data so a template that calls a static
		// file that does not exist fails the start, not a request.
		if err := renderCheck(t, n); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func renderCheck(t *template.Template, name string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("page " + name + ": " + toString(v))
		}
	}()
	var buf bytes.Buffer
	return t.ExecuteTemplate(&buf, name, map[string]any{"User": &auth.User{}, "View": adminView{Sort: "name", Page: 1}})
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return "panic"
}

// ago says how long before now t was, in the words a person uses; nil
// or zero is "never".
func ago(t any) string {
	tt, ok := timeOf(t)
	if !ok {
		return "never"
	}
	d := time.Since(tt)
	switch {
	case d < 0:
		d = -d
		if d < time.Minute {
			return "in a moment"
		}
		return "in " + span(d)
	case d < time.Minute:
		return "just now"
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d < time.Hour:
		return unit(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return unit(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		return unit(int(d/(24*time.Hour)), "day")
	}
	return unit(int(d/(30*24*time.Hour)), "month")
}

// isoString is t in ISO 8601 UTC for <time datetime>, "" for none.
func isoString(t any) string {
	tt, ok := timeOf(t)
	if !ok {
		return ""
	}
	return tt.UTC().Format(time.RFC3339)
}

func timeOf(t any) (time.Time, bool) {
	switch v := t.(type) {
	case time.Time:
		return v, !v.IsZero()
	case *time.Time:
		if v == nil || v.IsZero() {
			return time.Time{}, false
		}
		return *v, true
	}
	return time.Time{}, false
}

// render writes a page (Pages.render).
func (h *Hub) render(w http.ResponseWriter, r *http.Request, code int, name string, data map[string]any) {
	h.pages.render(w, r, code, name, data)
}

// pageData is what every logged-in page's layout needs: the user, the
// form token, whether to show the admin link, and the page's title.
func (h *Hub) pageData(w http.ResponseWriter, r *http.Request, p *auth.Principal, title string) map[string]any {
	return map[string]any{
		"Title":    title,
		"User":     p.User,
		"XSRF":     h.auth.XSRFToken(w, r, p),
		"CanAdmin": p.Can(auth.ScopeAdminUsers, ""),
		"Nav":      r.URL.Path,
	}
}

// page runs a page handler for a logged-in browser; anyone else is sent
// to the login page with next= pointing back.
func (h *Hub) page(fn func(w http.ResponseWriter, r *http.Request, p *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.auth.Authenticate(w, r)
		if errors.Is(err, auth.ErrUnauthenticated) {
			http.Redirect(w, r, auth.LoginURL(r.URL.RequestURI(), err), http.StatusFound)
			return
		}
		if err != nil {
			h.errorPage(w, r, err)
			return
		}
		fn(w, r, p)
	}
}

// form runs a page's form post: a logged-in browser (anyone else goes to
// the login page), a capped body, and the session's XSRF token in the
// _xsrf field. A refused post changes nothing and says why.
func (h *Hub) form(fn func(w http.ResponseWriter, r *http.Request, p *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p, err := h.auth.Authenticate(w, r)
		if errors.Is(err, auth.ErrUnauthenticated) {
			http.Redirect(w, r, auth.LoginURL("", err), http.StatusFound)
			return
		}
		if err == nil {
			err = r.ParseForm()
		}
		if err == nil {
			err = h.auth.CheckHubXSRF(r, p)
		}
		if err != nil {
			h.errorPage(w, r, err)
			return
		}
		fn(w, r, p)
	}
}

func (h *Hub) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := status(err)
	if code == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	}
	h.ErrorPage(w, r, code, msg)
}

func (h *Hub) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Accept"), "application/json") {
		h.writeError(w, r, errorf(http.StatusNotFound, "Not found."))
		return
	}
	h.ErrorPage(w, r, http.StatusNotFound, "There is no page at this address.")
}

// ErrorPage renders an error page in the hub's style (Pages.ErrorPage).
func (h *Hub) ErrorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	h.pages.ErrorPage(w, r, code, msg)
}
