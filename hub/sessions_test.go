package hub

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// sessionCookie is the browser's session cookie, to replay elsewhere.
func (b *browser) sessionCookie() *http.Cookie {
	b.th.t.Helper()
	u, _ := url.Parse(b.th.srv.URL + "/hub/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == auth.SessionCookie {
			return c
		}
	}
	b.th.t.Fatal("the browser holds no session cookie")
	return nil
}

// replay asks path with only the copied cookie, as a thief would.
func (th *testHub) replay(c *http.Cookie, path string) *http.Response {
	th.t.Helper()
	r, _ := http.NewRequest("GET", th.srv.URL+path, nil)
	r.AddCookie(c)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(r)
	if err != nil {
		th.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestLogoutEndsTheSession: GET /hub/logout from another site (or
// with no word from the browser of where it comes from) only offers a
// Log out button; a post without the session's XSRF
// token, or from another site, is a 403; neither changes anything. The
// post with it ends the session: a copy of the cookie taken before is
// refused after, on the API and the pages. A navigation from the hub's
// own origin (Jupyter's Log Out) ends it at once.
func TestLogoutEndsTheSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("alice", false)
		b := th.browser()
		b.mustLogin("alice")
		stolen := b.sessionCookie()
		stillIn := func(what string) {
			t.Helper()
			if resp := th.replay(stolen, "/hub/api/user"); resp.StatusCode != http.StatusOK {
				t.Fatalf("after %s, alice's session = %d, want it still logged in", what, resp.StatusCode)
			}
		}
		before := th.snapshot()

		r := th.do(b, req{method: "GET", path: "/hub/logout", auth: "cookie-noxsrf", header: map[string]string{"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site"}})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `action="/hub/logout"`) || !strings.Contains(string(r.body), `id="logout"`) {
			t.Fatalf("GET /hub/logout from another site = %d, want the page with the Log out button\n%s", r.status, r.body)
		}
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, auth.SessionCookie+"=;") {
				t.Errorf("GET /hub/logout cleared the session cookie: %q", c)
			}
		}
		stillIn("GET /hub/logout")

		code, _, body := b.post("/hub/logout", nil, "-")
		wantPage(t, "logout without the XSRF token", code, body, http.StatusForbidden, "XSRF check failed")
		stillIn("a logout without the XSRF token")
		code, _, body = b.post("/hub/logout", nil, "not-the-token")
		wantPage(t, "logout with a wrong XSRF token", code, body, http.StatusForbidden)
		stillIn("a logout with a wrong XSRF token")
		r = th.do(b, req{method: "POST", path: "/hub/logout", auth: "cookie-noxsrf", body: "_xsrf=" + b.xsrf(),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}})
		if r.status != http.StatusForbidden {
			t.Errorf("logout posted from another site = %d, want 403", r.status)
		}
		stillIn("a logout from another site")
		if after := th.snapshot(); after != before {
			t.Fatalf("refused logouts changed the database:\nbefore %s\nafter  %s", before, after)
		}

		code, loc, _ := b.post("/hub/logout", nil, "")
		wantRedirect(t, "logout", code, loc, http.StatusSeeOther, "/hub/login")
		if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusUnauthorized {
			t.Errorf("the browser after logout = %d, want 401", r.status)
		}
		if resp := th.replay(stolen, "/hub/api/user"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the copied cookie on the API after logout = %d, want 401", resp.StatusCode)
		}
		if resp := th.replay(stolen, "/hub/home"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/hub/login?") {
			t.Errorf("the copied cookie on a page after logout = %d to %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !strings.Contains(th.logs.String(), "msg=logout user=alice") {
			t.Errorf("the logout was not logged:\n%s", th.logs)
		}
		// A second post, logged out, ends nothing and goes to the login
		// page.
		code, loc, _ = b.post("/hub/logout", nil, "")
		wantRedirect(t, "logout again", code, loc, http.StatusSeeOther, "/hub/login")

		// Logging in again starts a new session, which works.
		b.mustLogin("alice")
		if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusOK {
			t.Errorf("a new login after logout = %d", r.status)
		}

		// Jupyter's Log Out: a navigation from a page of the hub's own
		// origin (JupyterLab's File > Log Out, through
		// /user/alice/logout) ends the session at once; from another
		// site of the same domain (another user's origin) it only
		// offers the button.
		r = th.do(b, req{method: "GET", path: "/hub/logout", auth: "cookie-noxsrf", header: map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="logout"`) {
			t.Fatalf("GET /hub/logout from a sibling origin = %d, want the page", r.status)
		}
		if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusOK {
			t.Fatalf("alice after opening the page from a sibling origin = %d, want still logged in", r.status)
		}
		r = th.do(b, req{method: "GET", path: "/hub/logout", auth: "cookie-noxsrf", header: map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/hub/login" {
			t.Fatalf("Jupyter's Log Out = %d to %q, want the login page", r.status, r.header.Get("Location"))
		}
		if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusUnauthorized {
			t.Errorf("alice after Jupyter's Log Out = %d, want 401", r.status)
		}
	})
}

// TestRevokingSessionsNeedsAScope: a token that may only reach
// notebooks or servers cannot log its owner out everywhere; one with
// tokens, the owner's browser, and an admin can.
func TestRevokingSessionsNeedsAScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		b := th.browser()
		b.mustLogin("alice")
		for _, scopes := range [][]string{{auth.ScopeContents}, {auth.ScopeServers, auth.ScopeAccessServers}, {auth.ScopeReadUsers}} {
			before := th.snapshot()
			r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/alice/sessions", auth: "token " + th.token("alice", scopes...)})
			if r.status != http.StatusForbidden || !strings.Contains(r.message(t), "users or tokens") {
				t.Errorf("a %v token revoking its owner's sessions = %d %s, want 403 naming the scope", scopes, r.status, r.body)
			}
			if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusOK {
				t.Fatalf("alice after a refused revoke = %d", r.status)
			}
			if after := th.snapshot(); !strings.HasPrefix(after, before) {
				t.Errorf("a refused revoke changed the database:\nbefore %s\nafter  %s", before, after)
			}
		}
		for _, who := range []string{"token " + th.token("alice", auth.ScopeTokens), "cookie", "token " + th.token("root", auth.ScopeAdminUsers)} {
			if r := th.do(b, req{method: "DELETE", path: "/hub/api/users/alice/sessions", auth: who}); r.status != http.StatusNoContent {
				t.Fatalf("revoking alice's sessions as %.12s = %d %s", who, r.status, r.body)
			}
			if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusUnauthorized {
				t.Fatalf("alice after her sessions were revoked = %d, want 401", r.status)
			}
			b.mustLogin("alice")
		}
	})
}

// TestPasswordChangeRevokesTokens: a password change with revoke_tokens
// (the API) or the admin form's ticked box revokes the user's API
// tokens; without, they keep working. Asking for it without a new
// password, or without the tokens scope, changes nothing.
func TestPasswordChangeRevokesTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, _ := newPageHub(t, gdb)
		th.addUser("root", true)
		th.addUser("alice", false)
		admin := "token " + th.token("root")
		works := func(tok string) int {
			return th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: tok}).status
		}
		old := "token " + th.token("alice")

		for _, tt := range []struct {
			who, body, says string
			status          int
		}{
			{admin, `{"revoke_tokens": true}`, "goes with a new password", http.StatusBadRequest},
			{"token " + th.token("root", auth.ScopeAdminUsers), `{"password": "new password 1", "revoke_tokens": true}`, "tokens", http.StatusForbidden},
		} {
			before := th.snapshot()
			r := th.do(nil, req{method: "PATCH", path: "/hub/api/users/alice", auth: tt.who, body: tt.body})
			if r.status != tt.status || !strings.Contains(r.message(t), tt.says) {
				t.Errorf("PATCH %s = %d %s, want %d saying %q", tt.body, r.status, r.body, tt.status, tt.says)
			}
			if after := th.snapshot(); !strings.HasPrefix(after, before) {
				t.Errorf("PATCH %s changed the database:\nbefore %s\nafter  %s", tt.body, before, after)
			}
		}
		if code := works(old); code != http.StatusOK {
			t.Fatalf("alice's token after refused changes = %d", code)
		}

		// Without revoke_tokens the token stays.
		th.do(nil, req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"password": "new password 2"}`})
		if code := works(old); code != http.StatusOK {
			t.Fatalf("alice's token after a password change that kept tokens = %d, want 200", code)
		}
		r := th.do(nil, req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"password": "new password 3", "revoke_tokens": true}`})
		if r.status != http.StatusOK {
			t.Fatalf("PATCH with revoke_tokens = %d %s", r.status, r.body)
		}
		if code := works(old); code != http.StatusUnauthorized {
			t.Errorf("alice's old token after the password change with revocation = %d, want 401", code)
		}

		// The admin page's Reset password: the box is ticked by default,
		// and unticked keeps the tokens.
		b := th.browser()
		b.mustLogin("root")
		_, _, body := b.page("/hub/admin")
		if !strings.Contains(body, `name="revoke_tokens" value="1" checked`) {
			t.Errorf("the admin page's Reset password offers no ticked revoke_tokens box")
		}
		kept := "token " + th.token("alice")
		code, loc, _ := b.post("/hub/admin/users/alice/password", nil, "")
		if code != http.StatusSeeOther || strings.Contains(loc, "tokens=revoked") {
			t.Fatalf("reset without the box = %d → %q", code, loc)
		}
		if code := works(kept); code != http.StatusOK {
			t.Errorf("alice's token after a reset without the box = %d, want 200", code)
		}
		code, loc, _ = b.post("/hub/admin/users/alice/password", url.Values{"revoke_tokens": {"1"}}, "")
		if code != http.StatusSeeOther {
			t.Fatalf("reset with the box = %d", code)
		}
		_, _, body = b.page(loc)
		wantPage(t, "after reset", http.StatusOK, body, http.StatusOK, "They have been logged out everywhere, and their API tokens revoked.")
		if code := works(kept); code != http.StatusUnauthorized {
			t.Errorf("alice's token after a reset with the box = %d, want 401", code)
		}
	})
}

// TestPlantedSessionCookieLogsNoOneIn: a page under the hub's origin
// plants a session cookie of its own (bob's) with a narrower path,
// beside alice's. The hub lets neither in, clears both, and the login
// page says why.
func TestPlantedSessionCookieLogsNoOneIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("alice", false)
		th.addUser("bob", false)
		mallory := th.browser()
		mallory.mustLogin("bob")
		planted := mallory.sessionCookie()

		b := th.browser()
		b.mustLogin("alice")
		u, _ := url.Parse(th.srv.URL + "/hub/")
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: planted.Value, Path: "/hub/"}})

		code, loc, _ := b.page("/hub/home")
		wantRedirect(t, "home with two session cookies", code, loc, http.StatusFound, "/hub/login?next=%2Fhub%2Fhome&why=cookies")
		_, _, body := b.page(loc)
		wantPage(t, "the login page", http.StatusOK, body, http.StatusOK, "two sparkhub logins at once", `name="password"`)
		if left := b.client.Jar.Cookies(u); len(left) != 1 || left[0].Name != auth.XSRFCookie {
			t.Errorf("after the clash the browser holds %v, want no session cookie", left)
		}
		if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusUnauthorized {
			t.Errorf("after the clash the API = %d, want 401", r.status)
		}

		// Over the API, the 401 says why; on /user/ too.
		b.mustLogin("alice")
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: planted.Value, Path: "/hub/api/"}})
		r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"})
		if r.status != http.StatusUnauthorized || r.message(t) != httperr.SessionClash {
			t.Errorf("the API with two session cookies = %d %s, want 401 saying why", r.status, r.body)
		}
	})
}
