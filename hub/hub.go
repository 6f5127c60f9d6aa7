// Package hub wires sparkhub's HTTP surface: the pages, the REST API in
// JupyterHub's dialect, health and metrics.
package hub

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are what the hub is built from; main makes each one.
type Deps struct {
	DB      *gorm.DB
	Auth    *auth.Authenticator
	Logger  *slog.Logger
	Version string
	// SpawnerName is shown by /hub/api/info.
	SpawnerName string
	// Spawner runs users' servers; nil serves no servers.
	Spawner *spawner.Manager
	// Profiles is the catalog users pick from; nil is the default one.
	Profiles *images.Catalog
	// Pages are the page templates, shared with the proxy's error page;
	// nil parses them here.
	Pages *Pages
	// Proxy serves /user/{name}/...; Contents serves the contents API
	// under it. Both are authorised by auth.UserPath: the hub asks it for
	// the contents, the proxy for itself.
	Proxy, Contents http.Handler
	// RenameUserData and DeleteUserData keep data that other packages
	// hold by user name (the contents) in step, inside the hub's
	// transaction.
	RenameUserData func(ctx context.Context, tx *gorm.DB, oldName, newName string) error
	DeleteUserData func(ctx context.Context, tx *gorm.DB, name string) error
}

// Options are the settings the hub itself reads. The command line that
// fills them lives with the program; DefaultOptions is where their
// defaults are declared.
type Options struct {
	// APIPageDefaultLimit is how many users a paginated GET
	// /hub/api/users without limit returns; APIPageMaxLimit the most any
	// one returns.
	APIPageDefaultLimit int
	APIPageMaxLimit     int
	// AuthenticatePrometheus requires a token with read:metrics for
	// /hub/metrics.
	AuthenticatePrometheus bool
	// ClientTimeout and ClientMinRate bound how long a client may take to
	// send a request's body, or to take each part of an answer: the
	// timeout, and a second for every ClientMinRate bytes
	// (clientDeadlines). 0 is the default.
	ClientTimeout time.Duration
	ClientMinRate int64
	// UploadsPerUser is how many contents uploads larger than
	// LargeUpload bytes (or of unknown length) one user may send at
	// once; the next is a 429. 0: no limit.
	UploadsPerUser int
	LargeUpload    int64
}

// DefaultOptions are the hub's settings before the command line.
func DefaultOptions() Options {
	return Options{
		APIPageDefaultLimit: 50, APIPageMaxLimit: 200, AuthenticatePrometheus: true,
		ClientTimeout: DefaultClientTimeout, ClientMinRate: DefaultClientMinRate,
		UploadsPerUser: DefaultUploadsPerUser, LargeUpload: DefaultLargeUpload,
	}
}

// Hub serves every /hub/ route.
type Hub struct {
	opts      Options
	db        *gorm.DB
	auth      *auth.Authenticator
	users     *auth.Store
	log       *slog.Logger
	version   string
	spawner   string
	servers   *spawner.Manager
	profiles  *images.Catalog
	deps      Deps
	metrics   *metrics
	pages     *Pages
	static    *staticFiles
	mux       *http.ServeMux
	startedAt time.Time
	once      onceValues
	uploads   *uploads

	// serverAuthz is the proxy's authorizer, which the hand-off of
	// --user-subdomains asks too.
	serverAuthz *auth.UserPath
}

// New builds the hub; every page template is parsed here, so a broken
// one stops the start.
func New(opts Options, d Deps) (*Hub, error) {
	if opts.ClientTimeout <= 0 {
		opts.ClientTimeout = DefaultClientTimeout
	}
	if opts.ClientMinRate <= 0 {
		opts.ClientMinRate = DefaultClientMinRate
	}
	h := &Hub{
		opts:      opts,
		db:        d.DB,
		auth:      d.Auth,
		users:     d.Auth.Store,
		log:       d.Logger,
		version:   d.Version,
		spawner:   d.SpawnerName,
		servers:   d.Spawner,
		profiles:  d.Profiles,
		pages:     d.Pages,
		deps:      d,
		mux:       http.NewServeMux(),
		startedAt: time.Now(),
		uploads:   &uploads{max: opts.UploadsPerUser, large: opts.LargeUpload, busy: map[string]int{}},

		serverAuthz: auth.NewUserPath(d.Auth, auth.ScopeAccessServers, "server", d.Logger),
	}
	if h.profiles == nil {
		h.profiles = images.DefaultCatalog()
	}
	var err error
	if h.pages == nil {
		if h.pages, err = NewPages(d.Auth, d.Logger); err != nil {
			return nil, err
		}
	}
	h.static = h.pages.static
	if h.metrics, err = newMetrics(d.DB, h.users); err != nil {
		return nil, err
	}
	if h.servers != nil {
		if err := h.metrics.reg.Register(newSparkCollector(h.servers.SparkApps)); err != nil {
			return nil, err
		}
	}
	h.routes()
	return h, nil
}

func (h *Hub) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", h.redirect("/hub/home"))
	m.HandleFunc("GET /hub/{$}", h.redirect("/hub/home"))
	m.HandleFunc("GET /hub/login", h.loginPage)
	m.HandleFunc("POST /hub/login", h.loginSubmit)
	m.HandleFunc("GET /hub/oauth_login", h.oidcLogin)
	m.HandleFunc("GET /hub/oauth_callback", h.oidcCallback)
	m.HandleFunc("GET /hub/logout", h.logoutPage)
	m.HandleFunc("POST /hub/logout", h.logoutSubmit)
	m.HandleFunc("GET /hub/home", h.page(h.homePage))
	m.HandleFunc("POST /hub/stop", h.form(h.stopOwn))
	m.HandleFunc("GET /hub/spawn", h.page(h.spawnPage))
	m.HandleFunc("GET /hub/spawn/{name}", h.page(h.spawnPage))
	m.HandleFunc("POST /hub/spawn", h.form(h.spawnSubmit))
	m.HandleFunc("POST /hub/spawn/{name}", h.form(h.spawnSubmit))
	m.HandleFunc("GET /hub/spawn-pending/{name}", h.page(h.spawnPendingPage))
	m.HandleFunc("GET /hub/user-redirect/{path...}", h.page(h.userRedirect))
	m.HandleFunc("GET /hub/token", h.page(h.tokenPage))
	m.HandleFunc("POST /hub/token", h.form(h.tokenCreate))
	m.HandleFunc("POST /hub/token/{id}/revoke", h.form(h.tokenRevoke))
	m.HandleFunc("GET /hub/admin", h.page(h.adminPage))
	m.HandleFunc("POST /hub/admin/users", h.form(h.adminAddUsers))
	m.HandleFunc("POST /hub/admin/users/{name}/{action}", h.form(h.adminAction))
	m.HandleFunc("POST /hub/admin/groups", h.form(h.adminCreateGroup))
	m.HandleFunc("POST /hub/admin/groups/{name}/{action}", h.form(h.adminGroupAction))
	m.Handle("GET /hub/static/", h.static)
	m.HandleFunc("GET /favicon.ico", h.redirect(h.static.URL("favicon.svg")))

	m.HandleFunc("GET /hub/health", h.health)
	m.HandleFunc("GET /hub/api/health", h.health)
	m.HandleFunc("GET /hub/metrics", h.serveMetrics)

	m.HandleFunc("GET /hub/api", h.apiRoot)
	m.HandleFunc("GET /hub/api/{$}", h.apiRoot)
	m.HandleFunc("GET /hub/api/info", h.api(h.apiInfo))
	m.HandleFunc("GET /hub/api/user", h.api(h.apiWhoAmI))
	m.HandleFunc("GET /hub/api/users", h.api(h.listUsers))
	m.HandleFunc("POST /hub/api/users", h.api(h.createUsers))
	m.HandleFunc("GET /hub/api/users/{name}", h.api(h.getUser))
	m.HandleFunc("POST /hub/api/users/{name}", h.api(h.createUser))
	m.HandleFunc("PATCH /hub/api/users/{name}", h.api(h.patchUser))
	m.HandleFunc("DELETE /hub/api/users/{name}", h.api(h.deleteUser))
	m.HandleFunc("DELETE /hub/api/users/{name}/sessions", h.api(h.revokeSessions))
	m.HandleFunc("GET /hub/api/users/{name}/tokens", h.api(h.listTokens))
	m.HandleFunc("POST /hub/api/users/{name}/tokens", h.api(h.createToken))
	m.HandleFunc("GET /hub/api/users/{name}/tokens/{id}", h.api(h.getToken))
	m.HandleFunc("DELETE /hub/api/users/{name}/tokens/{id}", h.api(h.deleteToken))
	m.HandleFunc("POST /hub/api/users/{name}/activity", h.api(h.postActivity))
	m.HandleFunc("GET /hub/api/groups", h.api(h.listGroups))
	m.HandleFunc("POST /hub/api/groups", h.api(h.createGroups))
	m.HandleFunc("GET /hub/api/groups/{name}", h.api(h.getGroup))
	m.HandleFunc("POST /hub/api/groups/{name}", h.api(h.createGroup))
	m.HandleFunc("DELETE /hub/api/groups/{name}", h.api(h.deleteGroup))
	m.HandleFunc("POST /hub/api/groups/{name}/users", h.api(h.groupUsers))
	m.HandleFunc("DELETE /hub/api/groups/{name}/users", h.api(h.groupUsers))
	m.HandleFunc("PUT /hub/api/groups/{name}/properties", h.api(h.putGroupProperties))
	if h.servers != nil {
		m.HandleFunc("POST /hub/api/users/{name}/server", h.api(h.startServer))
		m.HandleFunc("DELETE /hub/api/users/{name}/server", h.serverAPI(h.stopServer))
		m.HandleFunc("GET /hub/api/users/{name}/server/progress", h.api(h.serverProgress))
		m.HandleFunc("POST /hub/api/users/{name}/server/bootstrap", h.bootstrapServer)
		m.HandleFunc("GET /hub/api/proxy", h.api(h.getProxy))
	}
	if h.deps.Contents != nil {
		c := h.contentsAuth(h.deps.Contents)
		m.Handle("/user/{name}/api/contents", c)
		m.Handle("/user/{name}/api/contents/", c)
		m.Handle("/user/{name}/files/", c)
	}
	if h.deps.Proxy != nil {
		m.Handle("/user/{name}", h.deps.Proxy)
		m.Handle("/user/{name}/", h.deps.Proxy)
	}
	if h.auth.Subdomains().On() {
		m.HandleFunc("GET /hub/api/oauth2/authorize", h.oauthAuthorize)
		m.HandleFunc("GET /user/{name}/oauth_callback", h.oauthCallback)
	}
	m.HandleFunc("/hub/api/", h.apiNotFound)
	m.HandleFunc("/", h.notFound)
}

// Handler is the whole hub with its middleware.
func (h *Hub) Handler() http.Handler {
	return h.clientDeadlines(h.recoverPanics(h.metrics.instrument(h.headers(h.userOrigins(h.mux)))))
}

// apiFunc is an API handler: it gets the authenticated principal and
// returns an error for writeError to turn into a status.
type apiFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// api authenticates (token or cookie), applies the XSRF check to
// cookie-authenticated writes, caps the body, and runs fn.
func (h *Hub) api(fn apiFunc) http.HandlerFunc {
	return h.apiChecked(h.auth.CheckHubXSRF, fn)
}

// serverAPI is api for stopping the server of {name}: the Jupyter front
// ends on that server's pages may also send the _xsrf the hub keeps
// there (auth.CheckServerXSRF).
func (h *Hub) serverAPI(fn apiFunc) http.HandlerFunc {
	return h.apiChecked(func(r *http.Request, p *auth.Principal) error {
		return h.auth.CheckServerXSRF(r, p, r.PathValue("name"))
	}, fn)
}

func (h *Hub) apiChecked(xsrf func(*http.Request, *auth.Principal) error, fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		p, err := h.auth.Authenticate(w, r)
		if err == nil {
			err = xsrf(r, p)
		}
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	}
}

// need checks that p holds scope on user's resources ("" for the
// hub's); the rule (404 or 403) is auth's, the same under /user/.
func need(p *auth.Principal, scope, user string) error {
	return needAny(p, user, scope)
}

// needAny is need for an action any one of scopes allows.
func needAny(p *auth.Principal, user string, scopes ...string) error {
	if ref := p.NeedAny(user, scopes...); ref != nil {
		return errorf(ref.Status, "%s", ref.Message)
	}
	return nil
}

func (h *Hub) apiNotFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, errorf(http.StatusNotFound, "There is no API endpoint %s %s.", r.Method, truncatePath(r.URL.Path)))
}

func truncatePath(p string) string {
	if len(p) > 100 {
		return p[:100] + "…"
	}
	return p
}

func (h *Hub) redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
}

// headers sets the security headers: nosniff everywhere under /hub/ and
// on the hub's own answers, a strict Content-Security-Policy with
// frame-ancestors on pages, and JupyterHub's version header on the API.
func (h *Hub) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		if !strings.HasPrefix(r.URL.Path, "/user/") {
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set("Referrer-Policy", "same-origin")
			hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action "+h.formAction(r)+"; base-uri 'self'; object-src 'none'; frame-ancestors 'self'")
			hd.Set("X-Frame-Options", "SAMEORIGIN")
		}
		if strings.HasPrefix(r.URL.Path, "/hub/api") {
			hd.Set("X-JupyterHub-Version", jupyterHubVersion)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500, never a stack for the
// client. http.ErrAbortHandler passes through as net/http expects.
func (h *Hub) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			h.writeError(w, r, errors.New("panic"))
		}()
		next.ServeHTTP(w, r)
	})
}

// health is 200 when the database answers within a second, 503 otherwise.
func (h *Hub) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	sqlDB, err := h.db.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		h.log.WarnContext(r.Context(), "health check: database does not answer", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": http.StatusServiceUnavailable, "message": "The database does not answer."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "database": string(db.DialectOf(h.db))})
}

// staticFiles serves the embedded static folder at content-hashed URLs.
type staticFiles struct {
	fsys  fs.FS
	names map[string]string // "style.css" → "style.3f2a9c1b.css"
	files map[string]string // hashed name → real name
}

func (h *Hub) dialect() db.Dialect { return db.DialectOf(h.db) }
