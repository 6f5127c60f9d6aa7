package hub

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// userService is one of the two services under /user/{name}/: what a
// read and a write look like there, and the scope it needs.
type userService struct {
	name       string
	scope      string // what the service needs on the owner
	other      string // the other service's scope, which is not enough here
	get, post  string // paths of a read and a write of alice's
	postBody   string
	logMessage string // the log line of an admin's access
}

var userServices = []userService{
	{name: "proxy", scope: auth.ScopeAccessServers, other: auth.ScopeContents,
		get: "/user/alice/api/kernels", post: "/user/alice/api/kernels", postBody: `{}`,
		logMessage: "admin access to a user's server"},
	{name: "contents", scope: auth.ScopeContents, other: auth.ScopeAccessServers,
		get: "/user/alice/api/contents", post: "/user/alice/api/contents", postBody: `{"type": "notebook"}`,
		logMessage: "admin access to a user's contents"},
}

// pathCaller is a row of TestUserPathsDecideAlike: a caller and what
// both services must decide for them.
type pathCaller struct {
	name        string
	adminAccess bool
	post        bool
	// token is "owner scopes" of a token created for the row: "alice" or
	// "alice SCOPE!user=alice"; SCOPE and OTHER stand for the service's
	// scope and the other service's. "" for none.
	token   string
	rawAuth string            // an Authorization header as it is
	cookie  string            // whose session cookie
	header  map[string]string // more headers
	xsrf    string            // an _xsrf cookie, and X-XSRFToken unless header says
	want    int               // 0: allowed (any 2xx); else the status
	logged  bool              // an admin's access, logged
}

// TestUserPathsDecideAlike asks the proxy (/user/alice/api/kernels) and
// the contents service (/user/alice/api/contents) the same questions as
// the same callers, through the whole hub, and wants the same decision
// from both: allowed, or the same status, message and login redirect.
// Only the scope differs (access:servers or contents). Were one of the
// two to grow its own rule, they would drift apart here.
func TestUserPathsDecideAlike(t *testing.T) {
	browser := map[string]string{"Accept": "text/html,application/xhtml+xml"}
	evil := map[string]string{"Origin": "https://evil.example"}
	rows := []pathCaller{
		{name: "anonymous browser", header: browser, want: http.StatusFound},
		{name: "anonymous browser POST", header: browser, post: true, want: http.StatusUnauthorized},
		{name: "anonymous, no Accept", want: http.StatusFound},
		{name: "anonymous API", header: map[string]string{"Accept": "application/json"}, want: http.StatusUnauthorized},
		{name: "anonymous websocket", header: map[string]string{"Accept": "text/html", "Connection": "Upgrade", "Upgrade": "websocket"}, want: http.StatusUnauthorized},
		{name: "unknown token", rawAuth: "token " + strings.Repeat("0", 64), want: http.StatusUnauthorized},
		{name: "unknown token from a browser", rawAuth: "token " + strings.Repeat("0", 64), header: browser, want: http.StatusUnauthorized},
		{name: "another scheme", rawAuth: "Basic YWxpY2U6eA==", want: http.StatusUnauthorized},
		{name: "bad session cookie", cookie: "nobody", header: browser, want: http.StatusFound},

		{name: "owner cookie", cookie: "alice"},
		{name: "owner browser", cookie: "alice", header: browser},
		{name: "owner token, every scope", token: "alice"},
		{name: "owner token, the scope", token: "alice SCOPE"},
		{name: "owner token, the scope on alice", token: "alice SCOPE!user=alice"},
		{name: "owner token, the scope on bob", token: "alice SCOPE!user=bob", want: http.StatusForbidden},
		{name: "owner token, the other service's scope", token: "alice OTHER", want: http.StatusForbidden},
		{name: "owner token, read:users", token: "alice read:users", want: http.StatusForbidden},
		{name: "owner token writes from another site", token: "alice", post: true, header: evil},

		{name: "other user's cookie", cookie: "bob", want: http.StatusNotFound},
		{name: "other user's browser", cookie: "bob", header: browser, want: http.StatusNotFound},
		{name: "other user's token", token: "bob", want: http.StatusNotFound},
		{name: "other user's token, the scope on alice", token: "bob SCOPE!user=alice", want: http.StatusForbidden},
		{name: "other user's cookie POST without XSRF", cookie: "bob", post: true, want: http.StatusNotFound},
		{name: "other user with --admin-access", cookie: "bob", adminAccess: true, want: http.StatusNotFound},

		{name: "admin cookie", cookie: "root", want: http.StatusNotFound},
		{name: "admin token", token: "root", want: http.StatusNotFound},
		{name: "admin token, the scope", token: "root SCOPE", want: http.StatusNotFound},
		{name: "admin cookie --admin-access", cookie: "root", adminAccess: true, logged: true},
		{name: "admin browser --admin-access", cookie: "root", header: browser, adminAccess: true, logged: true},
		{name: "admin token --admin-access", token: "root", adminAccess: true, logged: true},
		{name: "admin token, the scope, --admin-access", token: "root SCOPE", adminAccess: true, logged: true},
		{name: "admin token, the scope on alice, --admin-access", token: "root SCOPE!user=alice", adminAccess: true, logged: true},
		{name: "admin token, read:users, --admin-access", token: "root read:users", adminAccess: true, want: http.StatusForbidden},
		{name: "admin cookie POST --admin-access", cookie: "root", post: true, xsrf: "abc", adminAccess: true, logged: true},
		{name: "admin cookie POST without XSRF, --admin-access", cookie: "root", post: true, adminAccess: true, want: http.StatusForbidden},

		{name: "owner cookie POST without XSRF", cookie: "alice", post: true, want: http.StatusForbidden},
		{name: "owner cookie POST, _xsrf cookie but no header", cookie: "alice", post: true, xsrf: "abc", header: map[string]string{auth.XSRFHeader: ""}, want: http.StatusForbidden},
		{name: "owner cookie POST, header not the cookie", cookie: "alice", post: true, xsrf: "abc", header: map[string]string{auth.XSRFHeader: "abd"}, want: http.StatusForbidden},
		{name: "owner cookie POST with XSRF", cookie: "alice", post: true, xsrf: "abc"},
		{name: "owner cookie POST with XSRF from another site", cookie: "alice", post: true, xsrf: "abc", header: evil, want: http.StatusForbidden},
		{name: "owner cookie POST with XSRF, Referer of another site", cookie: "alice", post: true, xsrf: "abc", header: map[string]string{"Referer": "https://evil.example/x"}, want: http.StatusForbidden},
		{name: "owner cookie POST with XSRF, Origin null", cookie: "alice", post: true, xsrf: "abc", header: map[string]string{"Origin": "null"}, want: http.StatusForbidden},
		{name: "owner cookie websocket from another site", cookie: "alice", header: map[string]string{"Connection": "keep-alive, Upgrade", "Upgrade": "websocket", "Origin": "https://evil.example"}, want: http.StatusForbidden},
	}
	fx := newMatrixFixture(t)
	hubs := map[bool]*fullHub{}
	for _, adminAccess := range []bool{false, true} {
		hubs[adminAccess] = newMatrixHub(t, fx, adminAccess)
	}
	tokens := map[string]string{} // "adminAccess row token" → secret
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			fh := hubs[row.adminAccess]
			var first *pathAnswer
			for _, svc := range userServices {
				r := row.request(t, fh, fx, svc, tokens)
				logsBefore := strings.Count(fh.logs.String(), svc.logMessage)
				w := httptest.NewRecorder()
				ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
				fh.handler.ServeHTTP(w, r.WithContext(ctx))
				cancel()
				got := answerOf(w, svc, r)
				logged := strings.Count(fh.logs.String(), svc.logMessage) > logsBefore
				switch {
				case row.want == 0 && got.status/100 != 2:
					t.Errorf("%s: %d %q, want allowed", svc.name, got.status, got.message)
				case row.want != 0 && got.status != row.want:
					t.Errorf("%s: %d %q, want %d", svc.name, got.status, got.message, row.want)
				case logged != row.logged:
					t.Errorf("%s: admin access logged = %v, want %v", svc.name, logged, row.logged)
				}
				if first == nil {
					first = &got
					continue
				}
				if got.allowed() != first.allowed() || (!got.allowed() && got != *first) {
					t.Errorf("the services disagree:\n%s: %+v\n%s: %+v", userServices[0].name, *first, svc.name, got)
				}
			}
		})
	}
}

// TestUserPathsAgreeWhenTheDatabaseFails: a hub whose database fails
// answers both services with the same 500 (never a 401 that looks like
// a logout), its cause logged.
func TestUserPathsAgreeWhenTheDatabaseFails(t *testing.T) {
	fx := newMatrixFixture(t)
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{sessionKey: fx.key})
	sqlDB, err := fh.h.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()
	var answers []pathAnswer
	for _, svc := range userServices {
		r := httptest.NewRequest("GET", "http://hub.test"+svc.get, nil)
		r.Header.Set("Authorization", "token "+fx.aliceSecret)
		w := httptest.NewRecorder()
		fh.handler.ServeHTTP(w, r)
		got := answerOf(w, svc, r)
		if got.status != http.StatusInternalServerError {
			t.Errorf("%s: %d %q, want 500", svc.name, got.status, got.message)
		}
		answers = append(answers, got)
	}
	if answers[0] != answers[1] {
		t.Errorf("the services disagree: %+v, %+v", answers[0], answers[1])
	}
	if n := strings.Count(fh.logs.String(), "database is closed"); n < 2 {
		t.Errorf("the cause was logged %d times, want once for each service:\n%s", n, fh.logs.String())
	}
}

// pathAnswer is a decision as the client sees it, with the service's own
// path and scope written as PATH and SCOPE so two services compare.
type pathAnswer struct {
	status   int
	location string
	message  string
}

func (a pathAnswer) allowed() bool { return a.status/100 == 2 }

func answerOf(w *httptest.ResponseRecorder, svc userService, r *http.Request) pathAnswer {
	a := pathAnswer{status: w.Code, location: strings.ReplaceAll(w.Header().Get("Location"), strings.ReplaceAll(r.URL.Path, "/", "%2F"), "PATH")}
	if a.allowed() || a.status == http.StatusFound {
		return a
	}
	body := w.Body.String()
	var msg struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && json.Unmarshal([]byte(body), &msg) == nil && msg.Status == w.Code {
		a.message = msg.Message
	} else {
		// A browser's error page: the message is the paragraph after the
		// title.
		_, rest, _ := strings.Cut(body, "</h1>\n<p>")
		msgHTML, _, _ := strings.Cut(rest, "</p>")
		a.message = html.UnescapeString(msgHTML)
	}
	a.message = strings.ReplaceAll(a.message, svc.scope, "SCOPE")
	return a
}

// request builds the row's request to the service.
func (row pathCaller) request(t *testing.T, fh *fullHub, fx *matrixFixture, svc userService, tokens map[string]string) *http.Request {
	t.Helper()
	method, path, body := http.MethodGet, svc.get, ""
	if row.post {
		method, path, body = http.MethodPost, svc.post, svc.postBody
	}
	r := httptest.NewRequest(method, "http://hub.test"+path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	switch {
	case row.rawAuth != "":
		r.Header.Set("Authorization", row.rawAuth)
	case row.token != "":
		spec := strings.NewReplacer("SCOPE", svc.scope, "OTHER", svc.other).Replace(row.token)
		key := ""
		if row.adminAccess {
			key = "admin-access "
		}
		key += spec
		if tokens[key] == "" {
			owner, scope, _ := strings.Cut(spec, " ")
			tokens[key] = createToken(t, fh, owner, scope)
		}
		r.Header.Set("Authorization", "token "+tokens[key])
	}
	if row.cookie != "" {
		session := fx.sessions[row.cookie]
		if session == "" {
			session = "not.a.jwt"
		}
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: session})
	}
	if row.xsrf != "" {
		r.AddCookie(&http.Cookie{Name: auth.XSRFCookie, Value: row.xsrf})
		r.Header.Set(auth.XSRFHeader, row.xsrf)
	}
	for k, v := range row.header {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

// createToken gives owner a token with the scope ("" for every scope
// the owner holds).
func createToken(t *testing.T, fh *fullHub, owner, scope string) string {
	t.Helper()
	ctx := context.Background()
	u, err := fh.auth.Store.UserByName(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var scopes []string
	if scope != "" {
		scopes = []string{scope}
	}
	_, secret, err := fh.auth.Store.CreateToken(ctx, u.ID, auth.NewToken{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
