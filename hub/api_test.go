package hub

import (
	"crypto/rand"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

func TestUserAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		admin := "token " + th.token("root")

		// Create in bulk: 201 with the created users only.
		r := th.do(nil, req{method: "POST", path: "/hub/api/users", auth: admin, body: map[string]any{"usernames": []string{"bob", "carol", "alice"}}})
		if r.status != http.StatusCreated {
			t.Fatalf("POST users = %d %s", r.status, r.body)
		}
		var created []map[string]any
		r.json(t, &created)
		if len(created) != 2 || created[0]["name"] != "bob" || created[1]["name"] != "carol" {
			t.Fatalf("created %v, want bob and carol", created)
		}
		for _, key := range []string{"kind", "name", "admin", "roles", "groups", "server", "pending", "created", "last_activity", "servers"} {
			if _, ok := created[0][key]; !ok {
				t.Errorf("user model lacks %q: %v", key, created[0])
			}
		}
		if c, _ := created[0]["created"].(string); !strings.HasSuffix(c, "Z") {
			t.Errorf("created = %q, want ISO 8601 UTC with Z", c)
		}

		// One user, then rename and grant admin with PATCH.
		r = th.do(nil, req{method: "POST", path: "/hub/api/users/dave", auth: admin, body: map[string]any{"admin": true}})
		if r.status != http.StatusCreated {
			t.Fatalf("POST users/dave = %d %s", r.status, r.body)
		}
		r = th.do(nil, req{method: "PATCH", path: "/hub/api/users/dave", auth: admin, body: map[string]any{"name": "dave2", "admin": false}})
		var m map[string]any
		r.json(t, &m)
		if r.status != http.StatusOK || m["name"] != "dave2" || m["admin"] != false {
			t.Fatalf("PATCH = %d %s", r.status, r.body)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/dave", auth: admin}); r.status != http.StatusNotFound {
			t.Errorf("old name still answers: %d", r.status)
		}

		// List: plain, then paginated with JupyterHub's media type.
		r = th.do(nil, req{method: "GET", path: "/hub/api/users", auth: admin})
		var all []map[string]any
		r.json(t, &all)
		if len(all) != 5 {
			t.Fatalf("GET users listed %d, want 5", len(all))
		}
		r = th.do(nil, req{method: "GET", path: "/hub/api/users?limit=2&offset=1&sort=name", auth: admin, header: map[string]string{"Accept": paginationMediaType}})
		var page apiPage
		r.json(t, &page)
		if len(page.Items) != 2 || page.Items[0]["name"] != "bob" || page.Pagination.Total != 5 || page.Pagination.Next == nil {
			t.Fatalf("page = %s", r.body)
		}
		if n := page.Pagination.Next; n.Offset != 3 || !strings.HasPrefix(n.URL, th.srv.URL+"/hub/api/users?") {
			t.Errorf("next = %+v", n)
		}
		r = th.do(nil, req{method: "GET", path: "/hub/api/users?name_filter=ca", auth: admin})
		r.json(t, &all)
		if len(all) != 1 || all[0]["name"] != "carol" {
			t.Errorf("name_filter=ca gave %s", r.body)
		}
		r = th.do(nil, req{method: "GET", path: "/hub/api/users?state=active", auth: admin})
		r.json(t, &all)
		if len(all) != 0 {
			t.Errorf("state=active listed %d users with no server running", len(all))
		}

		// Delete.
		if r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/carol", auth: admin}); r.status != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/carol", auth: admin}); r.status != http.StatusNotFound {
			t.Errorf("deleted user answers %d", r.status)
		}

		// The user themselves: whoami with scopes, own model, not others.
		alice := "token " + th.token("alice")
		r = th.do(nil, req{method: "GET", path: "/hub/api/user", auth: alice})
		var who struct {
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
		}
		r.json(t, &who)
		if who.Name != "alice" || !contains(who.Scopes, "servers!user=alice") || contains(who.Scopes, "list:users") {
			t.Errorf("whoami = %s", r.body)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: alice}); r.status != http.StatusOK {
			t.Errorf("alice reading herself: %d", r.status)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/bob", auth: alice}); r.status != http.StatusNotFound {
			t.Errorf("alice reading bob: %d, want 404 as JupyterHub", r.status)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/info", auth: admin}); r.status != http.StatusOK || r.header.Get("X-JupyterHub-Version") != "3.0.0" {
			t.Errorf("info: %d %v", r.status, r.header)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api"}); r.status != http.StatusOK || string(r.body) != "{\"sparkhub_version\":\"test\",\"version\":\"3.0.0\"}\n" {
			t.Errorf("GET /hub/api = %d %s", r.status, r.body)
		}
	})
}

func TestTokenAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		b := th.browser()
		b.mustLogin("alice")

		r := th.do(b, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "cookie", body: map[string]any{"note": "ci", "expires_in": 3600, "scopes": []string{"read:users", "contents"}}})
		if r.status != http.StatusCreated {
			t.Fatalf("create token = %d %s", r.status, r.body)
		}
		var tok map[string]any
		r.json(t, &tok)
		secret, _ := tok["token"].(string)
		id, _ := tok["id"].(string)
		if len(secret) != 64 || !strings.HasPrefix(id, "a") || tok["note"] != "ci" || tok["expires_at"] == nil {
			t.Fatalf("token model = %v", tok)
		}
		for _, key := range []string{"user", "kind", "roles", "scopes", "created", "last_activity", "session_id", "oauth_client"} {
			if _, ok := tok[key]; !ok {
				t.Errorf("token model lacks %q", key)
			}
		}
		if strings.Contains(th.logs.String(), secret) {
			t.Error("the token reached the log")
		}
		// The token works, with its scopes only.
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: "token " + secret}); r.status != http.StatusOK {
			t.Errorf("token use = %d", r.status)
		}
		r = th.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "token " + secret, body: map[string]any{}})
		if r.status != http.StatusForbidden || !strings.Contains(r.message(t), "tokens") {
			t.Errorf("a read-only token making tokens = %d %s, want 403 naming the scope", r.status, r.body)
		}

		// List, get, delete.
		r = th.do(b, req{method: "GET", path: "/hub/api/users/alice/tokens", auth: "cookie"})
		var list struct {
			APITokens []map[string]any `json:"api_tokens"`
		}
		r.json(t, &list)
		if len(list.APITokens) != 1 || list.APITokens[0]["id"] != id || list.APITokens[0]["token"] != nil {
			t.Fatalf("token list = %s", r.body)
		}
		if r := th.do(b, req{method: "GET", path: "/hub/api/users/alice/tokens/" + id, auth: "cookie"}); r.status != http.StatusOK {
			t.Errorf("get token = %d", r.status)
		}
		for _, bad := range []string{"a999999", "xyz", "a0", "1"} {
			if r := th.do(b, req{method: "GET", path: "/hub/api/users/alice/tokens/" + bad, auth: "cookie"}); r.status != http.StatusNotFound {
				t.Errorf("get token %s = %d, want 404", bad, r.status)
			}
		}
		if r := th.do(b, req{method: "DELETE", path: "/hub/api/users/alice/tokens/" + id, auth: "cookie"}); r.status != http.StatusNoContent {
			t.Fatalf("delete token = %d %s", r.status, r.body)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/user", auth: "token " + secret}); r.status != http.StatusUnauthorized {
			t.Errorf("deleted token still works: %d", r.status)
		}

		// Bad token requests change nothing.
		before := th.snapshot()
		for _, body := range []any{
			map[string]any{"scopes": []string{"list:users"}},
			map[string]any{"scopes": []string{"no-such-scope"}},
			map[string]any{"expires_in": -5},
			map[string]any{"expires_in": "soon"},
			map[string]any{"roles": []string{"admin"}},
			map[string]any{"note": strings.Repeat("n", 1001)},
			"{not json",
		} {
			if r := th.do(b, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "cookie", body: body}); r.status != http.StatusBadRequest {
				t.Errorf("token %v = %d %s, want 400", body, r.status, r.body)
			} else {
				r.message(t)
			}
		}
		if th.snapshot() != before {
			t.Error("a refused token request changed the database")
		}
		// Another user's tokens: 404 for alice, fine for the admin.
		if r := th.do(b, req{method: "GET", path: "/hub/api/users/root/tokens", auth: "cookie"}); r.status != http.StatusNotFound {
			t.Errorf("alice listing root's tokens = %d", r.status)
		}
		if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "token " + th.token("root"), body: map[string]any{"scopes": []string{"read:users!user=alice"}}}); r.status != http.StatusCreated {
			t.Errorf("admin creating alice's token = %d %s", r.status, r.body)
		}
	})
}

// TestAdminTokensWithoutAdminAccess: with --admin-access off an admin
// does not reach alice's server or notebooks, and so may not mint a
// token of hers that would (all her scopes, access:servers, contents);
// the refusal says why and creates nothing. With --admin-access on, or
// for narrower scopes, the admin may.
func TestAdminTokensWithoutAdminAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		root := "token " + th.token("root")
		before := th.snapshot()
		for _, body := range []map[string]any{
			{},
			{"scopes": []string{"inherit"}},
			{"scopes": []string{"access:servers"}},
			{"scopes": []string{"access:servers!user=alice"}},
			{"scopes": []string{"contents"}},
			{"roles": []string{"user"}},
		} {
			r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: root, body: body})
			if r.status != http.StatusForbidden || !strings.Contains(r.message(t), "--admin-access is off") {
				t.Errorf("admin minting alice's token %v = %d %s, want 403 naming --admin-access", body, r.status, r.body)
			}
		}
		if th.snapshot() != before {
			t.Error("a refused token request changed the database")
		}
		// Her own tokens, and narrower ones from the admin, still work.
		if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "token " + th.token("alice"), body: map[string]any{}}); r.status != http.StatusCreated {
			t.Errorf("alice's own inherit token = %d %s", r.status, r.body)
		}
		if r := th.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: root, body: map[string]any{"scopes": []string{"read:servers!user=alice"}}}); r.status != http.StatusCreated {
			t.Errorf("admin's read:servers token for alice = %d %s", r.status, r.body)
		}

		if !strings.Contains(th.logs.String(), `msg="token created for another user" user=root owner=alice`) {
			t.Errorf("the admin's token for alice is not logged as minted for another user:\n%s", th.logs)
		}
		open := newTestHubAuth(t, gdb, nil, auth.Options{AdminAccess: true})
		if r := open.do(nil, req{method: "POST", path: "/hub/api/users/alice/tokens", auth: root, body: map[string]any{}}); r.status != http.StatusCreated {
			t.Errorf("with --admin-access, admin minting alice's token = %d %s", r.status, r.body)
		}
	})
}

// TestBadInput is the issue's list: each bad request gets a clear 4xx
// and changes nothing.
func TestBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		admin := "token " + th.token("root")
		alice := "token " + th.token("alice")
		readOnly := "token " + th.token("root", "read:users", "list:users")
		b := th.browser()
		b.mustLogin("alice")
		big := `{"usernames": ["` + strings.Repeat("a", 1<<20) + `"]}`

		tests := []struct {
			name   string
			rq     req
			status int
			says   string
		}{
			{"malformed JSON", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": [`}, 400, "JSON"},
			{"wrong JSON type", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": "bob"}`}, 400, "usernames"},
			{"unknown field", req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"colour": "red"}`}, 400, "colour"},
			{"wrong JSON type in a change", req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"admin": "yes"}`}, 400, `"admin" must be true or false`},
			{"two JSON values", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": ["x"]} {}`}, 400, "more than one"},
			{"empty body", req{method: "POST", path: "/hub/api/users", auth: admin}, 400, "JSON body"},
			{"no usernames", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": []}`}, 400, "at least one"},
			{"invalid name", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": ["ok", "Not Valid"]}`}, 400, "1 to 30"},
			{"too long name", req{method: "POST", path: "/hub/api/users/" + strings.Repeat("a", 31), auth: admin}, 400, "1 to 30"},
			{"rename to invalid", req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"name": "../x"}`}, 400, "valid username"},
			{"unknown user", req{method: "GET", path: "/hub/api/users/nobody", auth: admin}, 404, "nobody"},
			{"unknown user patch", req{method: "PATCH", path: "/hub/api/users/nobody", auth: admin, body: `{"admin": true}`}, 404, "nobody"},
			{"unknown user delete", req{method: "DELETE", path: "/hub/api/users/nobody", auth: admin}, 404, "nobody"},
			{"duplicate user", req{method: "POST", path: "/hub/api/users/alice", auth: admin}, 409, "already exists"},
			{"duplicate bulk", req{method: "POST", path: "/hub/api/users", auth: admin, body: `{"usernames": ["alice", "root"]}`}, 409, "already exist"},
			{"rename onto another", req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"name": "root"}`}, 409, "exists"},
			{"non-admin lists users", req{method: "GET", path: "/hub/api/users", auth: alice}, 403, "list:users"},
			{"non-admin creates users", req{method: "POST", path: "/hub/api/users", auth: alice, body: `{"usernames": ["eve"]}`}, 403, "admin:users"},
			{"non-admin makes self admin", req{method: "PATCH", path: "/hub/api/users/alice", auth: alice, body: `{"admin": true}`}, 403, "admin:users"},
			{"non-admin deletes", req{method: "DELETE", path: "/hub/api/users/root", auth: alice}, 403, "delete:users"},
			{"non-admin reads info", req{method: "GET", path: "/hub/api/info", auth: alice}, 403, "read:hub"},
			{"non-admin via cookie", req{method: "GET", path: "/hub/api/users", auth: "cookie"}, 403, "your account"},
			{"token without scope", req{method: "POST", path: "/hub/api/users", auth: readOnly, body: `{"usernames": ["eve"]}`}, 403, "admin:users"},
			{"token without scope delete", req{method: "DELETE", path: "/hub/api/users/alice", auth: readOnly}, 403, "delete:users"},
			{"no credentials", req{method: "GET", path: "/hub/api/users"}, 401, "not logged in"},
			{"bogus token", req{method: "GET", path: "/hub/api/users", auth: "token " + strings.Repeat("f", 64)}, 401, "not logged in"},
			{"bad auth scheme", req{method: "GET", path: "/hub/api/users", header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "not logged in"},
			{"cookie write without XSRF", req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "cookie-noxsrf", body: `{}`}, 403, "XSRF"},
			{"cookie write cross-site", req{method: "POST", path: "/hub/api/users/alice/tokens", auth: "cookie", body: `{}`, header: map[string]string{"Origin": "https://evil.example"}}, 403, "XSRF"},
			{"body over 1 MiB", req{method: "POST", path: "/hub/api/users", auth: admin, body: big}, 413, "larger than"},
			{"bad offset", req{method: "GET", path: "/hub/api/users?offset=-1", auth: admin}, 400, "offset"},
			{"bad limit", req{method: "GET", path: "/hub/api/users?limit=lots", auth: admin}, 400, "limit"},
			{"bad state", req{method: "GET", path: "/hub/api/users?state=sleepy", auth: admin}, 400, "state"},
			{"bad sort", req{method: "GET", path: "/hub/api/users?sort=password_hash", auth: admin}, 400, "sort"},
			{"last admin demoted", req{method: "PATCH", path: "/hub/api/users/root", auth: admin, body: `{"admin": false}`}, 400, "last admin"},
			{"last admin deleted", req{method: "DELETE", path: "/hub/api/users/root", auth: admin}, 400, "last admin"},
			{"short password", req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"password": "short"}`}, 400, "8 characters"},
			{"unknown endpoint", req{method: "GET", path: "/hub/api/nothing", auth: admin}, 404, "no API endpoint"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := th.snapshot()
				r := th.do(b, tt.rq)
				if r.status != tt.status {
					t.Fatalf("%s %s = %d %s, want %d", tt.rq.method, tt.rq.path[:min(len(tt.rq.path), 60)], r.status, r.body, tt.status)
				}
				if msg := r.message(t); !strings.Contains(strings.ToLower(msg), strings.ToLower(tt.says)) {
					t.Errorf("message %q does not say %q", msg, tt.says)
				}
				if after := th.snapshot(); after != before {
					t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	})
}

func TestLoginFlow(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	th.addUser("alice", false)

	b := th.browser()
	// A page sends an anonymous browser to the login page with next=.
	resp, err := b.client.Get(th.srv.URL + "/hub/home")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/hub/login?next=%2Fhub%2Fhome" {
		t.Fatalf("anonymous /hub/home = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.login("alice", "wrong password", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("wrong password = %d", resp.StatusCode)
	}
	resp, _ = b.login("alice", "password-alice", "/user/alice/tree?x=1")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/user/alice/tree?x=1" {
		t.Fatalf("login with next = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure {
		t.Fatalf("session cookie = %+v", sess)
	}
	if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusOK {
		t.Fatalf("API with cookie = %d", r.status)
	}
	// Logout ends it.
	resp, _ = b.client.PostForm(th.srv.URL+"/hub/logout", url.Values{"_xsrf": {b.xsrf()}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hub/login" {
		t.Fatalf("logout = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != http.StatusUnauthorized {
		t.Fatalf("API after logout = %d", r.status)
	}
}

func TestNextOnlyOnThisHub(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	th.addUser("alice", false)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil", "javascript:alert(1)", "/\r\nSet-Cookie:x", "evil"} {
		b := th.browser()
		resp, _ := b.login("alice", "password-alice", next)
		if loc := resp.Header.Get("Location"); loc != "/hub/home" {
			t.Errorf("next=%q sent the browser to %q, want /hub/home", next, loc)
		}
	}
	for _, next := range []string{"/hub/token", "/user/alice/lab?a=b"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	th.addUser("alice", false)
	b := th.browser()
	before := th.snapshot()
	var resp *http.Response
	var body string
	for i := 0; i < 6; i++ {
		resp, body = b.login("alice", fmt.Sprintf("guess-%d", i), "")
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many attempts, try again in") {
		t.Fatalf("6th wrong password = %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Even the right password waits now, from this address.
	if resp, _ = b.login("alice", "password-alice", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while locked = %d, want 429", resp.StatusCode)
	}
	// Unknown users are throttled the same way.
	for i := 0; i < 6; i++ {
		resp, _ = b.login("nobody", "x", "")
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("unknown user after 6 tries = %d", resp.StatusCode)
	}
	if th.snapshot() != before {
		t.Error("failed logins changed the users table")
	}
}

// browserFrom is a browser whose connections come from the local
// address ip (Linux routes all of 127.0.0.0/8 to the loopback).
func (th *testHub) browserFrom(ip string) *browser {
	b := th.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	b.client.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

// TestLoginThrottleIsPerAddress runs the lockout attack over the wire:
// wrong passwords for the admin from 127.0.0.2 lock out 127.0.0.2, and
// the admin still logs in from 127.0.0.1. The guessing address stays
// throttled, even with the right password, and a forged
// X-Forwarded-For (no --trusted-proxies) does not give it a fresh
// address.
func TestLoginThrottleIsPerAddress(t *testing.T) {
	th := newTestHub(t, dbtest.Open(t, db.SQLite), nil)
	th.addUser("admin", true)
	attacker := th.browserFrom("127.0.0.2")
	var resp *http.Response
	for i := 0; i < 6; i++ {
		resp, _ = attacker.login("admin", fmt.Sprintf("guess-%d", i), "")
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th wrong password from 127.0.0.2 = %d, want 429", resp.StatusCode)
	}
	if resp, _ := attacker.login("admin", "password-admin", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password from 127.0.0.2 = %d, want 429", resp.StatusCode)
	}
	forged := attacker.client.Transport
	attacker.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("X-Forwarded-For", "192.0.2.44")
		return forged.RoundTrip(r)
	})
	if resp, _ := attacker.login("admin", "password-admin", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("from 127.0.0.2 with a forged X-Forwarded-For = %d, want 429", resp.StatusCode)
	}
	owner := th.browserFrom("127.0.0.1")
	if resp, body := owner.login("admin", "password-admin", ""); resp.StatusCode != http.StatusFound {
		t.Fatalf("the admin from 127.0.0.1 = %d, want 302: locked out by someone else\n%s", resp.StatusCode, body)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLoginFormNeedsXSRF(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	th.addUser("alice", false)
	b := th.browser()
	b.loginForm()
	resp, err := b.client.PostForm(th.srv.URL+"/hub/login", map[string][]string{"username": {"alice"}, "password": {"password-alice"}, "_xsrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a forged _xsrf = %d, want 403", resp.StatusCode)
	}
}

// TestBadSessionCookies: a missing, expired or tampered JWT, alg none, or
// any algorithm but HS256 is not logged in: 401 from the API, the login
// page for pages.
func TestBadSessionCookies(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	u := th.addUser("alice", false)
	other := make([]byte, 32)
	rand.Read(other)
	good, _, _ := th.auth.Sessions.Issue(u, "sid")
	parts := strings.Split(good, ".")
	expired, _, _ := auth.NewSessions(other, -time.Hour).Issue(u, "sid")
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": fmt.Sprint(u.ID), "jti": "sid", "gen": 0, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": fmt.Sprint(u.ID), "jti": "sid", "gen": 0, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}).SignedString(other)
	cases := map[string]string{
		"missing":   "",
		"garbage":   "abc",
		"tampered":  parts[0] + "." + strings.Replace(parts[1], parts[1][:4], "eyJz", 1) + "x." + parts[2],
		"other key": func() string { s, _, _ := auth.NewSessions(other, time.Hour).Issue(u, "sid"); return s }(),
		"expired":   expired,
		"alg none":  none,
		"HS512":     hs512,
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/hub/api/user", "/hub/home"} {
				r, _ := http.NewRequest("GET", th.srv.URL+path, nil)
				if value != "" {
					r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: value})
				}
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := http.StatusUnauthorized
				if path == "/hub/home" {
					want = http.StatusFound
				}
				if resp.StatusCode != want {
					t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
				}
				if want == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), "/hub/login") {
					t.Errorf("%s redirects to %q", path, resp.Header.Get("Location"))
				}
			}
		})
	}
	// The genuine cookie works, so the cases above fail for their flaw.
	r, _ := http.NewRequest("GET", th.srv.URL+"/hub/api/user", nil)
	r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: good})
	resp, _ := http.DefaultClient.Do(r)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("genuine cookie = %d", resp.StatusCode)
	}
}

func TestPasswordChangeAndDisableLogOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		admin := "token " + th.token("root")
		aliceTok := "token " + th.token("alice")
		b := th.browser()
		b.mustLogin("alice")
		check := func(want int) {
			t.Helper()
			if r := th.do(b, req{method: "GET", path: "/hub/api/user", auth: "cookie"}); r.status != want {
				t.Fatalf("alice's session = %d, want %d", r.status, want)
			}
		}
		check(200)
		th.do(nil, req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"password": "a new password"}`})
		check(401)
		if resp, _ := b.login("alice", "a new password", ""); resp.StatusCode != http.StatusFound {
			t.Fatalf("login with the new password = %d", resp.StatusCode)
		}
		check(200)
		if r := th.do(nil, req{method: "DELETE", path: "/hub/api/users/alice/sessions", auth: admin}); r.status != http.StatusNoContent {
			t.Fatalf("revoke sessions = %d %s", r.status, r.body)
		}
		check(401)
		b.login("alice", "a new password", "")
		check(200)
		th.do(nil, req{method: "PATCH", path: "/hub/api/users/alice", auth: admin, body: `{"disabled": true}`})
		check(401)
		if r := th.do(nil, req{method: "GET", path: "/hub/api/user", auth: aliceTok}); r.status != http.StatusUnauthorized {
			t.Errorf("a disabled user's token = %d, want 401", r.status)
		}
		if resp, _ := b.login("alice", "a new password", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a disabled user logging in = %d", resp.StatusCode)
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	th.addUser("root", true)
	th.addUser("alice", false)
	if r := th.do(nil, req{method: "GET", path: "/hub/health"}); r.status != 200 {
		t.Fatalf("health = %d", r.status)
	}
	if r := th.do(nil, req{method: "GET", path: "/hub/metrics"}); r.status != 401 {
		t.Errorf("anonymous metrics = %d, want 401", r.status)
	}
	if r := th.do(nil, req{method: "GET", path: "/hub/metrics", auth: "token " + th.token("alice")}); r.status != 403 {
		t.Errorf("alice's metrics = %d, want 403", r.status)
	}
	r := th.do(nil, req{method: "GET", path: "/hub/metrics", auth: "token " + th.token("root", "read:metrics")})
	if r.status != 200 {
		t.Fatalf("metrics = %d", r.status)
	}
	for _, want := range []string{
		`sparkhub_http_requests_total{code="200",method="GET",route="GET /hub/health"} 1`,
		"sparkhub_users 2",
		`sparkhub_logins_total{result="failure"} 0`,
		`go_sql_max_open_connections{db_name="sparkhub"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	db.Close(gdb)
	if r := th.do(nil, req{method: "GET", path: "/hub/health"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("health with the database closed = %d, want 503", r.status)
	}
}

func TestPagesHaveSecurityHeaders(t *testing.T) {
	gdb := dbtest.Open(t, db.SQLite)
	th := newTestHub(t, gdb, nil)
	for _, path := range []string{"/hub/login", "/hub/nothing-here", "/hub/api"} {
		r := th.do(nil, req{method: "GET", path: path})
		if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors") {
			t.Errorf("%s headers: %v", path, r.header)
		}
	}
	r := th.do(nil, req{method: "GET", path: "/hub/login"})
	m := regexpStatic.FindString(string(r.body))
	if m == "" {
		t.Fatal("login page links no hashed stylesheet")
	}
	if s := th.do(nil, req{method: "GET", path: m}); s.status != 200 || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") || !strings.Contains(s.header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s = %d %v", m, s.status, s.header)
	}
}

var regexpStatic = regexp.MustCompile(`/hub/static/style\.[0-9a-f]+\.css`)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestDatabaseDownIs503: a database that does not answer is a 503 to
// retry, not a 500, and the message says so. (A real outage is in
// faults/; here the mapping of the drivers' errors.)
func TestDatabaseDownIs503(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, err := range []error{
		fmt.Errorf("look up token: %w", refused),
		fmt.Errorf("list users: %w", driver.ErrBadConn),
	} {
		code, msg := status(err)
		if code != http.StatusServiceUnavailable || !strings.Contains(msg, "database") {
			t.Errorf("status(%v) = %d %q, want 503 about the database", err, code, msg)
		}
		rec := httptest.NewRecorder()
		(&Hub{log: slog.New(slog.DiscardHandler)}).writeError(rec, httptest.NewRequest("GET", "/hub/api/users", nil), err)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Errorf("writeError(%v) = %d, Retry-After %q", err, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if code, _ := status(errors.New("something else")); code != 500 {
		t.Errorf("an unknown error = %d, want 500", code)
	}
}
