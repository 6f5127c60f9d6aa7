package hub

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// originsHub is a full hub with --user-subdomains hub.test behind a real
// HTTP server, with alice's and bob's servers running. Its browsers
// reach every host under hub.test at that server and keep cookies in a
// cookie jar, which sends a cookie only to the host that set it, as a
// browser does.
type originsHub struct {
	*fullHub
	fx   *matrixFixture
	srv  *httptest.Server
	port string
}

func newOriginsHub(t *testing.T, adminAccess bool) *originsHub {
	t.Helper()
	fx := newMatrixFixture(t)
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{adminAccess: adminAccess, sessionKey: fx.key, subdomains: "hub.test"})
	for _, name := range []string{"alice", "bob"} {
		u, err := fh.auth.Store.UserByName(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fh.servers.Start(context.Background(), serverUser(u), ""); err != nil {
			t.Fatalf("starting %s's server: %v", name, err)
		}
		waitUntil(t, name+"'s server to run", func() bool {
			_, _, _, ok := fh.servers.Route(name)
			return ok
		})
	}
	srv := httptest.NewServer(fh.handler)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return &originsHub{fullHub: fh, fx: fx, srv: srv, port: port}
}

// url is an address on host ("hub.test", "alice.hub.test") of this hub.
func (oh *originsHub) url(host, path string) string {
	return "http://" + host + ":" + oh.port + path
}

// webBrowser is one browser: a cookie jar, logged in to the hub as user
// ("" for nobody), that follows no redirect by itself.
type webBrowser struct {
	t      *testing.T
	oh     *originsHub
	client *http.Client
}

func (oh *originsHub) browser(t *testing.T, user string) *webBrowser {
	jar, _ := cookiejar.New(nil)
	addr := oh.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	b := &webBrowser{t: t, oh: oh, client: &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if user != "" {
		b.setCookie("hub.test", &http.Cookie{Name: auth.SessionCookie, Value: oh.fx.sessions[user], Path: "/"})
	}
	return b
}

func (b *webBrowser) setCookie(host string, c *http.Cookie) {
	u, _ := url.Parse(b.oh.url(host, "/"))
	b.client.Jar.SetCookies(u, []*http.Cookie{c})
}

func (b *webBrowser) cookie(host, name string) *http.Cookie {
	u, _ := url.Parse(b.oh.url(host, "/"))
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends one request; a navigation (GET without more headers) accepts
// HTML as a browser's does.
func (b *webBrowser) do(method, rawURL string, body string, header map[string]string) answer {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	resp, err := b.client.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(out)}
}

func (b *webBrowser) get(rawURL string) answer { return b.do("GET", rawURL, "", nil) }

// open navigates to rawURL and follows redirects as a browser does,
// returning the last answer and every address on the way.
func (b *webBrowser) open(rawURL string) (answer, []string) {
	b.t.Helper()
	trail := []string{rawURL}
	for range 10 {
		a := b.get(rawURL)
		loc := a.header.Get("Location")
		if a.status/100 != 3 || loc == "" {
			return a, trail
		}
		base, _ := url.Parse(rawURL)
		next, err := base.Parse(loc)
		if err != nil {
			b.t.Fatalf("bad Location %q", loc)
		}
		rawURL = next.String()
		trail = append(trail, rawURL)
	}
	b.t.Fatalf("more than 10 redirects: %v", trail)
	return answer{}, nil
}

// handOffTo runs the hand-off for owner's origin up to the callback,
// which it returns without following it.
func (b *webBrowser) handOffTo(owner string) string {
	b.t.Helper()
	a := b.get(b.oh.url(owner+".hub.test", "/user/"+owner+"/api"))
	if a.status != http.StatusFound || !strings.HasPrefix(a.header.Get("Location"), b.oh.url("hub.test", "/hub/api/oauth2/authorize?")) {
		b.t.Fatalf("%s's origin without its cookie: %d to %q, want the hub's authorize", owner, a.status, a.header.Get("Location"))
	}
	a = b.get(a.header.Get("Location"))
	cb := a.header.Get("Location")
	if a.status != http.StatusFound || !strings.HasPrefix(cb, b.oh.url(owner+".hub.test", "/user/"+owner+"/oauth_callback?")) {
		b.t.Fatalf("authorize: %d to %q, want %s's callback\n%s", a.status, cb, owner, a.body)
	}
	return cb
}

const fakeServerAPI = `{"version": "fake"}`

// TestUserOriginHandoff: alice, logged in to the hub, opens her server
// on its own origin; the hub hands her browser a cookie of that origin
// alone, and her server answers.
func TestUserOriginHandoff(t *testing.T) {
	oh := newOriginsHub(t, false)
	b := oh.browser(t, "alice")
	a, trail := b.open(oh.url("alice.hub.test", "/user/alice/api"))
	if a.status != http.StatusOK || !strings.Contains(a.body, fakeServerAPI) {
		t.Fatalf("alice's server: %d %q after %v", a.status, a.body, trail)
	}
	if len(trail) != 4 {
		t.Errorf("the hand-off went %v, want origin → authorize → callback → origin", trail)
	}
	auth2, _ := url.Parse(trail[1])
	if q := auth2.Query(); q.Get("client_id") != "jupyterhub-user-alice" || q.Get("redirect_uri") != oh.url("alice.hub.test", "/user/alice/oauth_callback") || q.Get("response_type") != "code" {
		t.Errorf("authorize asked with %v", q)
	}
	if b.cookie("alice.hub.test", auth.SessionCookie) != nil {
		t.Error("the hub's session cookie reached alice's origin")
	}
	if b.cookie("hub.test", auth.ServerCookie) != nil || b.cookie("bob.hub.test", auth.ServerCookie) != nil {
		t.Error("alice's server cookie reached another host")
	}
	if b.cookie("alice.hub.test", auth.StateCookie) != nil {
		t.Error("the state cookie outlived the hand-off")
	}

	// The cookie as it was set: host-only, HttpOnly, Lax, on /.
	fresh := oh.browser(t, "alice")
	cb := fresh.handOffTo("alice")
	resp, err := fresh.client.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := cookieNamed(resp.Cookies(), auth.ServerCookie)
	if c == nil {
		t.Fatalf("the callback set no server cookie: %d %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if c.Domain != "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Expires.IsZero() {
		t.Errorf("server cookie %+v: want host-only, HttpOnly, SameSite=Lax, Path=/ and an expiry", c)
	}
	if got := resp.Header.Get("Location"); got != "/user/alice/api" {
		t.Errorf("the callback went to %q, want the page first asked for", got)
	}

	// The hub's pages link to the server's origin, and its old address
	// on the hub's host goes there too.
	home := b.get(oh.url("hub.test", "/hub/home"))
	if !strings.Contains(home.body, `href="`+oh.url("alice.hub.test", "/user/alice/")+`"`) {
		t.Errorf("the home page does not link to alice's origin:\n%s", home.body)
	}
	if a := b.get(oh.url("hub.test", "/user/alice/tree?x=1")); a.status != http.StatusFound || a.header.Get("Location") != oh.url("alice.hub.test", "/user/alice/tree?x=1") {
		t.Errorf("/user/alice/ on the hub's host: %d to %q, want alice's origin", a.status, a.header.Get("Location"))
	}
	// The contents service answers on her origin too.
	if a := b.do("GET", oh.url("alice.hub.test", "/user/alice/api/contents"), "", map[string]string{"Accept": "application/json"}); a.status != http.StatusOK || !strings.Contains(a.body, `"type":"directory"`) {
		t.Errorf("alice's contents on her origin: %d %s", a.status, a.body)
	}
	// Her server's Log Out ends the origin's cookie.
	if a := b.get(oh.url("alice.hub.test", "/user/alice/logout")); cookieNamed(parseSetCookies(a.header), auth.ServerCookie) == nil {
		t.Errorf("logout on alice's origin did not clear the server cookie: %q", a.header.Values("Set-Cookie"))
	}
	if b.cookie("alice.hub.test", auth.ServerCookie) != nil {
		t.Error("the server cookie is still in the browser after logout")
	}
}

func parseSetCookies(h http.Header) []*http.Cookie {
	return (&http.Response{Header: h}).Cookies()
}

// TestHandoffAttacks runs the attacks on the hand-off and on per-user
// origins, each as the browser or script that would try it.
func TestHandoffAttacks(t *testing.T) {
	oh := newOriginsHub(t, false)
	api := map[string]string{"Accept": "application/json"}

	t.Run("a code replayed is refused", func(t *testing.T) {
		alice := oh.browser(t, "alice")
		cb := alice.handOffTo("alice")
		if a := alice.get(cb); a.status != http.StatusFound || alice.cookie("alice.hub.test", auth.ServerCookie) == nil {
			t.Fatalf("the first use: %d, cookie %v", a.status, alice.cookie("alice.hub.test", auth.ServerCookie))
		}
		// Someone who saw the address (a log, a Referer, a shoulder)
		// replays it, with a state cookie to match.
		thief := oh.browser(t, "")
		u, _ := url.Parse(cb)
		thief.setCookie("alice.hub.test", &http.Cookie{Name: auth.StateCookie, Value: u.Query().Get("state"), Path: "/"})
		a := thief.get(cb)
		if a.status != http.StatusBadRequest || thief.cookie("alice.hub.test", auth.ServerCookie) != nil {
			t.Errorf("replayed: %d, cookie %v; want 400 and none", a.status, thief.cookie("alice.hub.test", auth.ServerCookie))
		}
		if a := thief.do("GET", oh.url("alice.hub.test", "/user/alice/api"), "", api); a.status != http.StatusUnauthorized {
			t.Errorf("the thief reaches alice's server: %d %s", a.status, a.body)
		}
	})

	t.Run("a code for bob's origin used on alice's is refused", func(t *testing.T) {
		bob := oh.browser(t, "bob")
		cb := bob.handOffTo("bob")
		u, _ := url.Parse(cb)
		onAlice := oh.url("alice.hub.test", "/user/alice/oauth_callback?"+u.RawQuery)
		bob.setCookie("alice.hub.test", &http.Cookie{Name: auth.StateCookie, Value: u.Query().Get("state"), Path: "/"})
		a := bob.get(onAlice)
		if a.status != http.StatusForbidden || bob.cookie("alice.hub.test", auth.ServerCookie) != nil {
			t.Errorf("bob's code on alice's origin: %d %q, cookie %v; want 403 and none", a.status, a.body, bob.cookie("alice.hub.test", auth.ServerCookie))
		}
		// The callback of alice's server on bob's origin is no path of
		// bob's server.
		if a := bob.get(oh.url("bob.hub.test", "/user/alice/oauth_callback?"+u.RawQuery)); a.status != http.StatusNotFound {
			t.Errorf("alice's callback on bob's origin: %d", a.status)
		}
		if a := bob.do("GET", oh.url("alice.hub.test", "/user/alice/api"), "", api); a.status != http.StatusUnauthorized {
			t.Errorf("bob reaches alice's server: %d %s", a.status, a.body)
		}
	})

	t.Run("alice cannot obtain bob's cookie", func(t *testing.T) {
		alice := oh.browser(t, "alice")
		a, trail := alice.open(oh.url("bob.hub.test", "/user/bob/api"))
		if a.status != http.StatusNotFound || strings.Contains(strings.Join(trail, " "), "code=") {
			t.Errorf("alice opening bob's server: %d after %v, want a 404 and no code", a.status, trail)
		}
		if alice.cookie("bob.hub.test", auth.ServerCookie) != nil {
			t.Error("alice holds a cookie for bob's origin")
		}
		authorize := func(client, redirect string) answer {
			q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"0123456789abcdefghij"}}
			return alice.get(oh.url("hub.test", "/hub/api/oauth2/authorize?"+q.Encode()))
		}
		bobCB, aliceCB := oh.url("bob.hub.test", "/user/bob/oauth_callback"), oh.url("alice.hub.test", "/user/alice/oauth_callback")
		for _, tt := range []struct {
			what, client, redirect string
			status                 int
		}{
			{"bob's server", "jupyterhub-user-bob", bobCB, http.StatusNotFound},
			{"bob's server, back to alice's origin", "jupyterhub-user-bob", aliceCB, http.StatusBadRequest},
			{"her own server, back to bob's origin", "jupyterhub-user-alice", bobCB, http.StatusBadRequest},
			{"her own server, back to another site", "jupyterhub-user-alice", "https://evil.example/user/alice/oauth_callback", http.StatusBadRequest},
			{"her own server, back to the hub's host", "jupyterhub-user-alice", oh.url("hub.test", "/user/alice/oauth_callback"), http.StatusBadRequest},
			{"no such client", "evil", aliceCB, http.StatusBadRequest},
		} {
			if a := authorize(tt.client, tt.redirect); a.status != tt.status || a.header.Get("Location") != "" {
				t.Errorf("authorize %s: %d to %q, want %d and no redirect", tt.what, a.status, a.header.Get("Location"), tt.status)
			}
		}
		// The root admin, without --admin-access, is refused like anyone.
		root := oh.browser(t, "root")
		if a, trail := root.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusNotFound {
			t.Errorf("the admin without --admin-access: %d after %v", a.status, trail)
		}
		// A token cannot be turned into a server cookie.
		q := url.Values{"client_id": {"jupyterhub-user-alice"}, "redirect_uri": {aliceCB}, "response_type": {"code"}, "state": {"0123456789abcdefghij"}}
		if a := oh.browser(t, "").do("GET", oh.url("hub.test", "/hub/api/oauth2/authorize?"+q.Encode()), "", map[string]string{"Authorization": "token " + oh.fx.aliceSecret}); a.status != http.StatusForbidden {
			t.Errorf("authorize with alice's token: %d, want 403", a.status)
		}
	})

	t.Run("hub pages and API are refused on a user's origin", func(t *testing.T) {
		alice := oh.browser(t, "alice")
		if a, _ := alice.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
			t.Fatalf("alice's server: %d", a.status)
		}
		// A session cookie of the hub's planted on her origin (by
		// script of another origin under hub.test over plain http) is
		// not read there either.
		alice.setCookie("alice.hub.test", &http.Cookie{Name: auth.SessionCookie, Value: oh.fx.sessions["alice"], Path: "/"})
		xsrf := auth.NewSessions(oh.fx.key, 0).XSRF(oh.fx.sids["alice"])
		alice.setCookie("alice.hub.test", &http.Cookie{Name: auth.XSRFCookie, Value: xsrf, Path: "/"})
		before := tokenCount(t, oh.fullHub, "alice")
		for _, tt := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/hub/api/user", http.StatusNotFound},
			{"GET", "/hub/api/users/alice/tokens", http.StatusNotFound},
			{"POST", "/hub/api/users/alice/tokens", http.StatusNotFound},
			{"POST", "/hub/token", http.StatusNotFound},
			{"GET", "/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice", http.StatusNotFound},
			{"GET", "/hub/metrics", http.StatusFound},
			{"GET", "/hub/home", http.StatusFound},
			{"GET", "/hub/token", http.StatusFound},
			{"GET", "/user/bob/api", http.StatusNotFound},
			{"GET", "/nothing", http.StatusNotFound},
		} {
			body := ""
			if tt.method == "POST" {
				body = `{"note": "planted"}`
			}
			a := alice.do(tt.method, oh.url("alice.hub.test", tt.path), body, map[string]string{auth.XSRFHeader: xsrf, "Content-Type": "application/json"})
			if a.status != tt.status {
				t.Errorf("%s %s on alice's origin: %d, want %d", tt.method, tt.path, a.status, tt.status)
			}
			if tt.status == http.StatusFound && a.header.Get("Location") != oh.url("hub.test", tt.path) {
				t.Errorf("%s %s on alice's origin goes to %q, want the hub's own host", tt.method, tt.path, a.header.Get("Location"))
			}
			if strings.Contains(a.body, xsrf) || strings.Contains(a.body, `"kind":"user"`) {
				t.Errorf("%s %s on alice's origin answered with the hub's data:\n%s", tt.method, tt.path, a.body)
			}
		}
		if after := tokenCount(t, oh.fullHub, "alice"); after != before {
			t.Errorf("alice has %d tokens, had %d: a write on her origin reached the hub", after, before)
		}
		// Nor does a planted session cookie open her server.
		anon := oh.browser(t, "")
		anon.setCookie("alice.hub.test", &http.Cookie{Name: auth.SessionCookie, Value: oh.fx.sessions["alice"], Path: "/"})
		if a := anon.do("GET", oh.url("alice.hub.test", "/user/alice/api"), "", api); a.status != http.StatusUnauthorized {
			t.Errorf("the hub's session cookie on alice's origin: %d, want 401", a.status)
		}
	})

	t.Run("the server cookie works only on its own origin", func(t *testing.T) {
		alice := oh.browser(t, "alice")
		if a, _ := alice.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
			t.Fatalf("alice's server: %d", a.status)
		}
		v := alice.cookie("alice.hub.test", auth.ServerCookie).Value
		for _, tt := range []struct {
			what, host, path, cookie string
			status                   int
		}{
			{"her origin (the control)", "alice.hub.test", "/user/alice/api", auth.ServerCookie, http.StatusOK},
			{"her contents on her origin", "alice.hub.test", "/user/alice/api/contents", auth.ServerCookie, http.StatusOK},
			{"her server on the hub's host", "hub.test", "/user/alice/api", auth.ServerCookie, http.StatusFound},
			{"the hub's API", "hub.test", "/hub/api/user", auth.ServerCookie, http.StatusUnauthorized},
			{"the hub's API, as the session cookie", "hub.test", "/hub/api/user", auth.SessionCookie, http.StatusUnauthorized},
			{"bob's origin", "bob.hub.test", "/user/bob/api", auth.ServerCookie, http.StatusUnauthorized},
			{"bob's contents on bob's origin", "bob.hub.test", "/user/bob/api/contents", auth.ServerCookie, http.StatusUnauthorized},
			{"alice's server on bob's origin", "bob.hub.test", "/user/alice/api", auth.ServerCookie, http.StatusNotFound},
		} {
			r, _ := http.NewRequest("GET", oh.url(tt.host, tt.path), nil)
			r.Header.Set("Accept", "application/json")
			r.AddCookie(&http.Cookie{Name: tt.cookie, Value: v})
			resp, err := oh.browser(t, "").client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("%s: %d, want %d\n%s", tt.what, resp.StatusCode, tt.status, body)
			}
			if tt.status != http.StatusOK && strings.Contains(string(body), fakeServerAPI) {
				t.Errorf("%s: the server answered", tt.what)
			}
		}
	})

	t.Run("another origin cannot write with the hub's or the server's cookie", func(t *testing.T) {
		alice := oh.browser(t, "alice")
		if a, _ := alice.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
			t.Fatalf("alice's server: %d", a.status)
		}
		fromBob := oh.url("bob.hub.test", "")
		before := tokenCount(t, oh.fullHub, "alice")
		// Hosts under hub.test are one site: the browser sends the hub's
		// Lax cookie with bob's script's requests. The XSRF token it
		// cannot read, and the Origin check, stop the write.
		xsrf := auth.NewSessions(oh.fx.key, 0).XSRF(oh.fx.sids["alice"])
		for _, hdr := range []map[string]string{
			{"Origin": fromBob, "Content-Type": "text/plain"},
			{"Origin": fromBob, "Content-Type": "application/json", auth.XSRFHeader: xsrf},
		} {
			if a := alice.do("POST", oh.url("hub.test", "/hub/api/users/alice/tokens"), `{"note": "x"}`, hdr); a.status != http.StatusForbidden {
				t.Errorf("a token made from bob's origin with %v: %d, want 403", hdr, a.status)
			}
		}
		if after := tokenCount(t, oh.fullHub, "alice"); after != before {
			t.Errorf("alice has %d tokens, had %d", after, before)
		}
		// Reads get no CORS header, so bob's script cannot see them.
		a := alice.do("GET", oh.url("hub.test", "/hub/api/user"), "", map[string]string{"Origin": fromBob, "Accept": "application/json"})
		for k := range a.header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("the hub's API answers bob's origin with %s: %s", k, a.header.Get(k))
			}
		}
		// On alice's origin: a write with a planted _xsrf cookie and its
		// header, and a websocket, from bob's origin.
		alice.setCookie("alice.hub.test", &http.Cookie{Name: auth.XSRFCookie, Value: "planted", Path: "/"})
		if a := alice.do("PUT", oh.url("alice.hub.test", "/user/alice/api/contents/x.txt"), `{"type": "file", "format": "text", "content": "x"}`, map[string]string{"Origin": fromBob, auth.XSRFHeader: "planted", "Content-Type": "application/json"}); a.status != http.StatusForbidden {
			t.Errorf("a save on alice's origin from bob's: %d, want 403", a.status)
		}
		if a := alice.do("GET", oh.url("alice.hub.test", "/user/alice/api/kernels/k/channels"), "", map[string]string{"Origin": fromBob, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-Websocket-Version": "13", "Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}); a.status != http.StatusForbidden {
			t.Errorf("a websocket to alice's server from bob's origin: %d, want 403", a.status)
		}
		// From her own origin the same save goes through.
		if a := alice.do("PUT", oh.url("alice.hub.test", "/user/alice/api/contents/x.txt"), `{"type": "file", "format": "text", "content": "x"}`, map[string]string{"Origin": oh.url("alice.hub.test", ""), auth.XSRFHeader: "planted", "Content-Type": "application/json"}); a.status/100 != 2 {
			t.Errorf("a save on alice's origin from itself: %d %s", a.status, a.body)
		}
	})
}

// TestServerCookieEndsWithLogOutEverywhere: "log out everywhere" (a
// password change, a disabled user) ends the server cookies too.
func TestServerCookieEndsWithLogOutEverywhere(t *testing.T) {
	oh := newOriginsHub(t, false)
	alice := oh.browser(t, "alice")
	if a, _ := alice.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
		t.Fatalf("alice's server: %d", a.status)
	}
	if err := oh.auth.Store.RevokeSessions(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if a := alice.do("GET", oh.url("alice.hub.test", "/user/alice/api"), "", map[string]string{"Accept": "application/json"}); a.status != http.StatusUnauthorized {
		t.Errorf("after logging out everywhere: %d, want 401", a.status)
	}
}

// TestServerCookieEndsWithLogout: logging one browser out of the hub
// ends the server cookies its session gave on users' origins.
func TestServerCookieEndsWithLogout(t *testing.T) {
	oh := newOriginsHub(t, false)
	alice := oh.browser(t, "alice")
	if a, _ := alice.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
		t.Fatalf("alice's server: %d", a.status)
	}
	c := alice.cookie("hub.test", auth.SessionCookie)
	if c == nil {
		t.Fatal("alice has no session cookie")
	}
	sess, err := oh.auth.Sessions.Parse(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	// What POST /hub/logout does.
	if err := oh.auth.Store.RevokeSession(context.Background(), sess.UserID, sess.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a := alice.do("GET", oh.url("alice.hub.test", "/user/alice/api"), "", map[string]string{"Accept": "application/json"}); a.status != http.StatusUnauthorized {
		t.Errorf("after logging out: %d, want 401", a.status)
	}
}

func tokenCount(t *testing.T, fh *fullHub, name string) int {
	t.Helper()
	u, err := fh.auth.Store.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := fh.auth.Store.Tokens(context.Background(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(toks)
}

// TestHandoffAdminAccess: with --admin-access an admin may open a
// user's server on its origin, and it is logged.
func TestHandoffAdminAccess(t *testing.T) {
	oh := newOriginsHub(t, true)
	root := oh.browser(t, "root")
	if a, trail := root.open(oh.url("alice.hub.test", "/user/alice/api")); a.status != http.StatusOK {
		t.Fatalf("the admin with --admin-access: %d after %v", a.status, trail)
	}
	if !strings.Contains(oh.logs.String(), "admin access to a user's server") {
		t.Error("the admin's access was not logged")
	}
	// Even for one who may open both, a code is good only on the
	// origin it was made for.
	admin := oh.browser(t, "root")
	cb := admin.handOffTo("bob")
	u, _ := url.Parse(cb)
	admin.setCookie("alice.hub.test", &http.Cookie{Name: auth.StateCookie, Value: u.Query().Get("state"), Path: "/"})
	if a := admin.get(oh.url("alice.hub.test", "/user/alice/oauth_callback?"+u.RawQuery)); a.status != http.StatusForbidden || admin.cookie("alice.hub.test", auth.ServerCookie) != nil {
		t.Errorf("a code for bob's origin on alice's: %d, cookie %v; want 403 and none", a.status, admin.cookie("alice.hub.test", auth.ServerCookie))
	}
}

// TestNamesThatCannotBeOrigins: under --user-subdomains a username that
// cannot be a host name label is refused, and nothing changes.
func TestNamesThatCannotBeOrigins(t *testing.T) {
	oh := newOriginsHub(t, false)
	admin := "token " + oh.fx.secrets[auth.ScopeAdminUsers]
	before := snapshotUsers(t, oh.fullHub)
	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/hub/api/users", `{"usernames": ["carol", "a.b"]}`},
		{"POST", "/hub/api/users/a_b", `{}`},
		{"PATCH", "/hub/api/users/bob", `{"name": "bob--x"}`},
	} {
		a := oh.browser(t, "").do(tt.method, oh.url("hub.test", tt.path), tt.body, map[string]string{"Authorization": admin, "Content-Type": "application/json"})
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, "cannot be the address of a server") {
			t.Errorf("%s %s %s: %d %s, want 400 saying why", tt.method, tt.path, tt.body, a.status, a.body)
		}
	}
	if after := snapshotUsers(t, oh.fullHub); after != before {
		t.Errorf("the users changed:\n%s\nwas\n%s", after, before)
	}
}

func snapshotUsers(t *testing.T, fh *fullHub) string {
	t.Helper()
	names, err := fh.auth.Store.AllNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, ",")
}
