package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
)

// fakeRoutes is an in-memory route table that records what the proxy
// tells it.
type fakeRoutes struct {
	mu     sync.Mutex
	routes map[string]*url.URL
	states map[string]spawner.State
	active map[string]int
	busy   map[string]bool
	closed chan string // user/kernel of each kernel websocket that ended
}

func newFakeRoutes() *fakeRoutes {
	return &fakeRoutes{routes: map[string]*url.URL{}, states: map[string]spawner.State{}, active: map[string]int{}, busy: map[string]bool{}, closed: make(chan string, 64)}
}

func (f *fakeRoutes) Route(user string) (*url.URL, string, spawner.State, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.routes[user]; ok {
		return u, "server-token-" + user, spawner.Running, true
	}
	if st, ok := f.states[user]; ok {
		return nil, "", st, false
	}
	return nil, "", spawner.Stopped, false
}

func (f *fakeRoutes) MarkActive(user string, t time.Time) {
	f.mu.Lock()
	f.active[user]++
	f.mu.Unlock()
}

func (f *fakeRoutes) KernelBusy(user, kernel string, busy bool) {
	f.mu.Lock()
	f.busy[user+"/"+kernel] = busy
	f.mu.Unlock()
}

func (f *fakeRoutes) KernelClosed(user, kernel string) {
	select {
	case f.closed <- user + "/" + kernel:
	default:
	}
}

func (f *fakeRoutes) isBusy(key string) (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.busy[key]
	return b, ok
}

type env struct {
	t       testing.TB
	auth    *auth.Authenticator
	routes  *fakeRoutes
	proxy   *Proxy
	hub     *httptest.Server
	backend *httptest.Server
	seen    chan *http.Request
	// wsLargest is the largest websocket message the server was sent.
	wsLargest atomic.Int64
}

// newEnv serves the proxy at /user/{name}/ like the hub does, with a
// Jupyter-like backend routed for alice.
func newEnv(t testing.TB, adminAccess bool) *env {
	t.Helper()
	return newEnvWith(t, adminAccess, Options{})
}

// newEnvWith is newEnv with the proxy's options.
func newEnvWith(t testing.TB, adminAccess bool, opts Options) *env {
	t.Helper()
	gdb := dbtest.Open(t, "sqlite")
	pw, _ := auth.NewPasswords(bcrypt.MinCost)
	key := make([]byte, 32)
	rand.Read(key)
	a := auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(key, time.Hour), auth.Options{AdminAccess: adminAccess})
	for _, u := range []struct {
		name  string
		admin bool
	}{{"alice", false}, {"bob", false}, {"root", true}} {
		if _, err := a.Store.CreateUser(context.Background(), u.name, u.admin, ""); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, auth: a, routes: newFakeRoutes(), seen: make(chan *http.Request, 16)}
	e.backend = httptest.NewServer(http.HandlerFunc(e.jupyter))
	t.Cleanup(e.backend.Close)
	bu, _ := url.Parse(e.backend.URL)
	e.routes.routes["alice"] = bu
	e.proxy = New(a, e.routes, opts)
	mux := http.NewServeMux()
	mux.Handle("/user/{name}/", e.proxy)
	mux.Handle("/user/{name}", e.proxy)
	e.hub = httptest.NewServer(mux)
	t.Cleanup(e.hub.Close)
	t.Cleanup(e.proxy.Close)
	return e
}

var wsUpgrader = websocket.Upgrader{Subprotocols: []string{"v1.kernel.websocket.jupyter.org"}}

// jupyter stands in for a Jupyter server: it records requests, echoes
// websocket messages, and on "status busy"/"status idle" sends an iopub
// status message in the connection's encoding; "close" closes with 4001;
// "big N" answers with N bytes. With ?silent it answers no pings.
func (e *env) jupyter(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "token server-token-alice" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if websocket.IsWebSocketUpgrade(r) {
		c, err := wsUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if r.URL.Query().Has("silent") {
			c.SetPingHandler(func(string) error { return nil })
		}
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if n := int64(len(data)); n > e.wsLargest.Load() {
				e.wsLargest.Store(n)
			}
			switch s := string(data); {
			case s == "close":
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
				return
			case strings.HasPrefix(s, "big "):
				n, _ := strconv.Atoi(strings.TrimPrefix(s, "big "))
				c.WriteMessage(websocket.BinaryMessage, make([]byte, n))
			case strings.HasPrefix(s, "status "):
				state := strings.TrimPrefix(s, "status ")
				if c.Subprotocol() != "" {
					c.WriteMessage(websocket.BinaryMessage, v1Frame("iopub", `{"msg_type": "status"}`, fmt.Sprintf(`{"execution_state": %q}`, state)))
				} else {
					c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"channel": "iopub", "header": {"msg_type": "status"}, "content": {"execution_state": %q}}`, state)))
				}
			default:
				c.WriteMessage(typ, data)
			}
		}
	}
	e.seen <- r
	w.Header().Set("Set-Cookie", "_xsrf=fromjupyter; Path=/")
	io.WriteString(w, "jupyter says hi")
}

// v1Frame encodes a message in Jupyter's binary websocket protocol.
func v1Frame(channel, header, content string) []byte {
	parts := [][]byte{[]byte(channel), []byte(header), []byte("{}"), []byte("{}"), []byte(content)}
	n := len(parts) + 1
	offsets := make([]uint64, n)
	offsets[0] = uint64(8 * (n + 1))
	for i, p := range parts {
		offsets[i+1] = offsets[i] + uint64(len(p))
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(n))
	for _, o := range offsets {
		binary.Write(&b, binary.LittleEndian, o)
	}
	for _, p := range parts {
		b.Write(p)
	}
	return b.Bytes()
}

// session returns a session cookie for the user.
func (e *env) session(name string) *http.Cookie {
	e.t.Helper()
	u, err := e.auth.Store.UserByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	e.auth.StartSession(rec, httptest.NewRequest("POST", "/hub/login", nil), u)
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.SessionCookie {
			return c
		}
	}
	e.t.Fatal("no session cookie")
	return nil
}

func (e *env) token(name string, scopes ...string) string {
	u, _ := e.auth.Store.UserByName(context.Background(), name)
	_, secret, err := e.auth.Store.CreateToken(context.Background(), u.ID, auth.NewToken{Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) get(method, path string, hdr map[string]string, cookies ...*http.Cookie) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.hub.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestProxyForwardsToTheOwnersServer(t *testing.T) {
	e := newEnv(t, false)
	sess := e.session("alice")
	resp := e.get("GET", "/user/alice/api/contents?type=directory", map[string]string{
		"Authorization":   "",
		"X-Forwarded-For": "6.6.6.6",
		"Cookie":          "other=1; _xsrf=abc; " + auth.SecureSessionCookie + "=from-tls",
	}, sess)
	if resp.StatusCode != 200 {
		t.Fatalf("owner GET = %d", resp.StatusCode)
	}
	up := <-e.seen
	if got := up.Header.Get("Authorization"); got != "token server-token-alice" {
		t.Errorf("upstream Authorization = %q", got)
	}
	if c := up.Header.Get("Cookie"); strings.Contains(c, auth.SessionCookie) || !strings.Contains(c, "other=1") || !strings.Contains(c, "_xsrf="+hubXSRF(resp)) || strings.Contains(c, "_xsrf=abc") {
		t.Errorf("upstream Cookie = %q: the hub's cookies (both names) must go, the others stay, _xsrf the hub's", c)
	}
	if up.Host != strings.TrimPrefix(e.hub.URL, "http://") {
		t.Errorf("upstream Host = %q, want the hub's %q", up.Host, e.hub.URL)
	}
	if xff := up.Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q: a client's own must be ignored", xff)
	}
	if up.URL.RequestURI() != "/user/alice/api/contents?type=directory" {
		t.Errorf("upstream path = %q", up.URL.RequestURI())
	}
	e.routes.mu.Lock()
	if e.routes.active["alice"] == 0 {
		t.Error("the request did not mark the server active")
	}
	e.routes.mu.Unlock()

	// A token of alice's with the right scope works, and reaches the
	// server as the server's token, not hers.
	tok := e.token("alice", "access:servers")
	if resp := e.get("GET", "/user/alice/tree", map[string]string{"Authorization": "token " + tok}); resp.StatusCode != 200 {
		t.Fatalf("token GET = %d", resp.StatusCode)
	}
	if got := (<-e.seen).Header.Get("Authorization"); got != "token server-token-alice" {
		t.Errorf("upstream Authorization = %q", got)
	}
	// /user/alice without the slash goes to /user/alice/.
	if resp := e.get("GET", "/user/alice?x=1", nil, sess); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/user/alice/?x=1" {
		t.Errorf("/user/alice = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestProxyRefusesOthers(t *testing.T) {
	e := newEnv(t, false)
	html := map[string]string{"Accept": "text/html"}
	tests := []struct {
		name     string
		hdr      map[string]string
		cookie   string
		method   string
		want     int
		location string
	}{
		{"anonymous browser", html, "", "GET", http.StatusFound, "/hub/login?next=%2Fuser%2Falice%2Ftree"},
		{"anonymous, no Accept", nil, "", "GET", http.StatusFound, "/hub/login?next=%2Fuser%2Falice%2Ftree"},
		{"anonymous API", map[string]string{"Accept": "application/json"}, "", "GET", http.StatusUnauthorized, ""},
		{"anonymous websocket", map[string]string{"Accept": "text/html", "Connection": "Upgrade", "Upgrade": "websocket"}, "", "GET", http.StatusUnauthorized, ""},
		{"bad token", map[string]string{"Authorization": "token " + strings.Repeat("0", 64)}, "", "GET", http.StatusUnauthorized, ""},
		{"other user", nil, "bob", "GET", http.StatusNotFound, ""},
		{"other user's browser", html, "bob", "GET", http.StatusNotFound, ""},
		{"admin without --admin-access", nil, "root", "GET", http.StatusNotFound, ""},
		{"token without access:servers", map[string]string{"Authorization": "token " + e.token("alice", "read:users")}, "", "GET", http.StatusForbidden, ""},
		{"cookie POST without XSRF", nil, "alice", "POST", http.StatusForbidden, ""},
		{"cookie POST cross-site", map[string]string{"X-XSRFToken": "abc", "Cookie": "_xsrf=abc", "Origin": "https://evil.example"}, "alice", "POST", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cookies []*http.Cookie
			if tt.cookie != "" {
				cookies = append(cookies, e.session(tt.cookie))
			}
			resp := e.get(tt.method, "/user/alice/tree", tt.hdr, cookies...)
			if resp.StatusCode != tt.want {
				t.Fatalf("= %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.location != "" && resp.Header.Get("Location") != tt.location {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tt.location)
			}
		})
	}
	select {
	case r := <-e.seen:
		t.Errorf("a refused request reached the server: %s %s", r.Method, r.URL)
	default:
	}
	// With the XSRF header matching a cookie Jupyter set, the POST goes.
	resp := e.get("POST", "/user/alice/api/kernels", map[string]string{"X-XSRFToken": "abc", "Cookie": "_xsrf=abc"}, e.session("alice"))
	if resp.StatusCode != 200 {
		t.Errorf("POST with Jupyter's _xsrf = %d", resp.StatusCode)
	}
}

func TestProxyAdminAccess(t *testing.T) {
	e := newEnv(t, true)
	if resp := e.get("GET", "/user/alice/tree", nil, e.session("root")); resp.StatusCode != 200 {
		t.Fatalf("admin with --admin-access = %d", resp.StatusCode)
	}
	if resp := e.get("GET", "/user/alice/tree", nil, e.session("bob")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob = %d", resp.StatusCode)
	}
}

// TestProxyNamesTheVisitor: the server learns who the proxy let in from
// VisitorHeader, and a visitor who sends that header to pass for
// someone else (bob's name on alice's server, to be shown as the hub's
// user in her Lab) is named as themselves.
func TestProxyNamesTheVisitor(t *testing.T) {
	e := newEnv(t, true)
	for _, tt := range []struct{ visitor, claims string }{
		{"alice", ""},
		{"alice", "bob"},
		{"root", "alice"},
	} {
		hdr := map[string]string{}
		if tt.claims != "" {
			hdr[VisitorHeader] = tt.claims
		}
		if resp := e.get("GET", "/user/alice/lab", hdr, e.session(tt.visitor)); resp.StatusCode != 200 {
			t.Fatalf("%s = %d", tt.visitor, resp.StatusCode)
		}
		if got := (<-e.seen).Header.Values(VisitorHeader); len(got) != 1 || got[0] != tt.visitor {
			t.Errorf("%s claiming %q: the server was told %q, want only %q", tt.visitor, tt.claims, got, tt.visitor)
		}
	}
}

func TestProxyServerNotRunning(t *testing.T) {
	e := newEnv(t, false)
	e.routes.states["bob"] = spawner.Spawning
	html := map[string]string{"Accept": "text/html"}
	bob := e.session("bob")
	if resp := e.get("GET", "/user/bob/tree", html, bob); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/hub/spawn-pending/bob?next=") {
		t.Errorf("pending, browser = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := e.get("GET", "/user/bob/api/status", nil, bob); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("pending, API = %d", resp.StatusCode)
	}
	delete(e.routes.states, "bob")
	if resp := e.get("GET", "/user/bob/tree", html, bob); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/hub/spawn?next=%2Fuser%2Fbob%2Ftree" {
		t.Errorf("stopped, browser = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := e.get("GET", "/user/bob/api/status", nil, bob); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stopped, API = %d", resp.StatusCode)
	}
	// A websocket to a stopped server is closed with a reason.
	hdr := http.Header{"Cookie": {bob.String()}}
	c, _, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/bob/api/kernels/k1/channels"), hdr)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater || !strings.Contains(ce.Text, "not running") {
		t.Errorf("websocket to a stopped server: %v", err)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	e := newEnv(t, false)
	e.backend.Close()
	resp := e.get("GET", "/user/alice/tree", nil, e.session("alice"))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("server down = %d, want 502", resp.StatusCode)
	}
}

func wsURL(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }

func TestWebsocketRelay(t *testing.T) {
	for _, proto := range []string{"", "v1.kernel.websocket.jupyter.org"} {
		t.Run("protocol="+proto, func(t *testing.T) {
			e := newEnv(t, false)
			d := websocket.Dialer{}
			if proto != "" {
				d.Subprotocols = []string{proto}
			}
			hdr := http.Header{"Cookie": {e.session("alice").String()}, "Origin": {e.hub.URL}}
			c, resp, err := d.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k1/channels?session_id=s"), hdr)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if resp.Header.Get("Sec-Websocket-Protocol") != proto || c.Subprotocol() != proto {
				t.Errorf("subprotocol = %q, want %q", c.Subprotocol(), proto)
			}
			// Text stays text, binary stays binary.
			for _, m := range []struct {
				typ  int
				data []byte
			}{{websocket.TextMessage, []byte("hello")}, {websocket.BinaryMessage, []byte{0, 1, 2, 255}}} {
				c.WriteMessage(m.typ, m.data)
				typ, data, err := c.ReadMessage()
				if err != nil || typ != m.typ || !bytes.Equal(data, m.data) {
					t.Fatalf("echo = %d %q %v, want %d %q", typ, data, err, m.typ, m.data)
				}
			}
			// iopub status messages tell the manager the kernel's state.
			for _, state := range []string{"busy", "idle"} {
				c.WriteMessage(websocket.TextMessage, []byte("status "+state))
				if _, _, err := c.ReadMessage(); err != nil {
					t.Fatal(err)
				}
				busy, ok := e.routes.isBusy("alice/k1")
				if !ok || busy != (state == "busy") {
					t.Errorf("after %s: busy = %v, %v", state, busy, ok)
				}
			}
			// A close code from the server reaches the client.
			c.WriteMessage(websocket.TextMessage, []byte("close"))
			_, _, err = c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "bye" {
				t.Errorf("close = %v, want 4001 bye", err)
			}
			// The manager hears the kernel's websocket ended, so a busy
			// mark it left no longer counts.
			select {
			case got := <-e.routes.closed:
				if got != "alice/k1" {
					t.Errorf("closed %q, want alice/k1", got)
				}
			case <-time.After(30 * time.Second):
				t.Error("the manager never heard alice/k1's websocket close")
			}
		})
	}
}

func TestWebsocketRefusals(t *testing.T) {
	e := newEnv(t, false)
	// Cross-site websocket with the cookie: refused before any upgrade.
	hdr := http.Header{"Cookie": {e.session("alice").String()}, "Origin": {"https://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k1/channels"), hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site websocket: %v %v", err, resp)
	}
	// Another user's websocket.
	hdr = http.Header{"Cookie": {e.session("bob").String()}}
	_, resp, err = websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k1/channels"), hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's websocket to alice: %v %v", err, resp)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	e := newEnv(t, false)
	hdr := http.Header{"Authorization": {"token " + e.token("alice")}}
	c, _, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/terminals/websocket/1"), hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.WriteMessage(websocket.TextMessage, []byte("x"))
	c.ReadMessage()
	if n := e.proxy.Connections(); n != 1 {
		t.Fatalf("Connections = %d", n)
	}
	e.proxy.Close()
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("after Close: %v, want 1001", err)
	}
}

func TestKernelStatusParsing(t *testing.T) {
	tests := []struct {
		name     string
		typ      int
		data     []byte
		busy, ok bool
	}{
		{"json busy", websocket.TextMessage, []byte(`{"channel":"iopub","header":{"msg_type":"status"},"content":{"execution_state":"busy"}}`), true, true},
		{"json idle", websocket.TextMessage, []byte(`{"channel":"iopub","header":{"msg_type":"status"},"content":{"execution_state":"idle"}}`), false, true},
		{"json shell", websocket.TextMessage, []byte(`{"channel":"shell","header":{"msg_type":"status"},"content":{"execution_state":"busy"}}`), false, false},
		{"json stream", websocket.TextMessage, []byte(`{"channel":"iopub","header":{"msg_type":"stream"},"content":{"text":"execution_state"}}`), false, false},
		{"v1 busy", websocket.BinaryMessage, v1Frame("iopub", `{"msg_type":"status"}`, `{"execution_state":"busy"}`), true, true},
		{"v1 other channel", websocket.BinaryMessage, v1Frame("shell", `{"msg_type":"status"}`, `{"execution_state":"busy"}`), false, false},
		{"v1 truncated", websocket.BinaryMessage, v1Frame("iopub", `{"msg_type":"status"}`, `{"execution_state":"busy"}`)[:30], false, false},
		{"garbage", websocket.BinaryMessage, []byte{255, 255, 255, 255, 255, 255, 255, 255, 1}, false, false},
		{"short", websocket.BinaryMessage, []byte{1}, false, false},
	}
	for _, tt := range tests {
		busy, ok := kernelStatus(tt.typ, tt.data)
		if busy != tt.busy || ok != tt.ok {
			t.Errorf("%s: kernelStatus = %v, %v; want %v, %v", tt.name, busy, ok, tt.busy, tt.ok)
		}
	}
}

// TestWebsocketMessageTooBig: a message over the relay's limit, from the
// browser or from the server, is never held: the websocket closes with
// 1009 (message too big) and a reason. One at the limit passes.
func TestWebsocketMessageTooBig(t *testing.T) {
	const limit = 1024
	dial := func(t *testing.T, e *env) *websocket.Conn {
		hdr := http.Header{"Cookie": {e.session("alice").String()}, "Origin": {e.hub.URL}}
		c, _, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k1/channels"), hdr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tooBig := func(t *testing.T, c *websocket.Conn) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("read = %v, want a close with 1009", err)
		}
	}
	t.Run("at the limit", func(t *testing.T) {
		c := dial(t, newEnvWith(t, false, Options{MaxMessageSize: limit}))
		c.WriteMessage(websocket.BinaryMessage, make([]byte, limit))
		if _, data, err := c.ReadMessage(); err != nil || len(data) != limit {
			t.Fatalf("echo of %d bytes = %d, %v", limit, len(data), err)
		}
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("big %d", limit)))
		if _, data, err := c.ReadMessage(); err != nil || len(data) != limit {
			t.Fatalf("server's %d bytes = %d, %v", limit, len(data), err)
		}
	})
	t.Run("from the browser", func(t *testing.T) {
		e := newEnvWith(t, false, Options{MaxMessageSize: limit})
		c := dial(t, e)
		c.WriteMessage(websocket.BinaryMessage, make([]byte, limit+1))
		tooBig(t, c)
		if n := e.wsLargest.Load(); n > limit {
			t.Errorf("the server was sent a message of %d bytes", n)
		}
	})
	t.Run("from the server", func(t *testing.T) {
		c := dial(t, newEnvWith(t, false, Options{MaxMessageSize: limit}))
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("big %d", limit+1)))
		tooBig(t, c)
	})
	if New(nil, nil, Options{}).opts.MaxMessageSize != DefaultMaxMessageSize {
		t.Error("no limit given: the default must apply")
	}
}

// TestWebsocketPeerThatStopsAnsweringIsDropped: the relay pings both
// ends; one that stops answering, the browser or the server, is dropped
// with 1001 and the websocket ends at both ends, while one that answers
// stays connected however long it is idle.
func TestWebsocketPeerThatStopsAnsweringIsDropped(t *testing.T) {
	const interval = 50 * time.Millisecond
	dial := func(t *testing.T, e *env, query string) *websocket.Conn {
		t.Helper()
		hdr := http.Header{"Authorization": {"token " + e.token("alice")}}
		c, _, err := websocket.DefaultDialer.Dial(wsURL(e.hub.URL, "/user/alice/api/kernels/k1/channels"+query), hdr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// dropped reads until the relay ends the websocket, and wants 1001.
	dropped := func(t *testing.T, e *env, c *websocket.Conn) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != stoppedAnswering {
				t.Fatalf("read = %v, want a close with 1001 saying why", err)
			}
			break
		}
		deadline := time.Now().Add(30 * time.Second)
		for e.proxy.Connections() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the relay still holds the websocket")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Run("browser", func(t *testing.T) {
		e := newEnvWith(t, false, Options{PingInterval: interval})
		c := dial(t, e, "")
		var pings atomic.Int32
		c.SetPingHandler(func(string) error { pings.Add(1); return nil })
		dropped(t, e, c)
		if pings.Load() == 0 {
			t.Error("the browser was dropped without being pinged")
		}
	})
	t.Run("server", func(t *testing.T) {
		e := newEnvWith(t, false, Options{PingInterval: interval})
		dropped(t, e, dial(t, e, "?silent"))
	})
	t.Run("both answer", func(t *testing.T) {
		e := newEnvWith(t, false, Options{PingInterval: interval})
		c := dial(t, e, "")
		pings := make(chan struct{}, 100)
		c.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		go func() {
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		// Eight pings: four times as long as an end may stay silent.
		for range 8 {
			select {
			case <-pings:
			case <-time.After(30 * time.Second):
				t.Fatal("no ping from the relay")
			}
		}
		if n := e.proxy.Connections(); n != 1 {
			t.Fatalf("Connections = %d after eight pings answered, want 1", n)
		}
	})
	if New(nil, nil, Options{}).opts.PingInterval != DefaultPingInterval {
		t.Error("no interval given: the default must apply")
	}
}
