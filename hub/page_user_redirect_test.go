package hub

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
	"github.com/sparkhub/sparkhub/spawner"
)

// TestUserRedirect: a shared link sends whoever opens it through the
// login page, then into their own server at the link's path, starting
// it when it is stopped, and only ever under their own /user/{name}/.
func TestUserRedirect(t *testing.T) {
	th, fake := newPageHub(t, dbtest.Open(t, db.SQLite))
	th.addUser("alice", false)
	th.addUser("bob", false)
	b := th.browser()

	link := "/hub/user-redirect/lab/tree/my%20work/x.ipynb?reset=1&blank="
	// Not logged in: the login page, whose next is the whole link.
	code, loc, _ := b.page(link)
	wantRedirect(t, "anonymous user-redirect", code, loc, http.StatusFound, "/hub/login?next="+url.QueryEscape(link))
	resp, body := b.login("alice", "password-alice", link)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != link {
		t.Fatalf("login with the link as next = %d → %q, want the link\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}

	// Logged in, server stopped: the spawn page starts it, its progress
	// page then leads on to the path; blank query values are dropped,
	// as JupyterHub drops them.
	want := "/user/alice/lab/tree/my%20work/x.ipynb?reset=1"
	code, loc, _ = b.page(link)
	wantRedirect(t, "alice's user-redirect", code, loc, http.StatusFound, "/hub/spawn?next="+url.QueryEscape(want))
	code, loc, _ = b.page(loc)
	wantRedirect(t, "the spawn page", code, loc, http.StatusSeeOther, pendingURL("alice", want))
	waitUntil(t, "alice's server to be ready", func() bool {
		_, _, st, ok := th.hub.servers.Route("alice")
		return ok && st == spawner.Running
	})
	code, loc, _ = b.page(loc)
	wantRedirect(t, "the progress page of a running server", code, loc, http.StatusFound, want)
	// Running: straight on, nothing started again.
	_, loc, _ = b.page(link)
	code, loc, _ = b.page(loc)
	wantRedirect(t, "user-redirect to a running server", code, loc, http.StatusFound, want)
	if n := fake.Starts("alice"); n != 1 {
		t.Errorf("alice's server started %d times, want 1", n)
	}

	// Only GET: a post is not a way in.
	code, _, _ = b.post("/hub/user-redirect/lab", nil, "")
	if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("POST user-redirect = %d, want 404 or 405", code)
	}

	// Attacks: each is refused with a 400, or leads only under
	// /user/alice/ (Go's router cleans a plain ".." or "//" before the
	// handler sees it; whatever it leads to is not the link's doing).
	for _, attack := range []string{
		"/hub/user-redirect/%2e%2e/bob/tree",
		"/hub/user-redirect/lab/%2E%2E/%2e%2e/%2e%2e/user/bob/",
		"/hub/user-redirect/..%2F..%2Fuser%2Fbob%2F",
		"/hub/user-redirect/%2F%2Fevil.example/x",
		"/hub/user-redirect/%5C%5Cevil.example/x",
		"/hub/user-redirect/%2fhub%2fadmin",
		"/hub/user-redirect/lab/%00x",
		"/hub/user-redirect/x%0d%0aSet-Cookie:%20a=b",
		"/hub/user-redirect/lab/./tree",
		"/hub/user-redirect/lab//tree",
		"/hub/user-redirect/%252e%252e/bob",
		"/hub/user-redirect/lab?a=%zz",
		"/hub/user-redirect/@evil.example/x",
		"/hub/user-redirect/lab?next=//evil.example/",
		"/hub/user-redirect/" + strings.Repeat("a/", 1100),
	} {
		t.Run(attack[:min(len(attack), 60)], func(t *testing.T) {
			code, loc, body := b.page(attack)
			switch {
			case code == http.StatusBadRequest:
				if !strings.Contains(body, "link") {
					t.Errorf("400 without saying why:\n%s", body)
				}
				return
			case code == http.StatusMovedPermanently, code == http.StatusTemporaryRedirect, code == http.StatusPermanentRedirect:
				// The router's cleaning: not under user-redirect any
				// more, or the link cleaned, which is asked again.
				if strings.HasPrefix(loc, "/hub/user-redirect/") {
					code, loc, _ = b.page(loc)
					break
				}
				if strings.HasPrefix(loc, "/user/") {
					t.Fatalf("the router sent %s to a server: %q", attack, loc)
				}
				return
			}
			if code != http.StatusFound || !strings.HasPrefix(loc, "/hub/spawn?next=") {
				t.Fatalf("%s = %d → %q, want a 400 or the spawn page", attack, code, loc)
			}
			next, _ := url.QueryUnescape(strings.TrimPrefix(loc, "/hub/spawn?next="))
			if safeNext(next) != next {
				t.Fatalf("next %q is not one the spawn page follows", next)
			}
			u, err := url.Parse(next)
			if err != nil || u.Host != "" || !strings.HasPrefix(path.Clean(u.Path)+"/", "/user/alice/") {
				t.Fatalf("%s leads out of /user/alice/: %q", attack, next)
			}
			code, loc, _ = b.page(loc)
			if code != http.StatusFound || loc != next {
				t.Fatalf("the spawn page = %d → %q, want %q", code, loc, next)
			}
		})
	}
	if n := fake.Starts("bob"); n != 0 {
		t.Errorf("alice's links started bob's server %d times", n)
	}
}

// TestUserRedirectOrigins: with --user-subdomains a link shared from
// alice's origin leads whoever opens it to the hub's host, then into
// their own server on their own origin.
func TestUserRedirectOrigins(t *testing.T) {
	oh := newOriginsHub(t, false)
	link := "/hub/user-redirect/lab/tree/x.ipynb?a=1"
	for _, tc := range []struct{ who, want string }{
		{"alice", oh.url("alice.hub.test", "/user/alice/lab/tree/x.ipynb?a=1")},
		{"bob", oh.url("bob.hub.test", "/user/bob/lab/tree/x.ipynb?a=1")},
	} {
		b := oh.browser(t, tc.who)
		_, trail := b.open(oh.url("alice.hub.test", link))
		if len(trail) < 4 || trail[1] != oh.url("hub.test", link) || trail[3] != tc.want {
			t.Errorf("%s opening alice's shared link went %v, want by the hub's host to %s", tc.who, trail, tc.want)
		}
	}
}
