package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
)

// testHub is a hub on a real database behind a real HTTP server.
type testHub struct {
	t    testing.TB
	srv  *httptest.Server
	hub  *Hub
	auth *auth.Authenticator
	db   *gorm.DB
	logs *bytes.Buffer
}

func newTestHub(t testing.TB, gdb *gorm.DB, mod func(*Options)) *testHub {
	t.Helper()
	return newTestHubAuth(t, gdb, mod, auth.Options{})
}

// newTestHubAuth is newTestHub with the authenticator's options
// (--admin-access).
func newTestHubAuth(t testing.TB, gdb *gorm.DB, mod func(*Options), authOpts auth.Options) *testHub {
	t.Helper()
	opts := DefaultOptions()
	if mod != nil {
		mod(&opts)
	}
	a := newTestAuth(t, gdb, authOpts)
	logs := &bytes.Buffer{}
	h, err := New(opts, Deps{DB: gdb, Auth: a, Logger: slog.New(slog.NewTextHandler(logs, nil)), Version: "test", SpawnerName: "local"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb, logs: logs}
}

// newTestAuth is an authenticator over gdb with a session key of its
// own and the cheapest bcrypt cost.
func newTestAuth(t testing.TB, gdb *gorm.DB, opts auth.Options) *auth.Authenticator {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	pw, err := auth.NewPasswords(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewAuthenticator(auth.NewStore(gdb), pw, auth.NewSessions(key, auth.DefaultSessionTTL), opts)
}

// addUser creates a user with the password "password-<name>".
func (th *testHub) addUser(name string, admin bool) *auth.User {
	th.t.Helper()
	hash, err := th.auth.Passwords.Hash("password-" + name)
	if err != nil {
		th.t.Fatal(err)
	}
	u, err := th.auth.Store.CreateUser(context.Background(), name, admin, hash)
	if err != nil {
		th.t.Fatal(err)
	}
	return u
}

// token makes an API token for the user with the given scopes.
func (th *testHub) token(name string, scopes ...string) string {
	th.t.Helper()
	u, err := th.auth.Store.UserByName(context.Background(), name)
	if err != nil {
		th.t.Fatal(err)
	}
	_, secret, err := th.auth.Store.CreateToken(context.Background(), u.ID, auth.NewToken{Scopes: scopes})
	if err != nil {
		th.t.Fatal(err)
	}
	return secret
}

// browser is a client with a cookie jar that logs in through the form.
type browser struct {
	th     *testHub
	client *http.Client
}

func (th *testHub) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{th: th, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// loginForm fetches the login page and returns the form's XSRF value.
func (b *browser) loginForm() string {
	b.th.t.Helper()
	resp, err := b.client.Get(b.th.srv.URL + "/hub/login")
	if err != nil {
		b.th.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(body)
	if m == nil {
		b.th.t.Fatalf("login page has no _xsrf field:\n%s", body)
	}
	return string(m[1])
}

// login posts the form and returns the response (body read and closed).
func (b *browser) login(name, password, next string) (*http.Response, string) {
	b.th.t.Helper()
	xsrf := b.loginForm()
	u := b.th.srv.URL + "/hub/login"
	if next != "" {
		u += "?next=" + url.QueryEscape(next)
	}
	resp, err := b.client.PostForm(u, url.Values{"username": {name}, "password": {password}, "_xsrf": {xsrf}})
	if err != nil {
		b.th.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) mustLogin(name string) {
	b.th.t.Helper()
	resp, body := b.login(name, "password-"+name, "")
	if resp.StatusCode != http.StatusFound {
		b.th.t.Fatalf("login %s: %d\n%s", name, resp.StatusCode, body)
	}
}

// xsrf is the hub's _xsrf cookie value.
func (b *browser) xsrf() string {
	u, _ := url.Parse(b.th.srv.URL + "/hub/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == auth.XSRFCookie {
			return c.Value
		}
	}
	return ""
}

// req is one API request; auth is "token T", "cookie" (with the XSRF
// header), "cookie-noxsrf", or "" for none.
type req struct {
	method, path string
	body         any
	auth         string
	header       map[string]string
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
}

func (r result) message(t *testing.T) string {
	t.Helper()
	var e struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	r.json(t, &e)
	if e.Status != r.status || e.Message == "" {
		t.Errorf("error body %s does not match status %d", r.body, r.status)
	}
	return e.Message
}

func (th *testHub) do(b *browser, rq req) result {
	th.t.Helper()
	var body io.Reader
	switch v := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	case []byte:
		body = bytes.NewReader(v)
	default:
		j, _ := json.Marshal(v)
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(rq.method, th.srv.URL+rq.path, body)
	if err != nil {
		th.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	client := http.DefaultClient
	switch {
	case strings.HasPrefix(rq.auth, "token "):
		hr.Header.Set("Authorization", rq.auth)
	case rq.auth == "cookie":
		client = b.client
		hr.Header.Set(auth.XSRFHeader, b.xsrf())
	case rq.auth == "cookie-noxsrf":
		client = b.client
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	resp, err := client.Do(hr)
	if err != nil {
		th.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: out}
}

// apiPage is JupyterHub's paginated reply.
type apiPage struct {
	Items      []map[string]any `json:"items"`
	Pagination struct {
		Offset, Limit, Total int
		Next                 *struct {
			Offset, Limit int
			URL           string
		}
	} `json:"_pagination"`
}

// snapshot is the users, tokens and logged-out sessions as text, to
// show nothing changed.
func (th *testHub) snapshot() string {
	th.t.Helper()
	var rows []auth.User
	th.db.Order("id").Find(&rows)
	var toks []auth.Token
	th.db.Order("id").Find(&toks)
	var b strings.Builder
	for _, u := range rows {
		b.WriteString(u.Name)
		if u.Admin {
			b.WriteString("*")
		}
		if u.Disabled {
			b.WriteString("-")
		}
		b.WriteString(" " + u.PasswordHash + " ")
		b.WriteString(time.Duration(u.SessionGeneration).String() + "\n")
	}
	for _, t := range toks {
		b.WriteString(t.Hash + " " + t.Note + "\n")
	}
	var revoked []string
	th.db.Table("hub_revoked_sessions").Order("id").Pluck("id", &revoked)
	for _, sid := range revoked {
		b.WriteString("logged out " + sid + "\n")
	}
	return b.String()
}
