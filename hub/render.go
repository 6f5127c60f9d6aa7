package hub

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/sparkhub/sparkhub/auth"
)

// Pages are the hub's page templates and content-hashed static files,
// parsed once. main builds them before the proxy and the hub and hands
// them to both, so the proxy answers browsers with the hub's error page
// without either needing the other to exist first.
type Pages struct {
	tmpl   *template.Template
	static *staticFiles
	auth   *auth.Authenticator
	log    *slog.Logger
}

// NewPages parses every page template, so a broken one stops the start.
// The error page's top bar asks a for who is logged in.
func NewPages(a *auth.Authenticator, log *slog.Logger) (*Pages, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := newStaticFiles(staticFS)
	if err != nil {
		return nil, err
	}
	tmpl, err := parsePages(static)
	if err != nil {
		return nil, err
	}
	return &Pages{tmpl: tmpl, static: static, auth: a, log: log}, nil
}

// render writes a page, buffered so a template error never sends half a
// page.
func (pg *Pages) render(w http.ResponseWriter, r *http.Request, code int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := pg.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		pg.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "The page could not be shown; the error was logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// errorTitles name the errors people meet in words rather than codes.
var errorTitles = map[int]string{
	http.StatusForbidden:          "Not allowed",
	http.StatusNotFound:           "Page not found",
	http.StatusServiceUnavailable: "Not available right now",
	http.StatusTooManyRequests:    "Please wait",
}

// ErrorPage renders an error page in the hub's style, for the hub's
// pages and the proxy alike. The top bar shows who is logged in, when
// anyone is, on the hub's own host: on a user's origin
// (--user-subdomains) the page holds nothing of the hub's, no XSRF
// token for script there to read.
func (pg *Pages) ErrorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	title, ok := errorTitles[code]
	if !ok {
		title = http.StatusText(code)
	}
	data := map[string]any{"Title": title, "Message": msg, "Code": code}
	_, onUserOrigin := pg.auth.Subdomains().OwnerOf(pg.auth.Proxies().Host(r))
	if p, err := pg.auth.Authenticate(nil, r); err == nil && p.ViaCookie() && !onUserOrigin {
		data["User"] = p.User
		data["CanAdmin"] = p.Can(auth.ScopeAdminUsers, "")
		data["XSRF"] = pg.auth.XSRFToken(w, r, p) // the top bar's Log out
	}
	pg.render(w, r, code, "error.html", data)
}
