package hub

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/contents"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/proxy"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// The authorization matrix: every route the hub registers, asked by
// every kind of caller, answers with the status the security model
// says. The routes are read from routes() in hub.go with go/parser, not
// from a list kept by hand, so a route added there without a row in
// matrixRoutes fails TestAuthzMatrixCoversEveryRoute; parsing the source
// needs no exported list in hub.go and sees routes registered only in
// some configurations (servers, contents, proxy) too.

// fullHub is a hub with everything main wires: a real SQLite database,
// the spawner manager over the fake backend, the proxy and the contents
// service.
type fullHub struct {
	h        *Hub
	handler  http.Handler
	auth     *auth.Authenticator
	servers  *spawner.Manager
	fake     *spawnertest.Fake
	logs     *hubtest.Buffer
	contents *contents.Service
}

type fullHubOptions struct {
	adminAccess    bool
	sessionKey     []byte
	encryptionKeys []string
	logs           *hubtest.Buffer
	proxies        []string // --trusted-proxies
	subdomains     string   // --user-subdomains
	mod            func(*Options)
}

func newFullHub(t *testing.T, dbURL string, o fullHubOptions) *fullHub {
	t.Helper()
	ctx := context.Background()
	gdb, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(gdb) })
	opts := DefaultOptions()
	if o.mod != nil {
		o.mod(&opts)
	}
	pw, err := auth.NewPasswords(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := auth.ParseProxies(o.proxies)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := auth.ParseSubdomains(o.subdomains)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(o.sessionKey, auth.DefaultSessionTTL), auth.Options{AdminAccess: o.adminAccess, Proxies: proxies, Subdomains: sd})
	logs := o.logs
	if logs == nil {
		logs = &hubtest.Buffer{}
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fake := spawnertest.NewFake()
	t.Cleanup(fake.Close)
	cat := images.DefaultCatalog()
	m, err := spawner.New(ctx, gdb, spawner.Options{Logger: log, PollInterval: 20 * time.Millisecond, Env: ContentsEnv(a.Store, "http://hub.test"),
		Profiles: images.Specs{Catalog: cat}, Users: a.Store}, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	docs, err := contents.New(gdb, contents.Options{Logger: log, EncryptionKeys: o.encryptionKeys})
	if err != nil {
		t.Fatal(err)
	}
	var h *Hub
	px := proxy.New(a, m, proxy.Options{
		Logger:    log,
		ErrorPage: func(w http.ResponseWriter, r *http.Request, code int, msg string) { h.ErrorPage(w, r, code, msg) },
	})
	h, err = New(opts, Deps{
		DB: gdb, Auth: a, Logger: log, Version: "test", SpawnerName: "fake", Spawner: m, Profiles: cat,
		Proxy: px, Contents: docs.Handler(), RenameUserData: docs.RenameUser, DeleteUserData: contents.DeleteUser,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fullHub{h: h, handler: h.Handler(), auth: a, servers: m, fake: fake, logs: logs, contents: docs}
}

// caller is one column of the matrix.
type caller struct {
	name        string
	user        string   // "" for anonymous
	scopes      []string // a token's scopes; nil for a browser session
	adminAccess bool     // the hub runs with --admin-access
}

// matrixFixture is a migrated SQLite database with alice (who owns
// every resource the matrix asks about), bob, the admin root, a token of
// alice's, and a token of root's for each scope; copied for each hub.
type matrixFixture struct {
	dbFile      string
	key         []byte
	aliceTok    string // alice's token's public id
	aliceSecret string // and the token
	secrets     map[string]string
	sessions    map[string]string // user → session JWT
	sids        map[string]string // user → session id
}

func newMatrixFixture(t *testing.T) *matrixFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &matrixFixture{dbFile: filepath.Join(dir, "template.db"), key: bytes.Repeat([]byte{7}, 32), secrets: map[string]string{}, sessions: map[string]string{}, sids: map[string]string{}}
	ctx := context.Background()
	gdb, err := db.Open(ctx, "sqlite://"+fx.dbFile, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, gdb); err != nil {
		t.Fatal(err)
	}
	st := auth.NewStore(gdb)
	sess := auth.NewSessions(fx.key, auth.DefaultSessionTTL)
	users := map[string]*auth.User{}
	for _, n := range []string{"alice", "bob", "root"} {
		u, err := st.CreateUser(ctx, n, n == "root", "")
		if err != nil {
			t.Fatal(err)
		}
		users[n] = u
		sid := auth.NewSessionID()
		jwt, _, err := sess.Issue(u, sid)
		if err != nil {
			t.Fatal(err)
		}
		fx.sessions[n], fx.sids[n] = jwt, sid
	}
	tok, secret, err := st.CreateToken(ctx, users["alice"].ID, auth.NewToken{Note: "alice's"})
	if err != nil {
		t.Fatal(err)
	}
	fx.aliceTok, fx.aliceSecret = tok.PublicID(), secret
	for g, members := range matrixGroups {
		if _, err := st.CreateGroups(ctx, []string{g}, members); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range append(auth.KnownScopes(), matrixGroupScopes...) {
		_, secret, err := st.CreateToken(ctx, users["root"].ID, auth.NewToken{Scopes: []string{sc}})
		if err != nil {
			t.Fatal(err)
		}
		fx.secrets[sc] = secret
	}
	if err := gdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		t.Logf("checkpoint: %v", err)
	}
	if err := db.Close(gdb); err != nil {
		t.Fatal(err)
	}
	return fx
}

// copyDB gives a hub its own copy of the fixture's database.
func (fx *matrixFixture) copyDB(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "hub.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(fx.dbFile + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return "sqlite://" + dst
}

// matrixGroups are the fixture's groups and their members.
var matrixGroups = map[string][]string{"physics": {"alice"}, "maths": {"bob"}}

// matrixGroupScopes are root's tokens with a group's filter: physics
// has alice, who owns every resource the matrix asks about; maths has
// bob, who owns none.
var matrixGroupScopes = []string{
	"access:servers!group=physics", "access:servers!group=maths",
	"read:users!group=physics", "list:users!group=physics",
	"groups!group=physics",
}

// can reports whether held grants scope on user's resources, with the
// fixture's groups for !group= filters, as auth.Principal.Can does with
// the database's.
func can(held auth.Scopes, scope, user string) bool {
	if held.Has(scope, user) {
		return true
	}
	for g, members := range matrixGroups {
		if user != "" && held[scope+"!group="+g] && slices.Contains(members, user) {
			return true
		}
	}
	return false
}

func (fx *matrixFixture) callers() []caller {
	cs := []caller{
		{name: "anonymous"},
		{name: "user", user: "alice"},
		{name: "other user", user: "bob"},
		{name: "admin", user: "root"},
		{name: "admin --admin-access", user: "root", adminAccess: true},
	}
	for _, sc := range append(auth.KnownScopes(), matrixGroupScopes...) {
		// root's tokens on a hub with --admin-access: the scope is the
		// only limit.
		cs = append(cs, caller{name: "token " + sc, user: "root", scopes: []string{sc}, adminAccess: true})
	}
	return cs
}

// holds is what the caller may do, by the scope rules auth implements
// (and tests): the user's role, cut down to the token's scopes.
func (c caller) holds() auth.Scopes {
	if c.user == "" {
		return auth.Scopes{}
	}
	role := auth.RoleScopes(&auth.User{Name: c.user, Admin: c.user == "root"}, c.adminAccess)
	if c.scopes == nil {
		return role
	}
	return auth.Grant(c.scopes, role, c.user)
}

// kinds of route, for what anonymous callers and refused ones get.
const (
	kPublic  = iota // no login needed
	kAPI            // JSON API: 401 anonymous, 403/404 refused
	kPage           // page: anonymous to the login page, refused with an error page
	kForm           // form post: anonymous to the login page
	kUser           // /user/{name}/...: contents service or proxy
	kAdminUI        // admin pages: admin:users on the hub, else 403
)

// matrixRoute is a row: how to ask for the route, and what it needs.
type matrixRoute struct {
	method, path string
	form         url.Values // a form post (with the session's _xsrf)
	body         string     // a JSON body
	kind         int
	scope        string // the scope needed ("" any logged-in caller)
	or           string // another scope that does as well
	on           string // whose resources ("" the hub's)
	group        string // or which group's
	ok           int    // the status of a caller who may
	anon         int    // the status of an anonymous caller (0: from kind)
	lacking      int    // on "self": the status of a caller without scope (0: 403)
	starts       bool   // a GET that may start a server: each caller gets a hub of its own
	// except are statuses that differ from the rule, by caller name,
	// each with a reason in a comment where it is listed.
	except map[string]int
	// knownBug: callers whose answer today is wrong. The test accepts
	// the given wrong status (and logs it) so the bug is tracked, and
	// fails once the answer is right, so the entry gets removed.
	knownBug map[string]int
}

// matrixRoutes has one entry per pattern of routes(); the key is the
// pattern exactly as hub.go writes it. Patterns without a method get a
// GET and a write.
func matrixRoutes(fx *matrixFixture) map[string][]matrixRoute {
	tok := fx.aliceTok
	return map[string][]matrixRoute{
		"GET /{$}":        {{method: "GET", path: "/", kind: kPublic, ok: 302}},
		"GET /hub/{$}":    {{method: "GET", path: "/hub/", kind: kPublic, ok: 302}},
		"GET /hub/login":  {{method: "GET", path: "/hub/login", kind: kPublic, ok: 200, except: loggedIn(fx, 302)}},
		"POST /hub/login": {{method: "POST", path: "/hub/login", form: url.Values{"username": {"alice"}, "password": {"wrong"}}, kind: kPublic, ok: 401}},
		// The OpenID sign-in exists only with --auth oidc (TestOIDCSignIn,
		// TestOIDCRefusals); without it, nothing is there for anyone.
		"GET /hub/oauth_login":    {{method: "GET", path: "/hub/oauth_login", kind: kPublic, ok: 404}},
		"GET /hub/oauth_callback": {{method: "GET", path: "/hub/oauth_callback?code=c&state=s", kind: kPublic, ok: 404}},
		// GET shows the Log out button and changes nothing.
		"GET /hub/logout": {{method: "GET", path: "/hub/logout", kind: kPage, ok: 200}},
		// Only a browser session logs out: a token has none. Someone not
		// logged in has nothing to end and goes to the login page.
		"POST /hub/logout": {{method: "POST", path: "/hub/logout", form: url.Values{}, kind: kForm, ok: 303, anon: 303, except: tokenCallers(fx, 400)}},
		"GET /hub/home":    {{method: "GET", path: "/hub/home", kind: kPage, ok: 200}},
		"POST /hub/stop":   {{method: "POST", path: "/hub/stop", form: url.Values{}, kind: kForm, scope: auth.ScopeDeleteServers, on: "self", ok: 303}},
		// alice's server runs: her spawn page sends her on to it.
		// One profile: the caller's own stopped server starts (303 to its
		// progress page) when they may start it, else the page; alice's
		// is running already.
		"GET /hub/spawn":                {{method: "GET", path: "/hub/spawn", kind: kPage, scope: auth.ScopeServers, on: "self", ok: 303, lacking: 200, starts: true, except: map[string]int{"user": 302}}},
		"GET /hub/spawn/{name}":         {{method: "GET", path: "/hub/spawn/alice", kind: kPage, scope: auth.ScopeServers, on: "alice", ok: 302}},
		"POST /hub/spawn":               {{method: "POST", path: "/hub/spawn", form: url.Values{}, kind: kForm, scope: auth.ScopeServers, on: "self", ok: 303}},
		"POST /hub/spawn/{name}":        {{method: "POST", path: "/hub/spawn/alice", form: url.Values{}, kind: kForm, scope: auth.ScopeServers, on: "alice", ok: 303}},
		"GET /hub/spawn-pending/{name}": {{method: "GET", path: "/hub/spawn-pending/alice", kind: kPage, scope: auth.ScopeReadServers, on: "alice", ok: 302}},
		// Any logged-in caller: on to the spawn page of their own
		// server, which decides what they may do there.
		"GET /hub/user-redirect/{path...}": {{method: "GET", path: "/hub/user-redirect/lab/tree/x.ipynb", kind: kPage, ok: 302}},
		"GET /hub/token":                   {{method: "GET", path: "/hub/token", kind: kPage, ok: 200}},
		"POST /hub/token":                  {{method: "POST", path: "/hub/token", form: url.Values{"note": {"n"}, "expires_in": {"3600"}}, kind: kForm, scope: auth.ScopeTokens, on: "self", ok: 201}},
		// The form revokes the caller's own token: alice's id is nobody
		// else's.
		"POST /hub/token/{id}/revoke":           {{method: "POST", path: "/hub/token/" + tok + "/revoke", form: url.Values{}, kind: kForm, scope: auth.ScopeTokens, on: "self", ok: 303, except: holdersBut(fx, "alice", auth.ScopeTokens, 404)}},
		"GET /hub/admin":                        {{method: "GET", path: "/hub/admin", kind: kAdminUI, ok: 200}},
		"POST /hub/admin/users":                 {{method: "POST", path: "/hub/admin/users", form: url.Values{"usernames": {"carol"}}, kind: kAdminUI, ok: 303}},
		"POST /hub/admin/users/{name}/{action}": {{method: "POST", path: "/hub/admin/users/alice/revoke", form: url.Values{}, kind: kAdminUI, ok: 303}},
		// The admin page's group forms: the page's gate (admin:users),
		// then the groups API's own scope, which a token of admin:users
		// alone lacks.
		"POST /hub/admin/groups": {{method: "POST", path: "/hub/admin/groups", form: url.Values{"group": {"chemistry"}, "usernames": {"alice"}}, kind: kAdminUI, ok: 303, except: map[string]int{"token admin:users": 403}}},
		"POST /hub/admin/groups/{name}/{action}": {
			{method: "POST", path: "/hub/admin/groups/physics/add", form: url.Values{"usernames": {"bob"}}, kind: kAdminUI, ok: 303, except: map[string]int{"token admin:users": 403}},
			{method: "POST", path: "/hub/admin/groups/physics/remove", form: url.Values{"usernames": {"alice"}}, kind: kAdminUI, ok: 303, except: map[string]int{"token admin:users": 403}},
			{method: "POST", path: "/hub/admin/groups/physics/delete", form: url.Values{}, kind: kAdminUI, ok: 303, except: map[string]int{"token admin:users": 403}},
		},
		"GET /hub/static/":             {{method: "GET", path: "/hub/static/favicon.svg", kind: kPublic, ok: 404}},
		"GET /favicon.ico":             {{method: "GET", path: "/favicon.ico", kind: kPublic, ok: 302}},
		"GET /hub/health":              {{method: "GET", path: "/hub/health", kind: kPublic, ok: 200}},
		"GET /hub/api/health":          {{method: "GET", path: "/hub/api/health", kind: kPublic, ok: 200}},
		"GET /hub/metrics":             {{method: "GET", path: "/hub/metrics", kind: kAPI, scope: auth.ScopeReadMetrics, ok: 200}},
		"GET /hub/api":                 {{method: "GET", path: "/hub/api", kind: kPublic, ok: 200}},
		"GET /hub/api/{$}":             {{method: "GET", path: "/hub/api/", kind: kPublic, ok: 200}},
		"GET /hub/api/info":            {{method: "GET", path: "/hub/api/info", kind: kAPI, scope: auth.ScopeReadHub, ok: 200}},
		"GET /hub/api/user":            {{method: "GET", path: "/hub/api/user", kind: kAPI, ok: 200}},
		"GET /hub/api/users":           {{method: "GET", path: "/hub/api/users", kind: kAPI, scope: auth.ScopeListUsers, on: "any", ok: 200}},
		"POST /hub/api/users":          {{method: "POST", path: "/hub/api/users", body: `{"usernames": ["carol"]}`, kind: kAPI, scope: auth.ScopeAdminUsers, ok: 201}},
		"GET /hub/api/users/{name}":    {{method: "GET", path: "/hub/api/users/alice", kind: kAPI, scope: auth.ScopeReadUsers, on: "alice", ok: 200}},
		"POST /hub/api/users/{name}":   {{method: "POST", path: "/hub/api/users/carol", body: `{}`, kind: kAPI, scope: auth.ScopeAdminUsers, ok: 201}},
		"PATCH /hub/api/users/{name}":  {{method: "PATCH", path: "/hub/api/users/alice", body: `{"admin": false}`, kind: kAPI, scope: auth.ScopeAdminUsers, on: "alice", ok: 200}},
		"DELETE /hub/api/users/{name}": {{method: "DELETE", path: "/hub/api/users/alice", kind: kAPI, scope: auth.ScopeDeleteUsers, on: "alice", ok: 204}},
		// users (in admin:users) or tokens: a user ends their own
		// sessions, a token for contents or servers alone may not.
		"DELETE /hub/api/users/{name}/sessions": {{method: "DELETE", path: "/hub/api/users/alice/sessions", kind: kAPI, scope: auth.ScopeUsers, or: auth.ScopeTokens, on: "alice", ok: 204}},
		"GET /hub/api/users/{name}/tokens":      {{method: "GET", path: "/hub/api/users/alice/tokens", kind: kAPI, scope: auth.ScopeReadTokens, on: "alice", ok: 200}},
		// A token holding only "tokens" may not mint one with more.
		"POST /hub/api/users/{name}/tokens":        {{method: "POST", path: "/hub/api/users/alice/tokens", body: `{"note": "n", "scopes": ["read:users!user=alice"]}`, kind: kAPI, scope: auth.ScopeTokens, on: "alice", ok: 201, except: map[string]int{"token tokens": 403}}},
		"GET /hub/api/users/{name}/tokens/{id}":    {{method: "GET", path: "/hub/api/users/alice/tokens/" + tok, kind: kAPI, scope: auth.ScopeReadTokens, on: "alice", ok: 200}},
		"DELETE /hub/api/users/{name}/tokens/{id}": {{method: "DELETE", path: "/hub/api/users/alice/tokens/" + tok, kind: kAPI, scope: auth.ScopeTokens, on: "alice", ok: 204}},
		// A server's report of activity: users:activity on alice.
		"POST /hub/api/users/{name}/activity": {{method: "POST", path: "/hub/api/users/alice/activity", body: `{"last_activity": "2026-01-01T00:00:00Z", "servers": {"": {"last_activity": "2026-01-01T00:00:00Z"}}}`, kind: kAPI, scope: auth.ScopeUsersActivity, on: "alice", ok: 200}},
		// alice's server runs: allowed callers hear it is already running.
		"POST /hub/api/users/{name}/server":         {{method: "POST", path: "/hub/api/users/alice/server", kind: kAPI, scope: auth.ScopeServers, on: "alice", ok: 400}},
		"DELETE /hub/api/users/{name}/server":       {{method: "DELETE", path: "/hub/api/users/alice/server", kind: kAPI, scope: auth.ScopeDeleteServers, on: "alice", ok: 204}},
		"GET /hub/api/users/{name}/server/progress": {{method: "GET", path: "/hub/api/users/alice/server/progress", kind: kAPI, scope: auth.ScopeReadServers, on: "alice", ok: 200}},
		// Groups, by JupyterHub's scopes: creating several takes
		// admin:groups on every group; the others take their scope on
		// the group named, alone or with its filter.
		"GET /hub/api/groups":                   {{method: "GET", path: "/hub/api/groups", kind: kAPI, scope: auth.ScopeListGroups, on: "any", ok: 200}},
		"POST /hub/api/groups":                  {{method: "POST", path: "/hub/api/groups", body: `{"groups": ["chemistry"], "users": ["alice"]}`, kind: kAPI, scope: auth.ScopeAdminGroups, ok: 201}},
		"GET /hub/api/groups/{name}":            {{method: "GET", path: "/hub/api/groups/physics", kind: kAPI, scope: auth.ScopeReadGroups, or: auth.ScopeReadGroupsName, group: "physics", ok: 200}},
		"POST /hub/api/groups/{name}":           {{method: "POST", path: "/hub/api/groups/maths", body: `{"users": ["alice"]}`, kind: kAPI, scope: auth.ScopeAdminGroups, group: "maths", ok: 409}},
		"DELETE /hub/api/groups/{name}":         {{method: "DELETE", path: "/hub/api/groups/physics", kind: kAPI, scope: auth.ScopeDeleteGroups, group: "physics", ok: 204}},
		"POST /hub/api/groups/{name}/users":     {{method: "POST", path: "/hub/api/groups/physics/users", body: `{"users": ["bob"]}`, kind: kAPI, scope: auth.ScopeGroups, group: "physics", ok: 200}},
		"DELETE /hub/api/groups/{name}/users":   {{method: "DELETE", path: "/hub/api/groups/physics/users", body: `{"users": ["alice"]}`, kind: kAPI, scope: auth.ScopeGroups, group: "physics", ok: 200}},
		"PUT /hub/api/groups/{name}/properties": {{method: "PUT", path: "/hub/api/groups/physics/properties", body: `{"gpu": true}`, kind: kAPI, scope: auth.ScopeGroups, group: "physics", ok: 200}},
		// The routing table (everyone's server addresses): admins only.
		"GET /hub/api/proxy": {{method: "GET", path: "/hub/api/proxy", kind: kAPI, scope: auth.ScopeProxy, ok: 200}},
		// Only the credential a server was started with counts: no
		// session or token of anyone's fetches a server's tokens.
		"POST /hub/api/users/{name}/server/bootstrap": {{method: "POST", path: "/hub/api/users/alice/server/bootstrap", body: `{"credential": "not-alices"}`, kind: kPublic, ok: 403}},
		"/user/{name}/api/contents": {
			{method: "GET", path: "/user/alice/api/contents", kind: kUser, anon: 302, scope: auth.ScopeContents, on: "alice", ok: 200},
			{method: "POST", path: "/user/alice/api/contents", body: `{"type": "notebook"}`, kind: kUser, scope: auth.ScopeContents, on: "alice", ok: 201},
		},
		"/user/{name}/api/contents/": {
			{method: "GET", path: "/user/alice/api/contents/hello.txt", kind: kUser, anon: 302, scope: auth.ScopeContents, on: "alice", ok: 200},
			{method: "PUT", path: "/user/alice/api/contents/new.txt", body: `{"type": "file", "format": "text", "content": "x"}`, kind: kUser, scope: auth.ScopeContents, on: "alice", ok: 201},
			{method: "DELETE", path: "/user/alice/api/contents/hello.txt", kind: kUser, scope: auth.ScopeContents, on: "alice", ok: 204},
		},
		"/user/{name}/files/": {
			{method: "GET", path: "/user/alice/files/hello.txt", kind: kUser, anon: 302, scope: auth.ScopeContents, on: "alice", ok: 200},
		},
		"/user/{name}": {
			// The bare prefix only redirects to the slash, before any check.
			{method: "GET", path: "/user/alice", kind: kPublic, ok: 302},
		},
		// An anonymous GET (no Accept, no token, no websocket) is sent to
		// the login page, as JupyterHub sends it.
		"/user/{name}/": {
			{method: "GET", path: "/user/alice/api", kind: kUser, anon: 302, scope: auth.ScopeAccessServers, on: "alice", ok: 200},
			{method: "POST", path: "/user/alice/api/kernels", body: `{}`, kind: kUser, scope: auth.ScopeAccessServers, on: "alice", ok: 200},
		},
		// The hand-off of --user-subdomains, which this hub runs
		// without: the authorize endpoint is not there, and the callback
		// path is the server's like any other. TestHandoffAttacks asks
		// both with per-user origins on.
		"GET /hub/api/oauth2/authorize":   {{method: "GET", path: "/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice", kind: kPublic, ok: 404}},
		"GET /user/{name}/oauth_callback": {{method: "GET", path: "/user/alice/oauth_callback", kind: kUser, anon: 302, scope: auth.ScopeAccessServers, on: "alice", ok: 404}},
		"/hub/api/":                       {{method: "GET", path: "/hub/api/nothing", kind: kPublic, ok: 404}},
		"/":                               {{method: "GET", path: "/nothing", kind: kPublic, ok: 404}, {method: "POST", path: "/nothing", kind: kPublic, ok: 404}},
	}
}

// loggedIn is code for every caller that is logged in.
func loggedIn(fx *matrixFixture, code int) map[string]int {
	out := map[string]int{}
	for _, c := range fx.callers() {
		if c.user != "" {
			out[c.name] = code
		}
	}
	return out
}

// tokenCallers is code for every caller with a token.
func tokenCallers(fx *matrixFixture, code int) map[string]int {
	out := map[string]int{}
	for _, c := range fx.callers() {
		if c.scopes != nil {
			out[c.name] = code
		}
	}
	return out
}

// holdersBut is code for every logged-in caller other than user that
// holds scope on themselves.
func holdersBut(fx *matrixFixture, user, scope string, code int) map[string]int {
	out := map[string]int{}
	for _, c := range fx.callers() {
		if c.user != "" && c.user != user && c.holds().Has(scope, c.user) {
			out[c.name] = code
		}
	}
	return out
}

// want is the status the caller should get.
func (rt matrixRoute) want(c caller) int {
	if code, ok := rt.except[c.name]; ok {
		return code
	}
	if rt.kind == kPublic {
		return rt.ok
	}
	if c.user == "" {
		if rt.anon != 0 {
			return rt.anon
		}
		switch rt.kind {
		case kPage, kForm, kAdminUI:
			return http.StatusFound
		}
		return http.StatusUnauthorized
	}
	held := c.holds()
	switch {
	case rt.kind == kAdminUI:
		if held.Has(auth.ScopeAdminUsers, "") {
			return rt.ok
		}
		return http.StatusForbidden
	case rt.scope == "":
		return rt.ok
	case rt.on == "any":
		if held.HasAny(rt.scope) {
			return rt.ok
		}
		return http.StatusForbidden
	case rt.group != "":
		if held.HasGroup(rt.scope, rt.group) || rt.or != "" && held.HasGroup(rt.or, rt.group) {
			return rt.ok
		}
		if held.HasAny(rt.scope) || rt.or != "" && held.HasAny(rt.or) {
			return http.StatusNotFound
		}
		return http.StatusForbidden
	case rt.on == "self":
		if can(held, rt.scope, c.user) {
			return rt.ok
		}
		if rt.lacking != 0 {
			return rt.lacking
		}
		return http.StatusForbidden
	case can(held, rt.scope, rt.on), rt.or != "" && can(held, rt.or, rt.on):
		return rt.ok
	case rt.on != "" && (held.HasAny(rt.scope) || rt.or != "" && held.HasAny(rt.or)):
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// request builds the caller's request: a session cookie (with the XSRF
// token bound to it in a cookie, the header and the form) or a token.
func (fx *matrixFixture) request(rt matrixRoute, c caller) *http.Request {
	var body io.Reader
	ctype := ""
	form := rt.form
	switch {
	case form != nil:
		form = url.Values{}
		for k, v := range rt.form {
			form[k] = v
		}
		ctype = "application/x-www-form-urlencoded"
	case rt.body != "":
		body, ctype = strings.NewReader(rt.body), "application/json"
	}
	xsrf := ""
	switch {
	case c.user != "" && c.scopes == nil:
		xsrf = auth.NewSessions(fx.key, time.Hour).XSRF(fx.sids[c.user])
	case rt.path == "/hub/login":
		xsrf = "0123456789abcdef0123456789abcdef0123"
	}
	if form != nil {
		if xsrf != "" {
			form.Set("_xsrf", xsrf)
		}
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(rt.method, "http://hub.test"+rt.path, body)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	switch {
	case c.scopes != nil:
		r.Header.Set("Authorization", "token "+fx.secrets[c.scopes[0]])
	case c.user != "":
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: fx.sessions[c.user]})
	}
	if xsrf != "" {
		r.AddCookie(&http.Cookie{Name: auth.XSRFCookie, Value: xsrf})
		if rt.form == nil {
			r.Header.Set(auth.XSRFHeader, xsrf)
		}
	}
	return r
}

// routePatterns reads the patterns routes() registers from hub.go.
func routePatterns(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "hub.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route whose pattern is not a string literal; give it a literal so the matrix can see it", fset.Position(call.Pos()))
				return true
			}
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("found no routes in hub.go's routes()")
	}
	return out
}

// TestAuthzMatrixCoversEveryRoute fails when routes() registers a
// pattern the matrix has no row for, or the matrix lists one that is
// gone.
func TestAuthzMatrixCoversEveryRoute(t *testing.T) {
	rows := matrixRoutes(&matrixFixture{})
	registered := routePatterns(t)
	for _, p := range registered {
		if _, ok := rows[p]; !ok {
			t.Errorf("route %q has no row in matrixRoutes: add what each caller should get", p)
		}
	}
	for p := range rows {
		if !slices.Contains(registered, p) {
			t.Errorf("matrixRoutes has %q, which routes() no longer registers", p)
		}
	}
}

// TestAuthzMatrix asks every route as every caller. Requests that may
// change something each get a hub of their own on a fresh copy of the
// database; reads share one hub per configuration.
func TestAuthzMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hundreds of hubs")
	}
	fx := newMatrixFixture(t)
	rows := matrixRoutes(fx)
	patterns := make([]string, 0, len(rows))
	for p := range rows {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	shared := map[bool]*fullHub{}
	hubFor := func(t *testing.T, c caller, safe bool) *fullHub {
		if safe && shared[c.adminAccess] != nil {
			return shared[c.adminAccess]
		}
		fh := newMatrixHub(t, fx, c.adminAccess)
		if safe {
			shared[c.adminAccess] = fh
		}
		return fh
	}
	var fails []string
	for _, p := range patterns {
		for _, rt := range rows[p] {
			for _, c := range fx.callers() {
				// GET /hub/logout is one of these: it must change nothing.
				safe := rt.method == "GET" && !rt.starts
				fh := hubFor(t, c, safe)
				got := serve(fh, fx.request(rt, c))
				want := rt.want(c)
				if bug, ok := rt.knownBug[c.name]; ok {
					if got == bug && got != want {
						t.Logf("known bug: %s %s as %s: %d, should be %d", rt.method, rt.path, c.name, got, want)
						continue
					}
					fails = append(fails, fmt.Sprintf("%s %s as %s: %d (known bug said %d, want %d: remove the knownBug entry if fixed)", rt.method, rt.path, c.name, got, bug, want))
					continue
				}
				if got != want {
					fails = append(fails, fmt.Sprintf("%-48s as %-28s = %d, want %d", rt.method+" "+rt.path, c.name, got, want))
				}
			}
		}
	}
	for _, f := range fails {
		t.Error(f)
	}
}

// newMatrixHub is a full hub on a copy of the fixture, with a file of
// alice's stored and alice's server running.
func newMatrixHub(t *testing.T, fx *matrixFixture, adminAccess bool) *fullHub {
	t.Helper()
	fh := newFullHub(t, fx.copyDB(t), fullHubOptions{adminAccess: adminAccess, sessionKey: fx.key})
	put := httptest.NewRequest("PUT", "http://hub.test/user/alice/api/contents/hello.txt", strings.NewReader(`{"type": "file", "format": "text", "content": "hello"}`))
	put.Header.Set("Authorization", "token "+fx.aliceSecret)
	if code := serve(fh, put); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("storing alice's file: %d", code)
	}
	alice, err := fh.auth.Store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.servers.Start(context.Background(), serverUser(alice), ""); err != nil {
		t.Fatalf("starting alice's server: %v", err)
	}
	waitUntil(t, "alice's server to run", func() bool {
		_, _, _, ok := fh.servers.Route("alice")
		return ok
	})
	return fh
}

// serve runs one request through the hub's whole handler, bounded in
// time (a progress stream ends with its request).
func serve(fh *fullHub, r *http.Request) int {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w := httptest.NewRecorder()
	fh.handler.ServeHTTP(w, r.WithContext(ctx))
	return w.Code
}
