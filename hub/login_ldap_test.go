package hub

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/auth/ldaptest"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// With --auth ldap the login form asks the directory: an analyst logs
// in and is a hub user with the directory's groups; someone outside the
// allowed groups gets a page saying so; a filter typed as the username
// is a wrong username or password; wrong guesses are throttled.
func TestLDAPLoginForm(t *testing.T) {
	d := ldaptest.Start(t, []ldaptest.Person{
		{Name: "alice", Password: "alice-pw", Groups: []string{"analysts", "data-eng"}},
		{Name: "dave", Password: "dave-pw", Groups: []string{"sales"}},
	})
	dir, err := auth.NewLDAP(auth.LDAPConfig{
		URL: d.URL, TLS: d.TLS(), BindDN: ldaptest.ReaderDN, BindPassword: ldaptest.ReaderPassword,
		UserBase: ldaptest.People, UserFilter: "(uid={username})", GroupAttribute: "memberOf",
	})
	if err != nil {
		t.Fatal(err)
	}
	groups := &groupLog{got: map[int64][]string{}}
	th := newTestHubAuth(t, dbtest.Open(t, db.SQLite), nil, auth.Options{LDAP: dir, Admission: auth.Admission{
		AllowedGroups: []string{"analysts"}, Groups: groups,
	}})

	if resp, _ := th.browser().login("alice", "alice-pw", "/hub/token"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/hub/token" {
		t.Fatalf("alice's login: %d to %q, want 302 to /hub/token", resp.StatusCode, resp.Header.Get("Location"))
	}
	u, err := th.auth.Store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := groups.of(u.ID); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"analysts", "data-eng"}) {
		t.Errorf("alice's groups handed on: %v, want the directory's", got)
	}

	resp, body := th.browser().login("dave", "dave-pw", "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "dave is not allowed on this hub") {
		t.Errorf("dave of sales: %d, want 403 saying he is not allowed:\n%s", resp.StatusCode, body)
	}
	if resp, body := th.browser().login("*)(uid=*", "alice-pw", ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password.") {
		t.Errorf("a filter as the username: %d, want 401 wrong username or password", resp.StatusCode)
	}
	if names := th.userNames(); !slices.Equal(names, []string{"alice"}) {
		t.Errorf("users: %v, want only alice", names)
	}

	// Wrong guesses at alice's directory password from one client are
	// throttled, and then her right password is too.
	b := th.browser()
	for i := 0; ; i++ {
		resp, _ := b.login("alice", "guess", "")
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || i > 10 {
			t.Fatalf("guess %d: %d, want 401 and then 429", i, resp.StatusCode)
		}
	}
	if resp, _ := b.login("alice", "alice-pw", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password while throttled: %d, want 429", resp.StatusCode)
	}
}

// A directory that does not answer is a 503 saying to try again, not
// a wrong password, and makes no user.
func TestLDAPDirectoryDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir, err := auth.NewLDAP(auth.LDAPConfig{URL: "ldaps://" + addr, DNTemplate: "uid={username},dc=example,dc=test", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	th := newTestHubAuth(t, dbtest.Open(t, db.SQLite), nil, auth.Options{LDAP: dir, Admission: auth.Admission{AllowAll: true}})
	resp, body := th.browser().login("alice", "alice-pw", "")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "could not check your password just now") {
		t.Errorf("login with the directory down: %d, want 503 saying so:\n%s", resp.StatusCode, body)
	}
	if names := th.userNames(); len(names) != 0 {
		t.Errorf("users: %v, want none", names)
	}
}
