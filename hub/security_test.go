package hub

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub/hubtest"
)

// TestSecurityHeadersOnEveryHubPage asks every route of the matrix that
// the hub itself answers (not /user/, which the user's server or the
// contents service answers) as an anonymous caller and as the admin, and
// checks the headers that keep its pages from being framed, sniffed or
// leaking their URLs.
func TestSecurityHeadersOnEveryHubPage(t *testing.T) {
	fx := newMatrixFixture(t)
	callers := []caller{{name: "anonymous"}, {name: "admin", user: "root"}}
	for pattern, rows := range matrixRoutes(fx) {
		for _, rt := range rows {
			if strings.HasPrefix(rt.path, "/user/") {
				continue
			}
			for _, c := range callers {
				fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key})
				w := httptest.NewRecorder()
				fh.handler.ServeHTTP(w, fx.request(rt, c))
				checkHubHeaders(t, pattern+" as "+c.name, w.Result().Header)
			}
		}
	}
}

func checkHubHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", what, got)
	}
	switch got := h.Get("Referrer-Policy"); got {
	case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("%s: Referrer-Policy = %q, want one that sends no path to other sites", what, got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'self'", "default-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline script or eval", what, csp)
	}
}

// TestFilesFromTheHubOriginCannotRunScript: a user's HTML or SVG served
// by /user/{name}/files/ shares the hub's origin, so it must come
// sandboxed and unsniffable, or any user could run script as whoever
// opens the link.
func TestFilesFromTheHubOriginCannotRunScript(t *testing.T) {
	fx := newMatrixFixture(t)
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key})
	for _, name := range []string{"evil.html", "evil.svg", "evil.txt", "noext"} {
		put := httptest.NewRequest("PUT", "http://hub.test/user/alice/api/contents/"+name, strings.NewReader(`{"type": "file", "format": "text", "content": "<script>alert(1)</script>"}`))
		put.Header.Set("Authorization", "token "+fx.aliceSecret)
		if code := serve(fh, put); code != http.StatusCreated {
			t.Fatalf("PUT %s: %d", name, code)
		}
		get := httptest.NewRequest("GET", "http://hub.test/user/alice/files/"+name, nil)
		get.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: fx.sessions["alice"]})
		w := httptest.NewRecorder()
		fh.handler.ServeHTTP(w, get)
		h := w.Result().Header
		if w.Code != http.StatusOK {
			t.Fatalf("GET files/%s: %d", name, w.Code)
		}
		if got := h.Get("Content-Security-Policy"); !strings.HasPrefix(got, "sandbox") {
			t.Errorf("files/%s: Content-Security-Policy = %q, want sandbox", name, got)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("files/%s: X-Content-Type-Options = %q, want nosniff", name, got)
		}
	}
}

// TestCookieFlags: the session cookie is HttpOnly, SameSite=Lax, for the
// whole site, Secure over TLS or behind a trusted proxy that says
// https, and never Secure-less when the client used https; then it is
// named __Host-sparkhub-session and has no Domain, so no other path or
// host can set one beside it. The hub's _xsrf cookie is confined to
// /hub/; logout clears both.
func TestCookieFlags(t *testing.T) {
	fx := newMatrixFixture(t)
	tests := []struct {
		name       string
		remote     string
		tls        bool
		forwarded  string
		wantSecure bool
		wantName   string
	}{
		{"plain http", "192.0.2.1:1234", false, "", false, auth.SessionCookie},
		{"tls", "192.0.2.1:1234", true, "", true, auth.SecureSessionCookie},
		{"trusted proxy says https", "10.0.0.1:1234", false, "https", true, auth.SecureSessionCookie},
		{"untrusted peer says https", "192.0.2.1:1234", false, "https", false, auth.SessionCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key, proxies: []string{"10.0.0.0/8"}})
			setPassword(t, fh, "alice", "alice-password-1")
			login := func(r *http.Request) *http.Request {
				r.RemoteAddr = tt.remote
				if tt.tls {
					r.TLS = &tls.ConnectionState{}
				}
				if tt.forwarded != "" {
					r.Header.Set("X-Forwarded-Proto", tt.forwarded)
				}
				return r
			}
			w := httptest.NewRecorder()
			fh.handler.ServeHTTP(w, login(httptest.NewRequest("GET", "http://hub.test/hub/login", nil)))
			pre := cookieNamed(w.Result().Cookies(), auth.XSRFCookie)
			if pre == nil {
				t.Fatal("the login page set no _xsrf cookie")
			}
			form := url.Values{"username": {"alice"}, "password": {"alice-password-1"}, "_xsrf": {pre.Value}}
			r := login(httptest.NewRequest("POST", "http://hub.test/hub/login", strings.NewReader(form.Encode())))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(pre)
			w = httptest.NewRecorder()
			fh.handler.ServeHTTP(w, r)
			if w.Code != http.StatusFound {
				t.Fatalf("login: %d\n%s", w.Code, w.Body)
			}
			cookies := w.Result().Cookies()
			sess, xsrf := cookieNamed(cookies, tt.wantName), cookieNamed(cookies, auth.XSRFCookie)
			if sess == nil || xsrf == nil {
				t.Fatalf("login set %v, want the session cookie %s and _xsrf", cookies, tt.wantName)
			}
			if len(w.Result().Header.Values("Set-Cookie")) != 2 {
				t.Errorf("login set %q, want the session and _xsrf cookies only", w.Result().Header.Values("Set-Cookie"))
			}
			for _, c := range []*http.Cookie{pre, sess, xsrf} {
				if c.Secure != tt.wantSecure {
					t.Errorf("%s cookie: Secure = %v, want %v", c.Name, c.Secure, tt.wantSecure)
				}
				if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode {
					t.Errorf("%s cookie: SameSite = %v, want Lax or Strict", c.Name, c.SameSite)
				}
			}
			if !sess.HttpOnly || sess.Path != "/" || sess.Domain != "" || sess.Expires.IsZero() {
				t.Errorf("session cookie %+v: want HttpOnly, Path=/, no Domain and an expiry", sess)
			}
			if xsrf.Path != "/hub/" || pre.Path != "/hub/" {
				t.Errorf("_xsrf cookie paths %q, %q, want /hub/", pre.Path, xsrf.Path)
			}
			form = url.Values{"_xsrf": {xsrf.Value}}
			r = login(httptest.NewRequest("POST", "http://hub.test/hub/logout", strings.NewReader(form.Encode())))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(sess)
			w = httptest.NewRecorder()
			fh.handler.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther {
				t.Fatalf("logout: %d\n%s", w.Code, w.Body)
			}
			for _, name := range []string{tt.wantName, auth.XSRFCookie} {
				if c := cookieNamed(w.Result().Cookies(), name); c == nil || c.MaxAge >= 0 || c.Value != "" {
					t.Errorf("logout: %s cookie %+v, want it cleared", name, c)
				}
			}
		})
	}
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func setPassword(t *testing.T, fh *fullHub, name, password string) {
	t.Helper()
	hash, err := fh.auth.Passwords.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.auth.Store.SetPasswordHash(context.Background(), name, hash, false); err != nil {
		t.Fatal(err)
	}
}

// TestNoSecretInLogs sets known secrets, goes through every flow that
// handles one (logins that work and fail, a password typed as the
// username, password changes, tokens made over the API and the page,
// servers started and stopped, proxied requests, contents saved and read
// with encryption), keeps every log line at debug level, and looks for
// the secrets in them.
func TestNoSecretInLogs(t *testing.T) {
	fx := newMatrixFixture(t)
	logs := &hubtest.Buffer{}
	const (
		adminPassword = "Adm1n-Pa55word-9f8e7d"
		newPassword   = "N3w-Pa55word-0a1b2c"
		encryptionKey = "contents-encryption-key-5d4c3b2a"
		dbPassword    = "db-pa55word-77aa66bb"
	)
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key, logs: logs, encryptionKeys: []string{encryptionKey}, adminAccess: true})
	setPassword(t, fh, "root", adminPassword)
	secrets := map[string]string{
		"admin password": adminPassword, "new password": newPassword,
		"encryption key": encryptionKey, "database password": dbPassword,
		"session JWT": fx.sessions["root"], "alice's session JWT": fx.sessions["alice"],
		"alice's token": fx.aliceSecret, "root's inherit token": fx.secrets[auth.ScopeInherit],
	}
	do := func(method, path, body string, hdr map[string]string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, "http://hub.test"+path, strings.NewReader(body))
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), 10e9)
		defer cancel()
		fh.handler.ServeHTTP(w, r.WithContext(ctx))
		return w
	}
	form := "application/x-www-form-urlencoded"
	pre := cookieNamed(do("GET", "/hub/login", "", nil).Result().Cookies(), auth.XSRFCookie)
	loginForm := func(user, pw string) string {
		return url.Values{"username": {user}, "password": {pw}, "_xsrf": {pre.Value}}.Encode()
	}
	// A failed login, the password typed into the username field, a
	// login that works.
	do("POST", "/hub/login", loginForm("root", "wrong-"+adminPassword), map[string]string{"Content-Type": form}, pre)
	do("POST", "/hub/login", loginForm(adminPassword, adminPassword), map[string]string{"Content-Type": form}, pre)
	w := do("POST", "/hub/login", loginForm("root", adminPassword), map[string]string{"Content-Type": form}, pre)
	if w.Code != http.StatusFound {
		t.Fatalf("login: %d", w.Code)
	}
	sess := cookieNamed(w.Result().Cookies(), auth.SessionCookie)
	xsrf := cookieNamed(w.Result().Cookies(), auth.XSRFCookie)
	secrets["new session JWT"], secrets["XSRF token"] = sess.Value, xsrf.Value
	cookieAPI := map[string]string{auth.XSRFHeader: xsrf.Value, "Content-Type": "application/json"}
	rootTok := map[string]string{"Authorization": "token " + fx.secrets[auth.ScopeInherit], "Content-Type": "application/json"}

	// Password changes over the API and the admin page.
	if w := do("PATCH", "/hub/api/users/bob", `{"password": "`+newPassword+`"}`, cookieAPI, sess, xsrf); w.Code != http.StatusOK {
		t.Errorf("PATCH password: %d %s", w.Code, w.Body)
	}
	w = do("POST", "/hub/admin/users/bob/password", url.Values{"_xsrf": {xsrf.Value}}.Encode(), map[string]string{"Content-Type": form}, sess, xsrf)
	w = do("GET", w.Header().Get("Location"), "", nil, sess, xsrf)
	if m := regexp.MustCompile(`id="new-password" value="([^"]+)"`).FindStringSubmatch(w.Body.String()); m != nil {
		secrets["generated password"] = m[1]
	} else {
		t.Errorf("the admin page showed no new password: %d", w.Code)
	}
	do("POST", "/hub/api/users/bob/tokens", `{"note": "`+newPassword+`"}`, rootTok)

	// Tokens made over the API and the token page.
	w = do("POST", "/hub/api/users/alice/tokens", `{"note": "script"}`, rootTok)
	var made struct{ Token string }
	if err := json.Unmarshal(w.Body.Bytes(), &made); err != nil || made.Token == "" {
		t.Fatalf("token create: %d %s", w.Code, w.Body)
	}
	secrets["token made over the API"] = made.Token
	w = do("POST", "/hub/token", url.Values{"note": {"page"}, "expires_in": {"3600"}, "_xsrf": {xsrf.Value}}.Encode(), map[string]string{"Content-Type": form}, sess, xsrf)
	if m := regexp.MustCompile(`[0-9a-f]{64}`).FindString(w.Body.String()); m != "" {
		secrets["token made on the page"] = m
	} else {
		t.Errorf("the token page showed no new token: %d", w.Code)
	}
	do("GET", "/hub/api/user", "", map[string]string{"Authorization": "Bearer " + made.Token})
	do("GET", "/hub/api/user", "", map[string]string{"Authorization": "token " + made.Token + "x"})

	// A server started, proxied to, its contents token used, stopped.
	aliceTok := map[string]string{"Authorization": "token " + fx.aliceSecret, "Content-Type": "application/json"}
	if w := do("POST", "/hub/api/users/alice/server", "", aliceTok); w.Code != http.StatusCreated && w.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	waitUntil(t, "alice's server to run", func() bool {
		_, _, _, ok := fh.servers.Route("alice")
		return ok
	})
	_, serverToken, _, _ := fh.servers.Route("alice")
	secrets["server token"] = serverToken
	do("GET", "/hub/api/users/alice/server/progress", "", aliceTok)
	do("GET", "/user/alice/api", "", aliceTok)
	w = do("GET", "/user/alice/env", "", map[string]string{}, &http.Cookie{Name: auth.SessionCookie, Value: fx.sessions["alice"]})
	var env map[string]string
	if json.Unmarshal(w.Body.Bytes(), &env) == nil && env["SPARKHUB_CONTENTS_TOKEN"] != "" {
		secrets["contents token"] = env["SPARKHUB_CONTENTS_TOKEN"]
		do("PUT", "/user/alice/api/contents/via-server.txt", `{"type": "file", "format": "text", "content": "x"}`, map[string]string{"Authorization": "token " + env["SPARKHUB_CONTENTS_TOKEN"]})
	} else {
		t.Errorf("the server's environment: %d %s", w.Code, w.Body)
	}
	do("GET", "/user/alice/api", "", rootTok) // admin access, logged
	do("PUT", "/user/alice/api/contents/secret.ipynb", `{"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}`, aliceTok)
	do("GET", "/user/alice/api/contents/secret.ipynb", "", aliceTok)
	do("GET", "/user/alice/files/secret.ipynb", "", aliceTok)
	do("GET", "/user/alice/api/contents/nothing", "", aliceTok)
	do("DELETE", "/hub/api/users/alice/server", "", aliceTok)

	// The database URL: an error opening it must not repeat the password.
	if _, err := db.Open(context.Background(), "postgres://sparkhub:"+dbPassword+"@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", db.Options{}); err != nil {
		fh.h.log.Error("open the database", "err", err, "database", db.Redact("postgres://sparkhub:"+dbPassword+"@127.0.0.1:1/none"))
	}
	fh.servers.Close()

	text := logs.String()
	if len(text) < 200 {
		t.Fatalf("hardly any logs (%d bytes): the flows did not run?\n%s", len(text), text)
	}
	// Known leaks: each is a bug to fix; the test fails once the leak is
	// gone, so the entry gets removed.
	knownLeaks := map[string]string{}
	lower := strings.ToLower(text)
	for what, s := range secrets {
		if s == "" {
			t.Errorf("no %s to look for", what)
			continue
		}
		leaked := false
		for _, line := range strings.Split(lower, "\n") {
			if !strings.Contains(line, strings.ToLower(s)) {
				continue
			}
			if known, ok := knownLeaks[what]; ok && strings.Contains(line, known) {
				t.Logf("known bug: the %s (lowercased) is in: %s", what, line)
				leaked = true
				continue
			}
			t.Errorf("the %s is in a log line: %s", what, line)
		}
		if _, ok := knownLeaks[what]; ok && !leaked {
			t.Errorf("the known leak of the %s is gone: remove it from knownLeaks", what)
		}
	}
}

// TestStopFromJupyterWithItsXSRF: Jupyter's front ends (JupyterLab's
// Shut Down, hubtraf) stop a server with DELETE
// /hub/api/users/{name}/server, the session cookie, and X-XSRFToken set
// to the _xsrf cookie they find under /user/{name}/. The hub keeps that
// cookie, bound to the session and the server, so such a stop works;
// no header, a made-up one, one planted as an _xsrf cookie under /hub/,
// another server's, or another site's Origin stop nothing.
func TestStopFromJupyterWithItsXSRF(t *testing.T) {
	fx := newMatrixFixture(t)
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key})
	ctx := context.Background()
	for _, n := range []string{"alice", "bob", "root"} {
		u, err := fh.auth.Store.UserByName(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fh.servers.Start(ctx, serverUser(u), ""); err != nil {
			t.Fatalf("starting %s's server: %v", n, err)
		}
		waitUntil(t, n+"'s server to run", func() bool { _, _, _, ok := fh.servers.Route(n); return ok })
	}
	as := func(user string, r *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: fx.sessions[user]})
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		fh.handler.ServeHTTP(w, r)
		return w
	}
	serverXSRF := func(user string, cookies ...*http.Cookie) string {
		t.Helper()
		w := as(user, httptest.NewRequest("GET", "http://hub.test/user/"+user+"/api", nil), cookies...)
		if w.Code != http.StatusOK {
			t.Fatalf("%s opening their server = %d", user, w.Code)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == auth.XSRFCookie && c.Path == "/user/"+user+"/" {
				return c.Value
			}
		}
		return ""
	}
	v := serverXSRF("alice")
	if v == "" {
		t.Fatal("opening alice's server set no _xsrf cookie under /user/alice/")
	}
	if again := serverXSRF("alice", &http.Cookie{Name: auth.XSRFCookie, Value: v}); again != "" {
		t.Errorf("the _xsrf cookie is set again when the browser has it: %q", again)
	}
	if other := serverXSRF("alice", &http.Cookie{Name: auth.XSRFCookie, Value: "2|aa|bb|1700000000"}); other != v {
		t.Errorf("a server's own _xsrf cookie is replaced by %q, want %q", other, v)
	}
	rootV := serverXSRF("root")

	hubXSRF := &http.Cookie{Name: auth.XSRFCookie, Value: fh.auth.Sessions.XSRF(fx.sids["alice"])}
	stop := func(user, name, header, origin string, cookies ...*http.Cookie) int {
		r := httptest.NewRequest("DELETE", "http://hub.test/hub/api/users/"+name+"/server", nil)
		if header != "" {
			r.Header.Set(auth.XSRFHeader, header)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return as(user, r, cookies...).Code
	}
	tossed := &http.Cookie{Name: auth.XSRFCookie, Value: "tossed-by-a-server-page-0123456789abcdef"}
	for _, tc := range []struct {
		what, user, name, header, origin string
		cookies                          []*http.Cookie
	}{
		{"no header", "alice", "alice", "", "", []*http.Cookie{hubXSRF}},
		{"a made-up header", "alice", "alice", "forged-forged-forged-forged-forged", "", []*http.Cookie{hubXSRF}},
		{"a cookie planted under /hub/ and sent back", "alice", "alice", tossed.Value, "", []*http.Cookie{tossed}},
		{"another site's Origin", "alice", "alice", v, "https://evil.example", nil},
		{"another session's token", "bob", "bob", v, "", nil},
		{"an admin's token of their own server, on another's", "root", "bob", rootV, "", nil},
	} {
		if code := stop(tc.user, tc.name, tc.header, tc.origin, tc.cookies...); code != http.StatusForbidden {
			t.Errorf("%s: stop = %d, want 403", tc.what, code)
		}
	}
	for _, n := range []string{"alice", "bob", "root"} {
		if fh.fake.Running(n) != 1 {
			t.Fatalf("a refused stop stopped %s's server", n)
		}
	}
	if code := stop("alice", "alice", v, "http://hub.test", hubXSRF); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop with the server's _xsrf = %d, want 204 or 202", code)
	}
	waitUntil(t, "alice's server to stop", func() bool { return fh.fake.Running("alice") == 0 })
}
