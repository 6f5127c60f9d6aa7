package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

func TestNeed(t *testing.T) {
	alice := &User{Name: "alice"}
	root := &User{Name: "root", Admin: true}
	cookie := func(u *User) *Principal { return &Principal{User: u, SessionID: "s", Scopes: RoleScopes(u, false)} }
	token := func(u *User, scopes ...string) *Principal {
		return &Principal{User: u, Token: &Token{}, Scopes: Grant(scopes, RoleScopes(u, false), u.Name)}
	}
	tests := []struct {
		name   string
		p      *Principal
		scope  string
		user   string
		status int // 0: allowed
		msg    string
	}{
		{"owner", cookie(alice), ScopeContents, "alice", 0, ""},
		{"other user", cookie(alice), ScopeContents, "bob", http.StatusNotFound, "No access to resources or resources not found."},
		{"hub-wide scope", cookie(alice), ScopeAdminUsers, "", http.StatusForbidden, "This action needs the scope admin:users, which your account does not have."},
		{"admin without --admin-access", cookie(root), ScopeAccessServers, "alice", http.StatusNotFound, "No access to resources or resources not found."},
		{"admin on the hub", cookie(root), ScopeAdminUsers, "", 0, ""},
		{"token with the scope", token(alice, ScopeAccessServers), ScopeAccessServers, "alice", 0, ""},
		{"token without it", token(alice, ScopeReadUsers), ScopeAccessServers, "alice", http.StatusForbidden, "This action needs the scope access:servers, which this token does not have."},
		{"token on another user", token(alice, ScopeContents+"!user=alice"), ScopeContents, "bob", http.StatusNotFound, "No access to resources or resources not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.p.Need(tt.scope, tt.user)
			switch {
			case tt.status == 0 && ref != nil:
				t.Errorf("Need = %+v, want allowed", *ref)
			case tt.status != 0 && ref == nil:
				t.Errorf("Need = allowed, want %d", tt.status)
			case ref != nil && (ref.Status != tt.status || ref.Message != tt.msg):
				t.Errorf("Need = %d %q, want %d %q", ref.Status, ref.Message, tt.status, tt.msg)
			}
		})
	}
}

func TestUserPathAuthorize(t *testing.T) {
	for _, adminAccess := range []bool{false, true} {
		t.Run(fmt.Sprintf("admin-access=%v", adminAccess), func(t *testing.T) { userPathAuthorize(t, adminAccess) })
	}
}

func userPathAuthorize(t *testing.T, adminAccess bool) {
	ctx := context.Background()
	gdb := dbtest.Open(t, "sqlite")
	a := newTestAuth(t, gdb, adminAccess)
	var logs bytes.Buffer
	up := NewUserPath(a, ScopeContents, "contents", slog.New(slog.NewTextHandler(&logs, nil)))
	sessions := map[string]*http.Cookie{}
	tokens := map[string]string{}
	for _, n := range []string{"alice", "bob", "root"} {
		u, err := a.Store.CreateUser(ctx, n, n == "root", "")
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		if err := a.StartSession(rec, httptest.NewRequest("POST", "/hub/login", nil), u); err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == SessionCookie {
				sessions[n] = c
			}
		}
		if _, tokens[n], err = a.Store.CreateToken(ctx, u.ID, NewToken{}); err != nil {
			t.Fatal(err)
		}
	}
	adminOK := http.StatusNotFound
	if adminAccess {
		adminOK = 0
	}
	tests := []struct {
		name     string
		method   string
		cookie   string
		token    string
		header   map[string]string
		status   int // 0: allowed
		location string
	}{
		{"anonymous browser", "GET", "", "", map[string]string{"Accept": "text/html"}, http.StatusFound, "/hub/login?next=%2Fuser%2Falice%2Fapi%2Fcontents%3Fx%3D1"},
		// JupyterHub's rule: any anonymous GET goes to the login page
		// (curl's Accept: */* too) unless it asks for JSON, carries a
		// token, or is a websocket handshake.
		{"anonymous, any Accept", "GET", "", "", map[string]string{"Accept": "*/*"}, http.StatusFound, "/hub/login?next=%2Fuser%2Falice%2Fapi%2Fcontents%3Fx%3D1"},
		{"anonymous API", "GET", "", "", map[string]string{"Accept": "application/json"}, http.StatusUnauthorized, ""},
		{"anonymous websocket", "GET", "", "", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Accept": "text/html"}, http.StatusUnauthorized, ""},
		{"anonymous write", "POST", "", "", map[string]string{"Accept": "text/html"}, http.StatusUnauthorized, ""},
		{"bad token", "GET", "", "nobody", map[string]string{"Accept": "text/html"}, http.StatusUnauthorized, ""},
		{"owner", "GET", "alice", "", nil, 0, ""},
		{"owner token", "PUT", "", "alice", map[string]string{"Origin": "https://evil.example"}, 0, ""},
		{"owner write without XSRF", "PUT", "alice", "", nil, http.StatusForbidden, ""},
		{"owner write with Jupyter's XSRF", "PUT", "alice", "", map[string]string{XSRFHeader: "j", "Cookie": "_xsrf=j"}, 0, ""},
		{"owner websocket from another site", "GET", "alice", "", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Origin": "https://evil.example"}, http.StatusForbidden, ""},
		{"owner token websocket from another site", "GET", "", "alice", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Origin": "https://evil.example"}, 0, ""},
		{"other user", "GET", "bob", "", nil, http.StatusNotFound, ""},
		{"admin", "GET", "root", "", nil, adminOK, ""},
		{"admin token", "GET", "", "root", nil, adminOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://hub.test/user/alice/api/contents?x=1", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if tt.cookie != "" {
				r.AddCookie(sessions[tt.cookie])
			}
			if tt.token != "" {
				r.Header.Set("Authorization", "token "+tokens[tt.token])
			}
			logged := strings.Count(logs.String(), "admin access to a user's contents")
			p, ref := up.Authorize(httptest.NewRecorder(), r, "alice")
			switch {
			case tt.status == 0 && ref != nil:
				t.Fatalf("refused: %+v", *ref)
			case tt.status != 0 && ref == nil:
				t.Fatalf("allowed %s, want %d", p.User.Name, tt.status)
			case ref != nil && (ref.Status != tt.status || ref.Location != tt.location):
				t.Fatalf("= %d %q %q, want %d %q", ref.Status, ref.Location, ref.Message, tt.status, tt.location)
			case ref != nil && ref.Status != http.StatusFound && ref.Message == "":
				t.Fatalf("a %d without a message", ref.Status)
			}
			wantLog := ref == nil && p.User.Name != "alice"
			if got := strings.Count(logs.String(), "admin access to a user's contents") > logged; got != wantLog {
				t.Errorf("logged = %v, want %v", got, wantLog)
			}
		})
	}

	// A database that fails is a 500 with its cause for the log, not
	// a 401: a broken hub must not look like a logout.
	sqlDB, _ := gdb.DB()
	sqlDB.Close()
	r := httptest.NewRequest("GET", "http://hub.test/user/alice/api/contents", nil)
	r.Header.Set("Authorization", "token "+strings.Repeat("1", 64))
	if _, ref := up.Authorize(nil, r, "alice"); ref == nil || ref.Status != http.StatusInternalServerError || ref.Err == nil {
		t.Errorf("database closed: %+v, want a 500 with its cause", ref)
	}
}

func TestIsBrowserAndIsWebsocket(t *testing.T) {
	r := httptest.NewRequest("GET", "/user/alice/tree", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	if !IsBrowser(r) {
		t.Error("a GET accepting HTML is a browser")
	}
	r.Header.Set("Authorization", "token x")
	if IsBrowser(r) {
		t.Error("a request with a token is a script")
	}
	r = httptest.NewRequest("POST", "/user/alice/tree", nil)
	r.Header.Set("Accept", "text/html")
	if IsBrowser(r) {
		t.Error("a POST is not asking for a page")
	}
	r = httptest.NewRequest("GET", "/user/alice/tree", nil)
	if !IsBrowser(r) {
		t.Error("a GET with no Accept goes to the login page, as JupyterHub's")
	}
	r.Header.Set("Accept", "application/json, text/plain, */*")
	if IsBrowser(r) {
		t.Error("a GET asking for JSON is a script")
	}
	r = httptest.NewRequest("GET", "/user/alice/api/kernels/k/channels", nil)
	r.Header.Set("Accept", "text/html")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	if IsBrowser(r) {
		t.Error("a websocket handshake is not asking for a page")
	}
	r = httptest.NewRequest("GET", "/user/alice/api/kernels/k/channels", nil)
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Upgrade", "WebSocket")
	if !IsWebsocket(r) {
		t.Error("a websocket handshake (Connection: keep-alive, Upgrade) is not seen")
	}
	r.Header.Set("Upgrade", "h2c")
	if IsWebsocket(r) {
		t.Error("an h2c upgrade is not a websocket")
	}
}
