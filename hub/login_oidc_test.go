package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/auth/oidctest"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// groupLog keeps the groups each login handed on, by user id: a fake of
// the hub's group store.
type groupLog struct {
	mu  sync.Mutex
	got map[int64][]string
}

func (g *groupLog) SyncUserGroups(_ context.Context, id int64, groups []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got[id] = groups
	return nil
}

func (g *groupLog) of(id int64) ([]string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.got[id]
	return v, ok
}

// The people at the test's provider.
var oidcUsers = []oidctest.User{
	{Username: "alice", Password: "alice-pw", Groups: []string{"analysts", "data-eng"}},
	{Username: "bob", Password: "bob-pw", Groups: []string{"analysts", "hub-admins"}},
	{Username: "carol@corp", Password: "carol-pw", Groups: []string{"analysts"}},
	{Username: "dave", Password: "dave-pw", Groups: []string{"sales"}},
	{Username: "admin", Password: "admin-pw", Groups: []string{"analysts"}},
}

// newOIDCHub is a hub on gdb whose people sign in at a real OpenID
// provider started here: members of analysts may, of hub-admins as
// admins. mod changes the hub's OIDC settings.
func newOIDCHub(t *testing.T, gdb *gorm.DB, mod func(*auth.OIDCConfig)) (*testHub, *oidctest.Provider, *groupLog) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	p := oidctest.Start(t, base+"/hub/oauth_callback", oidcUsers)
	cfg := auth.OIDCConfig{
		Issuer: p.Issuer, ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		RedirectURL: base + "/hub/oauth_callback", Scopes: []string{"profile"},
		UsernameClaim: "preferred_username", GroupsClaim: "groups", Name: "Example SSO",
		EndSession: true, PostLogoutURL: base + "/hub/login",
	}
	if mod != nil {
		mod(&cfg)
	}
	o, err := auth.NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups := &groupLog{got: map[int64][]string{}}
	a := newTestAuth(t, gdb, auth.Options{OIDC: o, Admission: auth.Admission{
		AllowedGroups: []string{"analysts"}, AdminGroups: []string{"hub-admins"}, Groups: groups,
	}})
	logs := &bytes.Buffer{}
	h, err := New(DefaultOptions(), Deps{DB: gdb, Auth: a, Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "test", SpawnerName: "local"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb, logs: logs}, p, groups
}

// oidcBrowser is a client with a cookie jar that follows the provider's
// redirects and stops at the hub's.
func (th *testHub) oidcBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	host := strings.TrimPrefix(th.srv.URL, "http://")
	return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// signIn goes from the hub's "Sign in with" link through the provider's
// login page as username, and returns the provider's redirect back to
// the hub's callback, not yet followed.
func (th *testHub) signIn(c *http.Client, username, password string) *url.URL {
	th.t.Helper()
	resp, err := c.Get(th.srv.URL + "/hub/oauth_login?next=/hub/token")
	if err != nil {
		th.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/login/username") {
		th.t.Fatalf("the hub's sign-in led to %d %s, want the provider's login page", resp.StatusCode, resp.Request.URL)
	}
	resp, err = oidctest.Login(c, resp.Request.URL, username, password)
	if err != nil {
		th.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || loc.Path != "/hub/oauth_callback" {
		th.t.Fatalf("the provider answered %d %v, want a redirect to the hub's callback", resp.StatusCode, loc)
	}
	return loc
}

// get fetches u with c and returns the status, Location and body.
func get(t *testing.T, c *http.Client, u string, cookies ...*http.Cookie) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (th *testHub) userNames() []string {
	th.t.Helper()
	names, err := th.auth.Store.AllNames(context.Background())
	if err != nil {
		th.t.Fatal(err)
	}
	return names
}

// An analyst signs in through the provider's pages with PKCE, state and
// nonce, lands where they were going, logged in as a hub user made at
// this first login, and their groups at the provider are the ones
// handed on. An admin comes from hub-admins.
func TestOIDCSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, p, groups := newOIDCHub(t, gdb, nil)
		c := th.oidcBrowser()
		cb := th.signIn(c, "alice", "alice-pw")
		if q := cb.Query(); q.Get("state") == "" || q.Get("code") == "" {
			t.Fatalf("callback %s lacks state or code", cb)
		}
		code, loc, _ := get(t, c, cb.String())
		if code != http.StatusFound || loc != "/hub/token" {
			t.Fatalf("callback: %d to %q, want 302 to /hub/token", code, loc)
		}
		code, _, body := get(t, c, th.srv.URL+"/hub/api/user")
		var who struct {
			Name  string `json:"name"`
			Admin bool   `json:"admin"`
		}
		if err := json.Unmarshal([]byte(body), &who); code != http.StatusOK || err != nil || who.Name != "alice" || who.Admin {
			t.Fatalf("GET /hub/api/user after sign-in: %d %s, want alice, not an admin", code, body)
		}
		u, err := th.auth.Store.UserByName(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := groups.of(u.ID); !ok || !slices.Equal(got, []string{"analysts", "data-eng"}) {
			t.Errorf("groups handed on for alice: %v, want the provider's [analysts data-eng]", got)
		}
		if u.PasswordHash != "" {
			t.Error("a user made by a sign-in has a hub password")
		}

		bobIsAdmin := func(why string, want bool) {
			t.Helper()
			bc := th.oidcBrowser()
			if code, _, _ := get(t, bc, th.signIn(bc, "bob", "bob-pw").String()); code != http.StatusFound {
				t.Fatalf("bob's callback: %d", code)
			}
			if b, err := th.auth.Store.UserByName(context.Background(), "bob"); err != nil || b.Admin != want {
				t.Errorf("bob %s: %+v, %v; want admin %v", why, b, err, want)
			}
		}
		bobIsAdmin("of hub-admins", true)
		p.SetGroups("bob", []string{"analysts"})
		bobIsAdmin("out of hub-admins but the last admin", true)
		th.addUser("root", true)
		bobIsAdmin("out of hub-admins beside another admin", false)
		p.SetGroups("bob", []string{"analysts", "hub-admins"})
	})
}

// Each bad sign-in is refused with a page saying why (403), and makes
// no user and logs no one in.
func TestOIDCRefusals(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	var tamper tamperTransport
	th, p, _ := newOIDCHub(t, gdb, func(c *auth.OIDCConfig) { c.HTTPClient = &http.Client{Transport: &tamper} })
	hash, _ := th.auth.Passwords.Hash("local-admin-pw")
	if _, err := th.auth.Store.CreateUser(context.Background(), "admin", true, hash); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, c *http.Client, u string, want string, cookies ...*http.Cookie) {
		t.Helper()
		code, _, body := get(t, c, u, cookies...)
		if code != http.StatusForbidden || !strings.Contains(body, want) {
			t.Errorf("got %d, want 403 saying %q; body:\n%s", code, want, body)
		}
		for _, ck := range c.Jar.Cookies(mustURL(th.srv.URL)) {
			if auth.IsSessionCookie(ck.Name) {
				t.Errorf("a refused sign-in set the session cookie")
			}
		}
		if names := th.userNames(); !slices.Equal(names, []string{"admin"}) {
			t.Errorf("users after a refused sign-in: %v, want only admin", names)
		}
	}
	cases := []struct {
		name, user, pw, want string
		before               func()
	}{
		{"username the rule refuses", "carol@corp", "carol-pw", "cannot be a username on this hub", nil},
		{"outside the allowed groups", "dave", "dave-pw", "dave is not allowed on this hub", nil},
		{"the hub's own admin", "admin", "admin-pw", "is an account of this hub", nil},
		{"token for another application", "alice", "alice-pw", "made for another application", func() {
			// Signed by the provider itself, for another client.
			tamper.set(func(claims map[string]any) string {
				claims["aud"] = []string{"another-app"}
				claims["azp"] = "another-app"
				return p.Sign(t, claims)
			})
		}},
		{"wrong nonce", "alice", "alice-pw", "its nonce differs", func() { p.Misbehave("a-nonce-of-another-sign-in", false) }},
		{"expired token", "alice", "alice-pw", "has expired", func() { p.Misbehave("", true) }},
		{"tampered token", "alice", "alice-pw", "signature is not Example SSO", func() { tamper.set(nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.Misbehave("", false)
			tamper.off()
			if tc.before != nil {
				tc.before()
			}
			c := th.oidcBrowser()
			refused(t, c, th.signIn(c, tc.user, tc.pw).String(), tc.want)
		})
	}
	p.Misbehave("", false)
	tamper.off()

	t.Run("state of another sign-in", func(t *testing.T) {
		c := th.oidcBrowser()
		cb := th.signIn(c, "alice", "alice-pw")
		q := cb.Query()
		q.Set("state", strings.Repeat("x", 43))
		cb.RawQuery = q.Encode()
		refused(t, c, cb.String(), "did not begin in this browser")
	})
	t.Run("replayed state", func(t *testing.T) {
		c := th.oidcBrowser()
		cb := th.signIn(c, "alice", "alice-pw")
		state := cb.Query().Get("state")
		if code, _, _ := get(t, c, cb.String()); code != http.StatusFound {
			t.Fatalf("first use of the callback: %d, want 302", code)
		}
		// The same browser again: its state cookie is gone.
		if code, _, body := get(t, c, cb.String()); code != http.StatusForbidden || !strings.Contains(body, "did not begin in this browser") {
			t.Errorf("callback replayed by the browser: %d %s", code, body)
		}
		// Someone holding the cookie's copy and the URL: the state was
		// used up.
		other := th.oidcBrowser()
		code, _, body := get(t, other, cb.String(), &http.Cookie{Name: auth.OIDCStateCookie, Value: state})
		if code != http.StatusForbidden || !strings.Contains(body, "already used or has expired") {
			t.Errorf("callback replayed with the state cookie: %d %s", code, body)
		}
		for _, ck := range other.Jar.Cookies(mustURL(th.srv.URL)) {
			if auth.IsSessionCookie(ck.Name) {
				t.Errorf("a replayed callback logged in")
			}
		}
	})
	t.Run("provider's key rotated", func(t *testing.T) {
		p.RotateKey(t)
		c := th.oidcBrowser()
		if code, loc, body := get(t, c, th.signIn(c, "alice", "alice-pw").String()); code != http.StatusFound || loc != "/hub/token" {
			t.Errorf("sign-in after the provider rotated its key: %d %q %s", code, loc, body)
		}
	})
}

// With --auth oidc the login page has the provider's button and no
// password form; the hub's own admin logs in at /hub/login?local, and
// a user the provider made has no password to log in with. Logout ends
// the provider's session too with --oidc-end-session.
func TestOIDCLoginPageAndLocalAdmin(t *testing.T) {
	th, p, _ := newOIDCHub(t, dbtest.Open(t, db.SQLite), nil)
	th.addUser("admin", true)
	c := th.oidcBrowser()
	code, _, body := get(t, c, th.srv.URL+"/hub/login")
	if code != http.StatusOK || !strings.Contains(body, "Sign in with Example SSO") || strings.Contains(body, `name="password"`) {
		t.Fatalf("login page with oidc: %d, want the provider's button and no password form:\n%s", code, body)
	}
	if _, _, body := get(t, c, th.srv.URL+"/hub/login?local"); !strings.Contains(body, `name="password"`) {
		t.Fatalf("/hub/login?local has no password form:\n%s", body)
	}
	localLogin := func(name, password string) int {
		b := th.browser()
		_, _, page := get(t, b.client, th.srv.URL+"/hub/login?local")
		m := xsrfField.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no _xsrf on /hub/login?local:\n%s", page)
		}
		resp, err := b.client.PostForm(th.srv.URL+"/hub/login", url.Values{"username": {name}, "password": {password}, "_xsrf": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := localLogin("admin", "password-admin"); code != http.StatusFound {
		t.Fatalf("the local admin's password login: %d, want 302", code)
	}
	// alice, made by the provider, has no password.
	if code, _, _ := get(t, c, th.signIn(c, "alice", "alice-pw").String()); code != http.StatusFound {
		t.Fatalf("alice's sign-in: %d", code)
	}
	if code := localLogin("alice", "alice-pw"); code != http.StatusUnauthorized {
		t.Errorf("password login of a user the provider made: %d, want 401", code)
	}

	// Logout: the hub's session ends, and the browser goes on to the
	// provider's end_session_endpoint.
	_, _, home := get(t, c, th.srv.URL+"/hub/home")
	m := xsrfField.FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no _xsrf on the home page:\n%s", home)
	}
	req, _ := http.NewRequest(http.MethodPost, th.srv.URL+"/hub/logout", strings.NewReader(url.Values{"_xsrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stay := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := stay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, p.Issuer+"end_session?") || !strings.Contains(loc, "client_id="+oidctest.ClientID) {
		t.Errorf("logout: %d to %q, want the provider's end_session", resp.StatusCode, loc)
	}
	if code, _, _ := get(t, c, th.srv.URL+"/hub/api/user"); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("after logout GET /hub/api/user: %d, want 401 or 403", code)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// tamperTransport changes the ID token in the provider's token answers
// while set: with resign, the token is resign's, given the token's
// claims; without, a name in the payload is changed and the signature
// kept.
type tamperTransport struct {
	mu     sync.Mutex
	is     bool
	resign func(claims map[string]any) string
}

func (tt *tamperTransport) set(resign func(map[string]any) string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.is, tt.resign = true, resign
}

func (tt *tamperTransport) off() {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.is, tt.resign = false, nil
}

func (tt *tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	tt.mu.Lock()
	is, resign := tt.is, tt.resign
	tt.mu.Unlock()
	if err != nil || !is || !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tok map[string]any
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, err
	}
	parts := strings.Split(tok["id_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if resign != nil {
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		tok["id_token"] = resign(claims)
	} else {
		payload = bytes.Replace(payload, []byte(`"alice"`), []byte(`"bob"`), 1)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		tok["id_token"] = strings.Join(parts, ".")
	}
	body, _ = json.Marshal(tok)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}
