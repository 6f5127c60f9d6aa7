// Package proxy relays /user/{name}/... to that user's Jupyter server:
// it lets through whom auth.UserPath allows, strips the hub's
// credentials, adds the server's token, and relays kernel websockets
// message by message so the hub sees activity and which kernels are
// busy.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"github.com/sparkhub/sparkhub/spawner"
)

// Routes is what the proxy needs from the spawner manager.
type Routes interface {
	// Route returns a running server's address and token; otherwise
	// ok is false and state says why.
	Route(user string) (target *url.URL, token string, state spawner.State, ok bool)
	MarkActive(user string, t time.Time)
	KernelBusy(user, kernelID string, busy bool)
	// KernelClosed says a kernel's websocket ended: the relay no longer
	// sees its status, so a busy mark it left must not count.
	KernelClosed(user, kernelID string)
}

// Options configure a Proxy.
type Options struct {
	Logger *slog.Logger
	// ErrorPage answers a browser with an error page; nil answers JSON.
	ErrorPage func(w http.ResponseWriter, r *http.Request, code int, msg string)
	// Transport overrides the upstream transport (tests).
	Transport http.RoundTripper
	// MaxMessageSize is the largest websocket message relayed, either
	// way (0: DefaultMaxMessageSize). A larger one closes the websocket
	// with 1009 (message too big) before it is held in memory.
	MaxMessageSize int64
	// PingInterval is how often the websocket relay pings both ends (0:
	// DefaultPingInterval). An end not heard from, pong or message,
	// for two intervals is dropped, and the websocket with it.
	PingInterval time.Duration
}

// DefaultPingInterval is how often relayed websockets are pinged: often
// enough to find a vanished browser or server within a minute, and to
// keep idle connections open through proxies that close them after 60 s.
const DefaultPingInterval = 30 * time.Second

// DefaultMaxMessageSize bounds a relayed websocket message: above any
// kernel message a notebook sends or shows in practice (Jupyter's own
// server accepts at most 10 MiB from a browser), and far below what
// would let one user exhaust the hub's memory.
const DefaultMaxMessageSize = 64 << 20

// Proxy serves /user/{name}/... for the hub.
type Proxy struct {
	auth   *auth.Authenticator
	authz  *auth.UserPath
	routes Routes
	log    *slog.Logger
	opts   Options
	rp     *httputil.ReverseProxy

	mu     sync.Mutex
	conns  map[*relay]struct{}
	closed bool
}

// New builds the proxy.
func New(a *auth.Authenticator, routes Routes, opts Options) *Proxy {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	p := &Proxy{
		auth:   a,
		authz:  auth.NewUserPath(a, auth.ScopeAccessServers, "server", opts.Logger),
		routes: routes,
		log:    opts.Logger,
		opts:   opts,
		conns:  map[*relay]struct{}{},
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 nil,
			DialContext:           spawner.Dial,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 0, // long polls and big notebook saves take their time
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
		}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: tr,
		// 0: streamed answers (event streams, unknown lengths) are
		// flushed at once by ReverseProxy itself; others go out with
		// their headers in one write.
		FlushInterval:  0,
		BufferPool:     copyBuffers{},
		ModifyResponse: dropHubCookies,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	return p
}

// copyBuffers lends ReverseProxy its 32 KiB copy buffers, so a response
// does not allocate one.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (copyBuffers) Get() []byte { return copyBufferPool.Get().(*[32 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) {
	if len(b) == 32<<10 {
		copyBufferPool.Put((*[32 << 10]byte)(b))
	}
}

type ctxKey int

const (
	keyTarget ctxKey = iota
	keyToken
	keyXSRF
	keyVisitor
)

// VisitorHeader names, on every request the proxy forwards, the user it
// let in: the owner, or an admin with --admin-access. Jupyter's pages
// show it as the hub's user (sparkhub_contents puts it in JupyterLab's
// page config). The proxy sets it itself and drops whatever the client
// sent under that name, so a server can believe it.
const VisitorHeader = "X-Sparkhub-User"

// ServeHTTP is mounted at /user/{name}/ (and /user/{name}).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		p.fail(w, r, http.StatusNotFound, "There is no user server here.")
		return
	}
	prefix := "/user/" + name
	if r.URL.Path == prefix {
		http.Redirect(w, r, prefix+"/"+queryOf(r), http.StatusFound)
		return
	}
	pr, ref := p.authz.Authorize(w, r, name)
	if ref != nil {
		p.refuse(w, r, ref)
		return
	}
	upgrade := auth.IsWebsocket(r)
	target, token, state, ok := p.routes.Route(name)
	if !ok {
		p.notRunning(w, r, name, state, upgrade)
		return
	}
	p.routes.MarkActive(name, time.Now())
	if upgrade {
		p.relayWebsocket(w, r, name, target, token)
		return
	}
	ctx := context.WithValue(r.Context(), keyTarget, target)
	ctx = context.WithValue(ctx, keyToken, token)
	ctx = context.WithValue(ctx, keyVisitor, pr.User.Name)
	// The hub keeps the _xsrf cookie under /user/{name}/ (see
	// auth.ServerXSRF): a browser session without it gets it on a page
	// load, and the server sees that value, so the Jupyter front end
	// sends one the hub can check when it stops the server.
	if c := p.auth.ServerXSRFCookie(r, pr, name); c != nil && auth.Safe(r.Method) {
		http.SetCookie(w, c)
		ctx = context.WithValue(ctx, keyXSRF, c.Value)
	}
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// refuse answers a request the authorizer turned down.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, ref *auth.Refusal) {
	switch ref.Status {
	case http.StatusFound:
		http.Redirect(w, r, ref.Location, http.StatusFound)
		return
	case http.StatusServiceUnavailable:
		httperr.SetDatabaseRetry(w.Header())
	case http.StatusInternalServerError:
		p.log.ErrorContext(r.Context(), "authorize a request to a user's server", "err", ref.Err)
	}
	p.fail(w, r, ref.Status, ref.Message)
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// notRunningRetry is when an API client asking a server that is not
// running should try again.
const notRunningRetry = 5 * time.Second

// notRunning tells the client the server is not there: browsers go to
// the spawn or progress page, API clients get a 503 saying what to do,
// websockets are accepted and closed with the reason.
func (p *Proxy) notRunning(w http.ResponseWriter, r *http.Request, name string, state spawner.State, upgrade bool) {
	msg := fmt.Sprintf("The server of %s is not running; start it from the home page.", name)
	switch state {
	case spawner.Spawning:
		msg = fmt.Sprintf("The server of %s is starting; try again in a moment.", name)
	case spawner.Stopping:
		msg = fmt.Sprintf("The server of %s is stopping.", name)
	}
	switch {
	case upgrade:
		closeWithReason(w, r, msg)
	case wantsPage(r) && state == spawner.Spawning:
		http.Redirect(w, r, "/hub/spawn-pending/"+url.PathEscape(name)+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	case wantsPage(r) && state != spawner.Stopping:
		http.Redirect(w, r, "/hub/spawn?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	default:
		httperr.SetRetryAfter(w.Header(), notRunningRetry)
		p.fail(w, r, http.StatusServiceUnavailable, msg)
	}
}

// rewrite prepares the upstream request: the path whole, Host kept,
// X-Forwarded-* set by us (extending a trusted proxy's chain), the hub's
// session cookie and the client's Authorization removed, the server's
// token added.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	target := pr.In.Context().Value(keyTarget).(*url.URL)
	token := pr.In.Context().Value(keyToken).(string)
	pr.Out.URL.Scheme = target.Scheme
	pr.Out.URL.Host = target.Host
	pr.Out.Host = pr.In.Host
	setForwarded(pr.Out.Header, pr.In, p.auth.Proxies())
	stripCredentials(pr.Out.Header)
	pr.Out.Header.Set("Authorization", "token "+token)
	pr.Out.Header.Set(VisitorHeader, pr.In.Context().Value(keyVisitor).(string))
	if v, ok := pr.In.Context().Value(keyXSRF).(string); ok {
		setXSRFCookie(pr.Out.Header, v)
	}
}

// setXSRFCookie makes v the only _xsrf cookie of an outgoing request.
func setXSRFCookie(h http.Header, v string) {
	kept := []string{auth.XSRFCookie + "=" + v}
	for _, line := range h.Values("Cookie") {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			if name, _, _ := strings.Cut(part, "="); part != "" && name != auth.XSRFCookie {
				kept = append(kept, part)
			}
		}
	}
	h.Set("Cookie", strings.Join(kept, "; "))
}

// setForwarded writes X-Forwarded-For, -Host and -Proto. Headers from the
// client are believed only when it is a trusted proxy.
func setForwarded(h http.Header, in *http.Request, proxies auth.Proxies) {
	peer, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		peer = in.RemoteAddr
	}
	proto := "http"
	if proxies.IsHTTPS(in) {
		proto = "https"
	}
	xff := peer
	if proxies.FromTrusted(in) {
		if prior := strings.Join(in.Header.Values("X-Forwarded-For"), ", "); prior != "" {
			xff = prior + ", " + peer
		}
	}
	h.Set("X-Forwarded-For", xff)
	h.Set("X-Forwarded-Host", proxies.Host(in))
	h.Set("X-Forwarded-Proto", proto)
	h.Del("Forwarded")
	h.Del("X-Real-Ip")
}

// stripCredentials removes the hub's session cookie, its cookies of a
// user's origin (auth.HandoffCookie) and any Authorization: user code
// runs on the server and must never see them.
func stripCredentials(h http.Header) {
	h.Del("Authorization")
	h.Del(VisitorHeader)
	cookies := h.Values("Cookie")
	if len(cookies) == 0 {
		return
	}
	var kept []string
	for _, line := range cookies {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part == "" || auth.IsSessionCookie(name) || auth.HandoffCookie(name) {
				continue
			}
			kept = append(kept, part)
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// dropHubCookies keeps a user's server from setting the hub's session
// cookie, under either of its names: it shares the hub's origin, and a
// sparkhub-session it planted with a narrower path would be sent beside
// the real one, logging out (or in as someone else) whoever opens the
// server: the owner, or an admin with --admin-access. Under
// --user-subdomains the same goes for the cookies the hub keeps on the
// server's own origin. So does _xsrf, which the hub keeps under
// /user/{name}/ itself.
func dropHubCookies(resp *http.Response) error {
	lines := resp.Header.Values("Set-Cookie")
	kept := lines[:0:0]
	for _, line := range lines {
		if name, _, _ := strings.Cut(line, "="); !auth.IsSessionCookie(strings.TrimSpace(name)) && !auth.HandoffCookie(strings.TrimSpace(name)) && strings.TrimSpace(name) != auth.XSRFCookie {
			kept = append(kept, line)
		}
	}
	if len(kept) != len(lines) {
		resp.Header.Del("Set-Cookie")
		for _, line := range kept {
			resp.Header.Add("Set-Cookie", line)
		}
	}
	return nil
}

// upstreamError answers when the server cannot be reached. A client that
// went away is not an error.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
		return
	}
	name := r.PathValue("name")
	p.log.WarnContext(r.Context(), "user server did not answer", "user", name, "path", r.URL.Path, "err", err)
	p.fail(w, r, http.StatusBadGateway, fmt.Sprintf("The server of %s did not answer; if this goes on, stop it and start it again from the home page.", name))
}

// fail answers with an error page for browsers, JSON for the rest.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if p.opts.ErrorPage != nil && wantsPage(r) {
		p.opts.ErrorPage(w, r, code, msg)
		return
	}
	httperr.Write(w, code, msg)
}

// wantsPage is JupyterHub's rule for a server that cannot answer: a
// browser's request (auth.IsBrowser) gets a page or is sent to start
// the server, unless its path has an "api" segment (Jupyter's REST API,
// /user/alice/api/kernels), which gets JSON.
func wantsPage(r *http.Request) bool {
	return auth.IsBrowser(r) && !slices.Contains(strings.Split(r.URL.Path, "/"), "api")
}
