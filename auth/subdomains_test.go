package auth

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

func TestLabel(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"data-team", true},
		{"7eleven", true},
		{"a", true},
		{"a.b", false},     // a dot would make two labels
		{"a_b", false},     // '_' is no host name letter
		{"team-", false},   // a label does not end with '-'
		{"ab--cd", false},  // "--" is for encoded names (xn--)
		{"xn--nxa", false}, // an encoded name, not a user
		{"Alice", false},   // not a username
		{"", false},        // nor this
		{"-alice", false},  // nor this
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
	}
	for _, tt := range tests {
		label, err := Label(tt.name)
		if tt.ok && (err != nil || label != tt.name) {
			t.Errorf("Label(%q) = %q, %v; want the name itself", tt.name, label, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("Label(%q) = %q, want it refused", tt.name, label)
		}
		if !tt.ok && err != nil && !strings.Contains(err.Error(), "cannot be the address of a server") {
			t.Errorf("Label(%q) says %q", tt.name, err)
		}
	}
}

func TestParseSubdomainsAndOwnerOf(t *testing.T) {
	for _, bad := range []string{"http://hub.example.com", "hub.example.com/", "*.hub.example.com", "127.0.0.1", "[::1]:80", "hub..example", "hub.example.com:0", "hub.example.com:99999", "hub_x.example", "-hub.example"} {
		if _, err := ParseSubdomains(bad); err == nil || !strings.Contains(err.Error(), "--user-subdomains") {
			t.Errorf("ParseSubdomains(%q) = %v, want it refused, naming the flag", bad, err)
		}
	}
	if s, err := ParseSubdomains(""); err != nil || s.On() {
		t.Errorf("empty: %v %v, want off", s, err)
	}
	s, err := ParseSubdomains("Hub.Example.com.:8443")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host  string
		owner string
		under bool
	}{
		{"hub.example.com", "", false},
		{"hub.example.com:8443", "", false},
		{"127.0.0.1:8000", "", false},
		{"example.com", "", false},
		{"evilhub.example.com", "", false},
		{"alice.hub.example.com:8443", "alice", true},
		{"ALICE.hub.example.com", "alice", true},
		{"alice.hub.example.com.", "alice", true},
		{"alice.hub.example.com:1234", "alice", true}, // the port does not count
		{"a.b.hub.example.com", "", true},
		{"xn--nxa.hub.example.com", "", true},
		{"-x.hub.example.com", "", true},
	}
	for _, tt := range tests {
		owner, under := s.OwnerOf(tt.host)
		if owner != tt.owner || under != tt.under {
			t.Errorf("OwnerOf(%q) = %q, %v; want %q, %v", tt.host, owner, under, tt.owner, tt.under)
		}
	}
}

// TestHandoffCodes: a code is good once, for a minute, for the origin,
// owner and state it was issued for; the state must be this browser's.
func TestHandoffCodes(t *testing.T) {
	ctx := context.Background()
	gdb := dbtest.Open(t, "sqlite")
	pw, _ := NewPasswords(bcrypt.MinCost)
	key := make([]byte, 32)
	rand.Read(key)
	sessions := NewSessions(key, time.Hour)
	now := time.Now()
	sessions.now = func() time.Time { return now }
	sd, _ := ParseSubdomains("hub.test")
	a := NewAuthenticator(NewStore(gdb), pw, sessions, Options{Subdomains: sd})
	up := NewUserPath(a, ScopeAccessServers, "server", nil)
	login := map[string]*http.Cookie{}
	for _, n := range []string{"alice", "bob"} {
		u, err := a.Store.CreateUser(ctx, n, false, "")
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		a.StartSession(rec, httptest.NewRequest("POST", "/hub/login", nil), u)
		for _, c := range rec.Result().Cookies() {
			if c.Name == SessionCookie {
				login[n] = c
			}
		}
	}
	// code has user ask for a code for owner's origin with state.
	code := func(user, owner, state string) string {
		t.Helper()
		q := url.Values{"client_id": {"jupyterhub-user-" + owner}, "redirect_uri": {"http://" + owner + ".hub.test/user/" + owner + "/oauth_callback"}, "response_type": {"code"}, "state": {state}}
		r := httptest.NewRequest("GET", "http://hub.test/hub/api/oauth2/authorize?"+q.Encode(), nil)
		r.AddCookie(login[user])
		loc, ref := up.Grant(httptest.NewRecorder(), r)
		if ref != nil {
			t.Fatalf("Grant for %s on %s: %+v", user, owner, *ref)
		}
		u, _ := url.Parse(loc)
		return u.Query().Get("code")
	}
	// callback redeems a code on owner's origin with the state cookie.
	callback := func(owner, code, state, cookieState string) (*http.Cookie, *Refusal) {
		t.Helper()
		r := httptest.NewRequest("GET", "http://"+owner+".hub.test/user/"+owner+"/oauth_callback?"+url.Values{"code": {code}, "state": {state}}.Encode(), nil)
		if cookieState != "" {
			r.AddCookie(&http.Cookie{Name: StateCookie, Value: cookieState})
		}
		w := httptest.NewRecorder()
		_, ref := up.Callback(w, r, owner)
		for _, c := range w.Result().Cookies() {
			if c.Name == ServerCookie && c.Value != "" {
				return c, ref
			}
		}
		return nil, ref
	}
	const state = "0123456789abcdefghij"
	refused := func(what string, c *http.Cookie, ref *Refusal, status int) {
		t.Helper()
		if c != nil || ref == nil || ref.Status != status {
			t.Errorf("%s: cookie %v, refusal %+v; want %d and no cookie", what, c != nil, ref, status)
		}
	}

	c := code("alice", "alice", state)
	if got, ref := callback("alice", c, state, state); got == nil || ref != nil {
		t.Fatalf("a fresh code: cookie %v, refusal %+v", got, ref)
	}
	got, ref := callback("alice", c, state, state)
	refused("the same code again", got, ref, http.StatusBadRequest)

	c = code("alice", "alice", state)
	now = now.Add(codeTTL)
	got, ref = callback("alice", c, state, state)
	refused("a code a minute old", got, ref, http.StatusBadRequest)

	c = code("bob", "bob", state)
	got, ref = callback("alice", c, state, state)
	refused("bob's code on alice's origin", got, ref, http.StatusForbidden)
	got, ref = callback("bob", c, state, state)
	refused("bob's code on his own origin, once tried elsewhere", got, ref, http.StatusBadRequest)

	c = code("alice", "alice", state)
	got, ref = callback("alice", c, state, "")
	refused("no state cookie", got, ref, http.StatusForbidden)
	got, ref = callback("alice", c, state, state)
	refused("the code after a try without the state cookie", got, ref, http.StatusBadRequest)

	c = code("alice", "alice", state)
	other := "abcdefghij0123456789"
	got, ref = callback("alice", c, other, other)
	refused("the code with another state", got, ref, http.StatusForbidden)

	// Bob may not have a code for alice's server at all.
	q := url.Values{"client_id": {"jupyterhub-user-alice"}, "redirect_uri": {"http://alice.hub.test/user/alice/oauth_callback"}, "response_type": {"code"}, "state": {state}}
	r := httptest.NewRequest("GET", "http://hub.test/hub/api/oauth2/authorize?"+q.Encode(), nil)
	r.AddCookie(login["bob"])
	if loc, ref := up.Grant(httptest.NewRecorder(), r); ref == nil || ref.Status != http.StatusNotFound {
		t.Errorf("bob asking for alice's code: %q %+v, want 404", loc, ref)
	}
}
