package hub

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
)

// pageNames are the templates that are whole pages.
var pageNames = []string{"login.html", "home.html", "error.html"}

func parsePages(static *staticFiles) (*template.Template, error) {
	t := template.New("").Funcs(template.FuncMap{"static": static.URL})
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
	return t.ExecuteTemplate(&buf, name, map[string]any{"User": &auth.User{}})
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

// render writes a page, buffered so a template error never sends half a
// page.
func (h *Hub) render(w http.ResponseWriter, r *http.Request, code int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := h.pages.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "The page could not be shown; the error was logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// page runs a page handler for a logged-in browser; anyone else is sent
// to the login page with next= pointing back.
func (h *Hub) page(fn func(w http.ResponseWriter, r *http.Request, p *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := h.auth.Authenticate(w, r)
		if errors.Is(err, auth.ErrUnauthenticated) {
			http.Redirect(w, r, "/hub/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
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
	title := http.StatusText(code)
	h.render(w, r, code, "error.html", map[string]any{"Title": title, "Message": msg})
}

func (h *Hub) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Accept"), "application/json") {
		h.writeError(w, r, errorf(http.StatusNotFound, "Not found."))
		return
	}
	h.render(w, r, http.StatusNotFound, "error.html", map[string]any{"Title": "Page not found", "Message": "There is no page at this address."})
}

func (h *Hub) homePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	h.render(w, r, http.StatusOK, "home.html", map[string]any{"Title": "Home", "User": p.User})
}

// ErrorPage renders an error page in the hub's style (for the proxy).
func (h *Hub) ErrorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	h.render(w, r, code, "error.html", map[string]any{"Title": http.StatusText(code), "Message": msg})
}
