package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// TestLogoutRevokesTheSession: a session logged out on one hub is
// refused there at once, copies of its cookie included, and is not
// refreshed; a second hub on the same database refuses it once its
// cache's bound has passed; the user's other sessions go on.
func TestLogoutRevokesTheSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		one := newTestAuth(t, gdb, false)
		// Another hub process: its own store (and so its own epoch) and
		// cache, the same database and signing key.
		two := NewAuthenticator(NewStore(gdb), one.Passwords, one.Sessions, Options{})
		now := time.Now()
		for _, a := range []*Authenticator{one, two} {
			a.cache.now = func() time.Time { return now }
		}
		u, err := one.Store.CreateUser(ctx, "alice", false, "")
		if err != nil {
			t.Fatal(err)
		}
		login := func() *http.Cookie {
			w := httptest.NewRecorder()
			if err := one.StartSession(w, httptest.NewRequest("POST", "/hub/login", nil), u); err != nil {
				t.Fatal(err)
			}
			return cookieNamed(w.Result().Cookies(), SessionCookie)
		}
		// who authenticates with the cookie on a hub and returns the
		// cookie it refreshed, if any.
		who := func(a *Authenticator, c *http.Cookie) (*Principal, *http.Cookie, error) {
			r := httptest.NewRequest("GET", "/hub/api/user", nil)
			r.AddCookie(c)
			w := httptest.NewRecorder()
			p, err := a.Authenticate(w, r)
			return p, cookieNamed(w.Result().Cookies(), SessionCookie), err
		}
		stolen, other := login(), login()
		for _, a := range []*Authenticator{one, two} {
			if _, _, err := who(a, stolen); err != nil {
				t.Fatalf("before logout: %v", err)
			}
		}
		p, _, _ := who(one, stolen)
		if err := one.EndSession(ctx, httptest.NewRecorder(), httptest.NewRequest("POST", "/hub/logout", nil), p); err != nil {
			t.Fatal(err)
		}
		if _, _, err := who(one, stolen); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("the logged-out cookie on the hub that logged it out: %v, want ErrUnauthenticated", err)
		}
		// Old enough to be refreshed: refused all the same, and no new
		// cookie comes back.
		one.Sessions.now = func() time.Time { return now.Add(one.Sessions.TTL / 2) }
		defer func() { one.Sessions.now = time.Now }()
		if _, fresh, err := who(one, stolen); !errors.Is(err, ErrUnauthenticated) || fresh != nil {
			t.Errorf("refreshing the logged-out session: %v, new cookie %v; want it refused", err, fresh)
		}
		if _, fresh, err := who(one, other); err != nil || fresh == nil {
			t.Errorf("alice's other session: %v, refreshed %v; want it to go on", err, fresh != nil)
		}
		// The second hub may answer from its cache until the cache's
		// bound, and no longer.
		now = now.Add(cacheTTL + time.Second)
		if _, _, err := who(two, stolen); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("the logged-out cookie on another hub after %s: %v, want ErrUnauthenticated", cacheTTL, err)
		}
	})
}

// TestRevokedSessionsAreSwept: a row outlives every cookie of its
// session, and is swept once that time has passed.
func TestRevokedSessionsAreSwept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		u, err := st.CreateUser(ctx, "alice", false, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSession(ctx, u.ID, "past", time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeSession(ctx, u.ID, "live", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Twice, as two tabs logging out at once would.
		if err := st.RevokeSession(ctx, u.ID, "live", time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("revoking a session twice: %v", err)
		}
		for sid, want := range map[string]bool{"past": false, "live": true, "never": false} {
			if got, err := st.SessionRevoked(ctx, sid); err != nil || got != want {
				t.Errorf("SessionRevoked(%q) = %v, %v; want %v", sid, got, err, want)
			}
		}
	})
}

// TestPlantedSessionCookie: a request with two session cookies, the
// real one and one planted beside it, is not logged in as either, and
// both are cleared for every path and domain they could have. Under
// TLS the cookie is __Host-sparkhub-session, and a plain
// sparkhub-session beside it counts for nothing.
func TestPlantedSessionCookie(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	a := newTestAuth(t, gdb, false)
	alice, _ := a.Store.CreateUser(ctx, "alice", false, "")
	mallory, _ := a.Store.CreateUser(ctx, "mallory", false, "")
	real, _, _ := a.Sessions.Issue(alice, "sid-alice")
	planted, _, _ := a.Sessions.Issue(mallory, "sid-mallory")

	r := httptest.NewRequest("GET", "http://hub.example.org/hub/api/users/alice", nil)
	r.Header.Set("Cookie", SessionCookie+"="+planted+"; "+SessionCookie+"="+real)
	w := httptest.NewRecorder()
	if p, err := a.Authenticate(w, r); !errors.Is(err, ErrSessionClash) || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("two session cookies: %v, %v; want ErrSessionClash", p, err)
	}
	var cleared []string
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			if c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("a session cookie set, not cleared: %+v", c)
			}
			cleared = append(cleared, c.Path+" "+c.Domain)
		}
	}
	for _, want := range []string{"/ ", "/hub ", "/hub/ ", "/hub/api/ ", "/hub/api/users/alice ", "/ hub.example.org", "/ example.org"} {
		if !slices.Contains(cleared, want) {
			t.Errorf("cleared %q, not path and domain %q", cleared, want)
		}
	}

	tlsReq := func(cookie string) *http.Request {
		r := httptest.NewRequest("GET", "https://hub.example.org/hub/api/user", nil)
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Cookie", cookie)
		return r
	}
	if p, err := a.Authenticate(nil, tlsReq(SessionCookie+"="+planted+"; "+SecureSessionCookie+"="+real)); err != nil || p.User.Name != "alice" {
		t.Errorf("under TLS with a plain cookie beside the real one: %v, %v; want alice", p, err)
	}
	if _, err := a.Authenticate(nil, tlsReq(SessionCookie+"="+real)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("under TLS, the plain cookie alone: %v, want ErrUnauthenticated", err)
	}
	w = httptest.NewRecorder()
	if _, err := a.Authenticate(w, tlsReq(SecureSessionCookie+"="+planted+"; "+SecureSessionCookie+"="+real)); !errors.Is(err, ErrSessionClash) {
		t.Errorf("under TLS, two __Host- cookies: %v, want ErrSessionClash", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == SecureSessionCookie && (c.Path != "/" || c.Domain != "" || !c.Secure || c.MaxAge >= 0) {
			t.Errorf("a __Host- cookie cleared as %+v; browsers take only Path=/, Secure, no Domain", c)
		}
	}
	// The genuine cookie alone works, so the cases above fail for the
	// second cookie.
	r = httptest.NewRequest("GET", "/hub/api/user", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: real})
	if p, err := a.Authenticate(nil, r); err != nil || p.User.Name != "alice" {
		t.Fatalf("the genuine cookie alone: %v, %v", p, err)
	}
}

func TestCookiePaths(t *testing.T) {
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/", []string{"/"}},
		{"/hub/home", []string{"/", "/hub", "/hub/", "/hub/home"}},
		{"/user/alice/", []string{"/", "/user", "/user/", "/user/alice", "/user/alice/"}},
		{"/a;b/c", []string{"/"}},
	} {
		if got := cookiePaths(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("cookiePaths(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if n := len(cookiePaths("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s")); n != maxCookiePaths {
		t.Errorf("a deep path gave %d paths, want at most %d", n, maxCookiePaths)
	}
	for host, want := range map[string][]string{"hub.example.org:8000": {"hub.example.org", "example.org"}, "localhost:8000": nil, "127.0.0.1:8000": nil, "[::1]:8000": nil} {
		if got := cookieDomains(host); !slices.Equal(got, want) {
			t.Errorf("cookieDomains(%q) = %q, want %q", host, got, want)
		}
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
