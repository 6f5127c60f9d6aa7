package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/images"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// newPageHub is newTestHub with a spawner manager over the fake backend.
func newPageHub(t *testing.T, gdb *gorm.DB) (*testHub, *spawnertest.Fake) {
	t.Helper()
	opts := DefaultOptions()
	a := newTestAuth(t, gdb, auth.Options{})
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	fake := spawnertest.NewFake()
	t.Cleanup(fake.Close)
	// The hub and its manager share the catalog, as serve builds them.
	cat := images.DefaultCatalog()
	m, err := spawner.New(context.Background(), gdb, spawner.Options{Logger: log, PollInterval: 20 * time.Millisecond,
		Profiles: images.Specs{Catalog: cat}, Users: a.Store}, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	h, err := New(opts, Deps{DB: gdb, Auth: a, Logger: log, Version: "test", SpawnerName: "fake", Spawner: m, Profiles: cat})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return &testHub{t: t, srv: srv, hub: h, auth: a, db: gdb, logs: logs}, fake
}

// page is a browser GET: status, Location and body.
func (b *browser) page(path string) (int, string, string) {
	b.th.t.Helper()
	resp, err := b.client.Get(b.th.srv.URL + path)
	if err != nil {
		b.th.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// post is a browser form post with the page's _xsrf field (unless
// xsrf is "-", for none).
func (b *browser) post(path string, form url.Values, xsrf string) (int, string, string) {
	b.th.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	switch xsrf {
	case "":
		form.Set("_xsrf", b.xsrf())
	case "-":
	default:
		form.Set("_xsrf", xsrf)
	}
	resp, err := b.client.PostForm(b.th.srv.URL+path, form)
	if err != nil {
		b.th.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func wantRedirect(t *testing.T, what string, code int, loc string, wantCode int, wantLoc string) {
	t.Helper()
	if code != wantCode || loc != wantLoc {
		t.Fatalf("%s = %d → %q, want %d → %q", what, code, loc, wantCode, wantLoc)
	}
}

func wantPage(t *testing.T, what string, code int, body string, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s = %d, want %d\n%s", what, code, wantCode, body)
	}
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: page lacks %q\n%s", what, w, body)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoginPageSaysWhatIsWrong(t *testing.T) {
	th := newTestHub(t, dbtest.Open(t, db.SQLite), nil)
	th.addUser("alice", false)
	b := th.browser()
	code, loc, _ := b.page("/hub/home")
	wantRedirect(t, "home logged out", code, loc, http.StatusFound, "/hub/login?next=%2Fhub%2Fhome")
	code, _, body := b.page("/hub/login")
	wantPage(t, "login", code, body, http.StatusOK, `id="username"`, `for="username"`, `for="password"`, "autofocus")
	resp, body := b.login("alice", "nope", "/hub/token")
	wantPage(t, "wrong password", resp.StatusCode, body, http.StatusUnauthorized, "Wrong username or password.", `value="alice"`, `role="alert"`)
	if !regexp.MustCompile(`id="password"[^>]*autofocus`).MatchString(body) {
		t.Errorf("after a wrong password the password field is not focused:\n%s", body)
	}
	if !strings.Contains(body, `action="/hub/login?next=%2fhub%2ftoken"`) {
		t.Errorf("the form lost next=:\n%s", body)
	}
	resp, _ = b.login("alice", "password-alice", "/hub/token")
	wantRedirect(t, "right password", resp.StatusCode, resp.Header.Get("Location"), http.StatusFound, "/hub/token")
}

func TestErrorPagesShareTheStyle(t *testing.T) {
	th, _ := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	b := th.browser()
	code, _, body := b.page("/hub/nowhere")
	wantPage(t, "404 logged out", code, body, http.StatusNotFound, "Page not found", "/hub/static/style.")
	b.mustLogin("alice")
	code, _, body = b.page("/hub/nowhere")
	wantPage(t, "404", code, body, http.StatusNotFound, "Page not found", "Log out")
	code, _, body = b.page("/hub/admin")
	wantPage(t, "403", code, body, http.StatusForbidden, "Not allowed", "Only admins")
	resp, err := b.client.Get(th.srv.URL + "/hub/home")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "frame-ancestors 'self'"} {
		if got := resp.Header.Get(k); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q in it", k, got, want)
		}
	}
}

func TestStartAndStopWithoutJavaScript(t *testing.T) {
	th, fake := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	b := th.browser()
	b.mustLogin("alice")

	code, _, body := b.page("/hub/home")
	wantPage(t, "home", code, body, http.StatusOK, "Not running", `action="/hub/spawn"`, "Start my server", `href="/hub/token"`)
	if strings.Contains(body, `href="/hub/admin"`) {
		t.Error("a user who is not an admin sees the admin link")
	}
	// No _xsrf, a wrong one, or another site's Origin: refused, nothing starts.
	for _, x := range []string{"-", "forged-token-forged-token-forged-token"} {
		code, _, body = b.post("/hub/spawn", nil, x)
		wantPage(t, "spawn without the token", code, body, http.StatusForbidden, "XSRF")
	}
	rq, _ := http.NewRequest("POST", th.srv.URL+"/hub/spawn", strings.NewReader("_xsrf="+b.xsrf()))
	rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rq.Header.Set("Origin", "https://evil.example")
	if resp, err := b.client.Do(rq); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site spawn = %v %v", resp, err)
	}
	if n := fake.Starts("alice"); n != 0 {
		t.Fatalf("refused posts started %d servers", n)
	}

	code, loc, _ := b.post("/hub/spawn?next="+url.QueryEscape("/user/alice/tree"), nil, "")
	wantRedirect(t, "start", code, loc, http.StatusSeeOther, "/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Ftree")
	waitUntil(t, "the server to be ready", func() bool {
		_, _, st, ok := th.hub.servers.Route("alice")
		return ok && st == spawner.Running
	})
	code, loc, _ = b.page("/hub/spawn-pending/alice?next=" + url.QueryEscape("/user/alice/tree"))
	wantRedirect(t, "progress page once ready", code, loc, http.StatusFound, "/user/alice/tree")
	code, loc, _ = b.page("/hub/spawn?next=" + url.QueryEscape("//evil.example/x"))
	wantRedirect(t, "spawn page while running, foreign next", code, loc, http.StatusFound, "/user/alice/")
	code, _, body = b.page("/hub/home")
	wantPage(t, "home running", code, body, http.StatusOK, "Running", `href="/user/alice/"`, `action="/hub/stop"`)

	code, _, _ = b.post("/hub/stop", nil, "-")
	if code != http.StatusForbidden || fake.Running("alice") != 1 {
		t.Fatalf("stop without the token = %d, running %d", code, fake.Running("alice"))
	}
	code, loc, _ = b.post("/hub/stop", nil, "")
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/hub/home?done=stop") {
		t.Fatalf("stop = %d → %q", code, loc)
	}
	waitUntil(t, "the server to stop", func() bool { return fake.Running("alice") == 0 })
	waitUntil(t, "home to say not running", func() bool {
		_, _, body := b.page("/hub/home")
		return strings.Contains(body, "Not running") && strings.Contains(body, "Your server was stopped.")
	})
	code, loc, _ = b.page("/hub/spawn-pending/alice")
	wantRedirect(t, "progress page while stopped", code, loc, http.StatusFound, "/hub/spawn")

	// A failed start: the progress page says why and offers Retry.
	fake.FailStart("alice", errors.New("no machine has 64 GiB free; pick a smaller profile"))
	b.post("/hub/spawn", nil, "")
	waitUntil(t, "the start to fail", func() bool {
		_, _, body := b.page("/hub/spawn-pending/alice")
		return strings.Contains(body, `id="retry"`) && !strings.Contains(body, `id="failure" class="error" hidden`)
	})
	_, _, body = b.page("/hub/spawn-pending/alice")
	wantPage(t, "failed progress page", http.StatusOK, body, http.StatusOK, "could not start", `action="/hub/spawn"`)
	t.Logf("failure shown as: %s", regexp.MustCompile(`id="failure-reason">[^<]*`).FindString(body))
	fake.FailStart("alice", nil)
	code, loc, _ = b.post("/hub/spawn", nil, "")
	wantRedirect(t, "retry", code, loc, http.StatusSeeOther, "/hub/spawn-pending/alice")

	// Someone else's progress page is not there for a user.
	th.addUser("bob", false)
	code, _, _ = b.page("/hub/spawn-pending/bob")
	if code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("another user's progress page = %d", code)
	}
}

// GET /hub/spawn is where the proxy sends a stopped server's browser.
// With one profile there is nothing to choose: one's own server starts
// at once and the browser goes to the progress page, keeping next, as
// JupyterHub does. With several it shows the choice. Someone else's
// server never starts from a GET: a link from another site to an
// admin's /hub/spawn/{name} shows the Start button and starts nothing,
// and a user's GET of another's is refused.
func TestSpawnPageStartsWhenNothingToChoose(t *testing.T) {
	th, fake := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	th.addUser("bob", false)
	th.addUser("root", true)
	admin := th.browser()
	admin.mustLogin("root")
	b := th.browser()
	b.mustLogin("alice")

	// The admin, led here from another site: a page with a button.
	rq, _ := http.NewRequest("GET", th.srv.URL+"/hub/spawn/alice", nil)
	rq.Header.Set("Referer", "https://evil.example/")
	resp, err := admin.client.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantPage(t, "admin's spawn page for alice", resp.StatusCode, string(body), http.StatusOK, `action="/hub/spawn/alice"`)
	// A user asking for another's: refused.
	if code, _, _ := b.page("/hub/spawn/bob"); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("alice's GET of bob's spawn page = %d", code)
	}
	if n, m := fake.Starts("alice"), fake.Starts("bob"); n+m != 0 {
		t.Fatalf("GETs of someone else's spawn page started %d and %d servers", n, m)
	}

	// Several profiles: the choice, nothing started.
	cat, problems := images.ParseCatalog("profiles.yaml", []byte(twoProfiles))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	one := th.hub.profiles.Profiles
	th.hub.profiles.Profiles = cat.Profiles
	code, _, body2 := b.page("/hub/spawn?next=" + url.QueryEscape("/user/alice/tree"))
	wantPage(t, "spawn page with two profiles", code, body2, http.StatusOK,
		`action="/hub/spawn?next=%2Fuser%2Falice%2Ftree"`, `value="small"`, `value="gpu"`)
	if n := fake.Starts("alice"); n != 0 {
		t.Fatalf("the spawn page with a choice started %d servers", n)
	}

	// One profile: started, on to the progress page with next.
	th.hub.profiles.Profiles = one
	code, loc, _ := b.page("/hub/spawn?next=" + url.QueryEscape("/user/alice/tree"))
	wantRedirect(t, "spawn page with one profile", code, loc, http.StatusSeeOther, "/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Ftree")
	waitUntil(t, "alice's server to be ready", func() bool {
		_, _, st, ok := th.hub.servers.Route("alice")
		return ok && st == spawner.Running
	})
	if n := fake.Starts("alice"); n != 1 {
		t.Errorf("alice's server started %d times, want 1", n)
	}
	code, loc, _ = b.page("/hub/spawn/alice")
	wantRedirect(t, "spawn page while running", code, loc, http.StatusFound, "/user/alice/")
	if n := fake.Starts("alice"); n != 1 {
		t.Errorf("alice's server started %d times, want 1", n)
	}
}

var newToken = regexp.MustCompile(`id="new-token" value="([^"]+)"`)

func TestTokenPage(t *testing.T) {
	th, _ := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	b := th.browser()
	b.mustLogin("alice")
	code, _, body := b.page("/hub/token")
	wantPage(t, "token page", code, body, http.StatusOK, "You have no API tokens.", `for="note"`, `for="expires_in"`, "<legend>Permissions</legend>")

	form := url.Values{"note": {"nightly report"}, "expires_in": {"3600"}, "scopes": {"contents", "read:users"}}
	code, _, _ = b.post("/hub/token", form, "-")
	if code != http.StatusForbidden {
		t.Fatalf("create without the token = %d", code)
	}
	code, _, body = b.post("/hub/token", form, "")
	wantPage(t, "create", code, body, http.StatusCreated, "shown only this once", "nightly report", "data-copy=")
	m := newToken.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no new token on the page:\n%s", body)
	}
	secret := m[1]
	r := th.do(nil, req{method: "GET", path: "/hub/api/user", auth: "token " + secret})
	var who struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	r.json(t, &who)
	if r.status != 200 || who.Name != "alice" || strings.Contains(strings.Join(who.Scopes, " "), "servers") {
		t.Fatalf("the new token: %d %+v", r.status, who)
	}
	code, _, body = b.page("/hub/token")
	wantPage(t, "list", code, body, http.StatusOK, "nightly report", "contents, read:users", "Last used")
	if strings.Contains(body, secret) {
		t.Fatal("the token is shown again")
	}
	// A scope alice does not hold is refused, saying which.
	code, _, body = b.post("/hub/token", url.Values{"scopes": {"admin:users"}}, "")
	wantPage(t, "too broad", code, body, http.StatusBadRequest, "admin:users")

	id := regexp.MustCompile(`action="/hub/token/(a[0-9]+)/revoke"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no revoke button:\n%s", body)
	}
	code, _, _ = b.post("/hub/token/"+id[1]+"/revoke", nil, "-")
	if code != http.StatusForbidden {
		t.Fatalf("revoke without the token = %d", code)
	}
	code, loc, _ := b.post("/hub/token/"+id[1]+"/revoke", nil, "")
	wantRedirect(t, "revoke", code, loc, http.StatusSeeOther, "/hub/token?done=revoked")
	if r := th.do(nil, req{method: "GET", path: "/hub/api/user", auth: "token " + secret}); r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
		t.Fatalf("a revoked token still works: %d", r.status)
	}
}

func TestAdminPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, fake := newPageHub(t, gdb)
		th.addUser("root", true)
		th.addUser("alice", false)
		b := th.browser()
		b.mustLogin("root")
		code, _, body := b.page("/hub/admin")
		wantPage(t, "admin", code, body, http.StatusOK, "<strong>2</strong> users", `id="user-alice"`, `for="usernames"`)

		// Add many at once; duplicates and existing names are fine, a
		// bad name changes nothing.
		before := th.snapshot()
		code, _, body = b.post("/hub/admin/users", url.Values{"usernames": {"bob\nNot Valid!\n"}}, "")
		wantPage(t, "bad name", code, body, http.StatusBadRequest, "cannot be a username")
		if th.snapshot() != before {
			t.Fatal("a refused add changed users")
		}
		code, _, _ = b.post("/hub/admin/users", url.Values{"usernames": {"bob\ncarol"}}, "-")
		if code != http.StatusForbidden || th.snapshot() != before {
			t.Fatalf("add without the token = %d", code)
		}
		code, loc, _ := b.post("/hub/admin/users", url.Values{"usernames": {"bob\r\ncarol\n\nbob\nalice\n"}}, "")
		wantRedirect(t, "add", code, loc, http.StatusSeeOther, "/hub/admin?done=added&n=2&skipped=1")
		_, _, body = b.page(loc)
		wantPage(t, "after add", http.StatusOK, body, http.StatusOK, "Added 2 users. 1 name already existed", "<strong>4</strong> users")
		// Adding only names that exist changes nothing and ends on a page
		// a reload does not post again.
		before = th.snapshot()
		code, loc, _ = b.post("/hub/admin/users", url.Values{"usernames": {"bob\nalice"}}, "")
		wantRedirect(t, "add existing", code, loc, http.StatusSeeOther, "/hub/admin?done=added&n=0&skipped=2")
		_, _, body = b.page(loc)
		wantPage(t, "after adding existing", http.StatusOK, body, http.StatusOK, "Added 0 users. 2 names already existed and were unchanged.")
		if th.snapshot() != before {
			t.Fatal("adding existing names changed users")
		}

		ret := url.Values{"q": {""}, "sort": {"-name"}, "page": {"1"}}
		act := func(user, action string, extra url.Values) (int, string, string) {
			f := url.Values{}
			for k, v := range ret {
				f[k] = v
			}
			for k, v := range extra {
				f[k] = v
			}
			return b.post("/hub/admin/users/"+user+"/"+action, f, "")
		}
		code, loc, _ = act("bob", "start", nil)
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/hub/admin?") || !strings.Contains(loc, "sort=-name") {
			t.Fatalf("start bob = %d → %q", code, loc)
		}
		waitUntil(t, "bob's server", func() bool { _, _, _, ok := th.hub.servers.Route("bob"); return ok })
		th.hub.servers.KernelBusy("bob", "k1", true)
		_, _, body = b.page("/hub/admin")
		wantPage(t, "running", http.StatusOK, body, http.StatusOK, "<strong>1</strong> server running", `action="/hub/admin/users/bob/stop"`, "1 busy kernel")
		code, loc, _ = act("bob", "stop", nil)
		if code != http.StatusSeeOther || !strings.Contains(loc, "done=stop") {
			t.Fatalf("stop bob = %d → %q", code, loc)
		}
		waitUntil(t, "bob's server to stop", func() bool { return fake.Running("bob") == 0 })

		code, loc, _ = act("carol", "admin", nil)
		wantRedirect(t, "make carol admin", code, loc, http.StatusSeeOther, "/hub/admin?done=admin&sort=-name&u=carol")
		if u, _ := th.auth.Store.UserByName(context.Background(), "carol"); !u.Admin {
			t.Fatal("carol is not an admin")
		}
		act("carol", "unadmin", nil)
		if u, _ := th.auth.Store.UserByName(context.Background(), "carol"); u.Admin {
			t.Fatal("carol is still an admin")
		}
		// The last admin stays one, and says why.
		code, _, body = act("root", "unadmin", nil)
		wantPage(t, "unadmin the last admin", code, body, http.StatusBadRequest, "last admin")

		bobB := th.browser()
		// The reset ends on a page a reload does not post again, and the
		// password is shown there once, never in the URL.
		code, loc, _ = act("bob", "password", nil)
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/hub/admin?") || !strings.Contains(loc, "done=password") {
			t.Fatalf("reset password = %d → %q", code, loc)
		}
		code, _, body = b.page(loc)
		wantPage(t, "reset password", code, body, http.StatusOK, "New password for bob")
		pw := regexp.MustCompile(`id="new-password" value="([^"]+)"`).FindStringSubmatch(body)
		if pw == nil {
			t.Fatal("no new password shown")
		}
		if strings.Contains(loc, pw[1]) {
			t.Fatalf("the new password is in the URL %q", loc)
		}
		code, _, body = b.page(loc)
		wantPage(t, "reset password reloaded", code, body, http.StatusOK, "was shown once")
		if strings.Contains(body, pw[1]) {
			t.Fatal("a reload shows the new password again")
		}
		// Another admin cannot take it from the URL either.
		th.addUser("root2", true)
		other := th.browser()
		other.mustLogin("root2")
		code, loc, _ = act("bob", "password", nil)
		if _, _, body := other.page(loc); code != http.StatusSeeOther || strings.Contains(body, `id="new-password"`) {
			t.Fatal("another admin sees a password reset by someone else")
		}
		_, _, body = b.page(loc)
		pw = regexp.MustCompile(`id="new-password" value="([^"]+)"`).FindStringSubmatch(body)
		if pw == nil {
			t.Fatal("no new password shown after the second reset")
		}
		if resp, _ := bobB.login("bob", pw[1], ""); resp.StatusCode != http.StatusFound {
			t.Fatalf("bob cannot log in with the new password: %d", resp.StatusCode)
		}
		act("bob", "revoke", nil)
		if code, _, _ := bobB.page("/hub/home"); code != http.StatusFound {
			t.Fatalf("bob is still logged in after revoke: %d", code)
		}

		code, _, body = act("bob", "delete", url.Values{"confirm": {"bo"}})
		wantPage(t, "delete unconfirmed", code, body, http.StatusBadRequest, "type their name")
		code, loc, _ = act("bob", "delete", url.Values{"confirm": {"bob"}})
		wantRedirect(t, "delete", code, loc, http.StatusSeeOther, "/hub/admin?done=deleted&sort=-name&u=bob")
		if _, err := th.auth.Store.UserByName(context.Background(), "bob"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("bob after delete: %v", err)
		}
		code, _, _ = act("bob", "nonsense", nil)
		if code != http.StatusNotFound {
			t.Errorf("unknown action = %d", code)
		}

		// Search, sort and pages happen in the database.
		names := make([]string, 120)
		for i := range names {
			names[i] = fmt.Sprintf("user%03d", i)
		}
		if _, err := th.auth.Store.CreateUsers(context.Background(), names, false); err != nil {
			t.Fatal(err)
		}
		_, _, body = b.page("/hub/admin?q=user&page=2")
		wantPage(t, "page 2", http.StatusOK, body, http.StatusOK, "Showing 51–100 of 120", "Page 2 of 3", `id="user-user050"`, `rel="prev"`, `rel="next"`)
		if strings.Contains(body, `id="user-user049"`) || strings.Contains(body, `id="user-alice"`) {
			t.Error("page 2 shows users of another page or search")
		}
		_, _, body = b.page("/hub/admin?q=user&sort=-name")
		if i, j := strings.Index(body, `id="user-user119"`), strings.Index(body, `id="user-user118"`); i < 0 || j < i {
			t.Error("sort=-name does not put user119 first")
		}
		if !strings.Contains(body, `aria-sort="descending"`) {
			t.Error("the sorted column is not marked")
		}
		_, _, body = b.page("/hub/admin?q=car")
		wantPage(t, "search", http.StatusOK, body, http.StatusOK, "Showing 1–1 of 1", `id="user-carol"`)
		_, _, body = b.page("/hub/admin?page=999&sort=bogus")
		wantPage(t, "past the end", http.StatusOK, body, http.StatusOK, "Page 3 of 3")
	})
}

// A server that failed to start shows its user why, and its admin the
// reason and its last log lines behind a disclosure; never its token.
func TestFailedServerOnThePages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, fake := newPageHub(t, gdb)
		th.addUser("root", true)
		th.addUser("alice", false)
		fake.ExitOnStart("alice", true)
		alice := th.browser()
		alice.mustLogin("alice")
		code, _, _ := alice.post("/hub/spawn", url.Values{}, "")
		if code != http.StatusSeeOther && code != http.StatusFound {
			t.Fatalf("start = %d", code)
		}
		waitUntil(t, "alice's server to fail", func() bool {
			u, _ := th.auth.Store.UserByName(context.Background(), "alice")
			m, err := th.hub.servers.Servers(context.Background(), []spawner.User{serverUser(u)})
			return err == nil && m["alice"].State == spawner.Failed
		})
		const why = "Your server exited while starting: it exited with status 1, before saying why."
		_, _, body := alice.page("/hub/home")
		wantPage(t, "home", http.StatusOK, body, http.StatusOK, why)
		if strings.Contains(body, "home page") || strings.Contains(body, "fake server for alice starting") {
			t.Errorf("the home page sends the user to itself or shows the log:\n%s", body)
		}

		root := th.browser()
		root.mustLogin("root")
		_, _, body = root.page("/hub/admin")
		wantPage(t, "admin", http.StatusOK, body, http.StatusOK, `<details class="log" id="log-alice">`, "fake server for alice starting", "?token=[token]", "[sparkhub] start failed", why)
		if regexp.MustCompile(`token=[0-9a-f]`).MatchString(body) {
			t.Error("the admin page shows the server's token")
		}
		if !strings.Contains(th.logs.String(), "fake server for alice starting") {
			t.Error("the hub log lacks the failed server's last lines")
		}
	})
}
