package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a", true}, {"0day", true}, {"a.b-c_d", true},
		{strings.Repeat("a", 30), true},
		{"", false}, {strings.Repeat("a", 31), false}, {"Alice", false},
		{"-a", false}, {".a", false}, {"_a", false}, {"a b", false},
		{"a/b", false}, {"ä", false}, {"a%", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Errorf("ValidateName(%q) error is %T, want *InputError", tt.name, err)
		}
	}
}

func TestRoleScopes(t *testing.T) {
	alice := &User{Name: "alice"}
	root := &User{Name: "root", Admin: true}
	tests := []struct {
		who         *User
		adminAccess bool
		scope, on   string
		want        bool
	}{
		{alice, false, ScopeReadUsers, "alice", true},
		{alice, false, ScopeReadUsersName, "alice", true},
		{alice, false, ScopeServers, "alice", true},
		{alice, false, ScopeDeleteServers, "alice", true},
		{alice, false, ScopeContents, "alice", true},
		{alice, false, ScopeReadTokens, "alice", true},
		{alice, false, ScopeReadUsers, "bob", false},
		{alice, false, ScopeListUsers, "", false},
		{alice, false, ScopeAdminUsers, "alice", false},
		{alice, false, ScopeReadHub, "", false},
		{root, false, ScopeListUsers, "", true},
		{root, false, ScopeAdminUsers, "bob", true},
		{root, false, ScopeDeleteServers, "bob", true},
		{root, false, ScopeAccessServers, "bob", false},
		{root, false, ScopeContents, "bob", false},
		{root, false, ScopeContents, "root", true},
		{root, true, ScopeAccessServers, "bob", true},
		{root, true, ScopeContents, "bob", true},
	}
	for _, tt := range tests {
		got := RoleScopes(tt.who, tt.adminAccess).Has(tt.scope, tt.on)
		if got != tt.want {
			t.Errorf("%s (admin-access %v) has %s on %q = %v, want %v", tt.who.Name, tt.adminAccess, tt.scope, tt.on, got, tt.want)
		}
	}
}

func TestGrantCutsTokenToOwner(t *testing.T) {
	alice := RoleScopes(&User{Name: "alice"}, false)
	root := RoleScopes(&User{Name: "root", Admin: true}, false)
	tests := []struct {
		name      string
		token     []string
		owner     Scopes
		ownerName string
		scope, on string
		want      bool
	}{
		{"inherit keeps all", []string{ScopeInherit}, alice, "alice", ScopeServers, "alice", true},
		{"no scopes keeps all", nil, root, "root", ScopeListUsers, "", true},
		{"narrow token", []string{ScopeReadUsers}, root, "root", ScopeServers, "bob", false},
		{"narrow token keeps its own", []string{ScopeReadUsers}, root, "root", ScopeReadUsersName, "bob", true},
		{"user asks unfiltered, gets own", []string{ScopeReadUsers}, alice, "alice", ScopeReadUsers, "alice", true},
		{"user asks unfiltered, not others", []string{ScopeReadUsers}, alice, "alice", ScopeReadUsers, "bob", false},
		{"filter kept", []string{"servers!user=bob"}, root, "root", ScopeServers, "bob", true},
		{"filter limits", []string{"servers!user=bob"}, root, "root", ScopeServers, "carol", false},
		{"user cannot gain admin", []string{ScopeAdminUsers}, alice, "alice", ScopeAdminUsers, "bob", false},
		{"self", []string{ScopeSelf}, root, "root", ScopeServers, "root", true},
		{"self is not admin", []string{ScopeSelf}, root, "root", ScopeServers, "bob", false},
		{"contents only", []string{ScopeContents}, alice, "alice", ScopeServers, "alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Grant(tt.token, tt.owner, tt.ownerName).Has(tt.scope, tt.on)
			if got != tt.want {
				t.Errorf("Grant(%v).Has(%s, %q) = %v, want %v", tt.token, tt.scope, tt.on, got, tt.want)
			}
		})
	}
}

func TestMissingAndParseScopes(t *testing.T) {
	alice := RoleScopes(&User{Name: "alice"}, false)
	if m := Missing([]string{ScopeReadUsers, ScopeContents, "servers!user=alice"}, alice, "alice"); m != "" {
		t.Errorf("alice may ask for her own scopes; Missing = %q", m)
	}
	if m := Missing([]string{ScopeListUsers}, alice, "alice"); m != ScopeListUsers {
		t.Errorf("Missing(list:users) = %q, want list:users", m)
	}
	if m := Missing([]string{"servers!user=bob"}, alice, "alice"); m != "servers!user=bob" {
		t.Errorf("Missing(servers!user=bob) = %q", m)
	}
	got, err := ParseScopes([]string{" servers ", "read:users", "servers", ""})
	if err != nil || !slices.Equal(got, []string{"read:users", "servers"}) {
		t.Errorf("ParseScopes = %v, %v", got, err)
	}
	for _, bad := range []string{"admin", "servers!group=X", "servers!server=alice/", "servers!user=Bob", "inherit!user=a"} {
		if _, err := ParseScopes([]string{bad}); err == nil {
			t.Errorf("ParseScopes(%q) accepted it", bad)
		}
	}
}

func TestSessionJWT(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	s := NewSessions(key, time.Hour)
	u := &User{ID: 7, Name: "alice", SessionGeneration: 3}
	tok, _, err := s.Issue(u, "sid1")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.Parse(tok)
	if err != nil || sess.UserID != 7 || sess.Generation != 3 || sess.ID != "sid1" {
		t.Fatalf("Parse = %+v, %v", sess, err)
	}

	claims := jwt.MapClaims{"sub": "7", "jti": "sid1", "gen": 3, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	sign := func(m jwt.SigningMethod, k any, kid string) string {
		tk := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tk.Header["kid"] = kid
		}
		out, err := tk.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	other := make([]byte, 32)
	rand.Read(other)
	expired := NewSessions(key, -time.Minute)
	expiredTok, _, _ := expired.Issue(u, "sid1")
	parts := strings.Split(tok, ".")
	bad := map[string]string{
		"empty":     "",
		"garbage":   "not.a.jwt",
		"tampered":  parts[0] + "." + parts[1] + "x." + parts[2],
		"bad sig":   parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.kid),
		"HS384":     sign(jwt.SigningMethodHS384, key, s.kid),
		"HS512":     sign(jwt.SigningMethodHS512, key, s.kid),
		"RS256":     sign(jwt.SigningMethodRS256, rsaKey, s.kid),
		"other key": sign(jwt.SigningMethodHS256, other, s.kid),
		"no kid":    sign(jwt.SigningMethodHS256, key, ""),
		"wrong kid": sign(jwt.SigningMethodHS256, key, "0011223344556677"),
		"expired":   expiredTok,
		"no exp claim": func() string {
			delete(claims, "exp")
			defer func() { claims["exp"] = time.Now().Add(time.Hour).Unix() }()
			return sign(jwt.SigningMethodHS256, key, s.kid)
		}(),
	}
	for name, tk := range bad {
		if _, err := s.Parse(tk); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: Parse = %v, want ErrUnauthenticated", name, err)
		}
	}
	if good := sign(jwt.SigningMethodHS256, key, s.kid); func() error { _, err := s.Parse(good); return err }() != nil {
		t.Error("a well-formed HS256 token with our kid was refused")
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottle(3, time.Minute, 30*time.Second, 2*time.Minute)
	th.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if d := th.Fail("k"); d != 0 {
			t.Fatalf("failure %d locked for %v; the first 3 are free", i+1, d)
		}
	}
	if d := th.Fail("k"); d != 30*time.Second {
		t.Fatalf("4th failure locked for %v, want 30s", d)
	}
	if d := th.Wait("k"); d != 30*time.Second {
		t.Fatalf("Wait = %v, want 30s", d)
	}
	if d := th.Fail("k"); d != time.Minute {
		t.Fatalf("5th failure locked for %v, want 1m", d)
	}
	th.Fail("k")
	if d := th.Fail("k"); d != 2*time.Minute {
		t.Fatalf("lockout grew to %v, want capped at 2m", d)
	}
	if th.Wait("other") != 0 {
		t.Fatal("an unrelated key is locked")
	}
	now = now.Add(3 * time.Minute)
	if th.Wait("k") != 0 {
		t.Fatal("still locked after the lockout")
	}
	if d := th.Fail("k"); d != 0 {
		t.Fatalf("after a quiet window a failure locked for %v", d)
	}
	th.Reset("k")
	if th.Wait("k") != 0 {
		t.Fatal("locked after Reset")
	}
}

// TestLoginThrottleCountsPerAddress: failures count per account and
// address, and per address; a run of them locks out that address only,
// so the owner logs in from anywhere else, and an IPv6 client counts by
// its /64 (it cannot take a fresh address per guess).
func TestLoginThrottleCountsPerAddress(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, dbtest.Open(t, "sqlite"), false)
	hash, err := a.Passwords.Hash("the right password")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin", "bob"} {
		if _, err := a.Store.CreateUser(ctx, name, name == "admin", hash); err != nil {
			t.Fatal(err)
		}
	}
	login := func(name, password, addr string) error {
		_, err := a.Login(ctx, name, password, netip.MustParseAddr(addr))
		return err
	}
	throttled := func(err error) bool {
		var te *ThrottledError
		return errors.As(err, &te)
	}
	attacker := "203.0.113.7"
	for i := 0; i < 5; i++ {
		if err := login("admin", "guess", attacker); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d = %v, want a wrong password", i+1, err)
		}
	}
	if err := login("admin", "guess", attacker); !throttled(err) {
		t.Fatalf("6th guess from one address = %v, want throttled", err)
	}
	if err := login("admin", "the right password", attacker); !throttled(err) {
		t.Fatalf("the right password from the guessing address = %v, want throttled", err)
	}
	if err := login("admin", "the right password", "198.51.100.1"); err != nil {
		t.Fatalf("the owner from another address = %v, want in", err)
	}
	if err := login("bob", "the right password", attacker); err != nil {
		t.Fatalf("another account from that address, under the per-address limit = %v", err)
	}

	// Spraying: one wrong password at each of many accounts.
	sprayer := "192.0.2.9"
	for i := 0; i < 21 && !throttled(err); i++ {
		err = login(fmt.Sprintf("user%d", i), "guess", sprayer)
	}
	if !throttled(err) {
		t.Fatalf("21 accounts guessed from one address: %v, want throttled", err)
	}
	if err := login("bob", "the right password", sprayer); !throttled(err) {
		t.Fatalf("right password from the spraying address = %v, want throttled", err)
	}

	// IPv6: one /64 is one client; the next /64 is another.
	for i := 0; i < 6; i++ {
		login("admin", "guess", fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if err := login("admin", "the right password", "2001:db8:1:2:ffff::1"); !throttled(err) {
		t.Fatalf("the same /64 = %v, want throttled", err)
	}
	if err := login("admin", "the right password", "2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64 = %v, want in", err)
	}
}

func newTestAuth(t *testing.T, gdb *gorm.DB, adminAccess bool) *Authenticator {
	t.Helper()
	return newTestAuthWith(t, gdb, Options{AdminAccess: adminAccess})
}

// newTestAuthWith is an authenticator over gdb with opts, a session key
// of its own and the cheapest bcrypt cost.
func newTestAuthWith(t *testing.T, gdb *gorm.DB, opts Options) *Authenticator {
	t.Helper()
	pw, err := NewPasswords(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	return NewAuthenticator(NewStore(gdb), pw, NewSessions(key, time.Hour), opts)
}

func TestUsersAndTokensOnEveryDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		a := newTestAuth(t, gdb, false)
		st := a.Store
		hash, _ := a.Passwords.Hash("correct horse")
		alice, err := st.CreateUser(ctx, "alice", false, hash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUser(ctx, "alice", true, ""); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate CreateUser = %v, want ErrExists", err)
		}
		if _, err := st.CreateUser(ctx, "Bad Name", false, ""); err == nil {
			t.Fatal("CreateUser accepted an invalid name")
		}
		created, err := st.CreateUsers(ctx, []string{"bob", "alice", "carol", "bob"}, false)
		if err != nil || len(created) != 2 {
			t.Fatalf("CreateUsers = %d users, %v; want bob and carol", len(created), err)
		}
		users, total, err := st.ListUsers(ctx, UserQuery{Limit: 2, Order: "-name"})
		if err != nil || total != 3 || len(users) != 2 || users[0].Name != "carol" {
			t.Fatalf("ListUsers = %v, %d, %v", users, total, err)
		}
		if _, _, err := st.ListUsers(ctx, UserQuery{Order: "password_hash"}); err == nil {
			t.Fatal("ListUsers sorted by an unknown column")
		}
		users, total, _ = st.ListUsers(ctx, UserQuery{NameFilter: "b"})
		if total != 1 || users[0].Name != "bob" {
			t.Fatalf("name filter b: %v", users)
		}
		if _, total, _ := st.ListUsers(ctx, UserQuery{NameFilter: "%"}); total != 0 {
			t.Fatalf("name filter %% matched %d users; wildcards must be literal", total)
		}

		if u, err := a.Login(ctx, "alice", "correct horse", netip.MustParseAddr("1.2.3.4")); err != nil || u.ID != alice.ID {
			t.Fatalf("Login = %v, %v", u, err)
		}
		if _, err := a.Login(ctx, "alice", "wrong", netip.MustParseAddr("1.2.3.4")); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := a.Login(ctx, "nobody", "wrong", netip.MustParseAddr("1.2.3.4")); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("unknown user: %v", err)
		}

		tok, secret, err := st.CreateToken(ctx, alice.ID, NewToken{Note: "ci", Scopes: []string{ScopeReadUsers}, ExpiresIn: time.Hour})
		if err != nil || len(secret) != 64 {
			t.Fatalf("CreateToken = %v, %q, %v", tok, secret, err)
		}
		got, owner, err := st.LookupToken(ctx, secret)
		if err != nil || got.ID != tok.ID || owner.Name != "alice" || got.LastActivity == nil {
			t.Fatalf("LookupToken = %+v, %v, %v", got, owner, err)
		}
		if !slices.Equal(got.Scopes, []string{ScopeReadUsers}) {
			t.Errorf("scopes = %v", got.Scopes)
		}
		var stored Token
		gdb.Where("id = ?", tok.ID).Take(&stored)
		if strings.Contains(stored.Hash, secret) || stored.Hash != HashToken(secret) {
			t.Error("the token is not stored as its SHA-256")
		}
		if _, _, err := st.LookupToken(ctx, strings.Repeat("0", 64)); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("bogus token: %v", err)
		}
		_, expSecret, _ := st.CreateToken(ctx, alice.ID, NewToken{ExpiresIn: time.Microsecond})
		time.Sleep(2 * time.Millisecond)
		if _, _, err := st.LookupToken(ctx, expSecret); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
		list, _ := st.Tokens(ctx, alice.ID, "")
		if len(list) != 1 {
			t.Errorf("Tokens listed %d, want 1 (the expired one purged)", len(list))
		}
		if err := st.DeleteToken(ctx, alice.ID, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.LookupToken(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("deleted token: %v", err)
		}

		// Deleting the user deletes their tokens by the foreign key.
		_, s2, _ := st.CreateToken(ctx, alice.ID, NewToken{})
		if err := st.DeleteUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		var n int64
		gdb.Model(&Token{}).Where("user_id = ?", alice.ID).Count(&n)
		if n != 0 {
			t.Errorf("%d tokens outlived their user", n)
		}
		if _, _, err := st.LookupToken(ctx, s2); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("token of a deleted user: %v", err)
		}
		if err := st.DeleteUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}

func TestSessionCookieRevocation(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	a := newTestAuth(t, gdb, false)
	u, _ := a.Store.CreateUser(ctx, "alice", false, "")

	login := httptest.NewRecorder()
	if err := a.StartSession(login, httptest.NewRequest("POST", "/hub/login", nil), u); err != nil {
		t.Fatal(err)
	}
	cookies := login.Result().Cookies()
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/hub/api/user", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	p, err := a.Authenticate(httptest.NewRecorder(), req())
	if err != nil || p.User.Name != "alice" || !p.ViaCookie() {
		t.Fatalf("Authenticate = %v, %v", p, err)
	}
	for _, c := range cookies {
		if c.Name == SessionCookie && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/") {
			t.Errorf("session cookie flags: %+v", c)
		}
		if c.Name == XSRFCookie && (c.Value != a.Sessions.XSRF(p.SessionID) || c.Path != "/hub/") {
			t.Errorf("xsrf cookie: %+v", c)
		}
	}
	if err := a.Store.RevokeSessions(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(httptest.NewRecorder(), req()); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after RevokeSessions: %v", err)
	}
}

func TestXSRFChecks(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	a := newTestAuth(t, gdb, false)
	p := &Principal{User: &User{Name: "alice"}, SessionID: "s1"}
	good := a.Sessions.XSRF("s1")
	tests := []struct {
		name    string
		method  string
		header  map[string]string
		cookies map[string]string
		hubOK   bool
		userOK  bool
	}{
		{"GET needs nothing", "GET", nil, nil, true, true},
		{"bound token", "POST", map[string]string{XSRFHeader: good}, nil, true, false},
		{"bound token with cookie", "POST", map[string]string{XSRFHeader: good}, map[string]string{XSRFCookie: good}, true, true},
		{"planted cookie", "POST", map[string]string{XSRFHeader: "planted"}, map[string]string{XSRFCookie: "planted"}, false, true},
		{"no header", "DELETE", nil, map[string]string{XSRFCookie: good}, false, false},
		{"cross-site origin", "POST", map[string]string{XSRFHeader: good, "Origin": "https://evil.example"}, map[string]string{XSRFCookie: good}, false, false},
		{"cross-site referer", "POST", map[string]string{XSRFHeader: good, "Referer": "https://evil.example/x"}, map[string]string{XSRFCookie: good}, false, false},
		{"same-site origin", "POST", map[string]string{XSRFHeader: good, "Origin": "http://example.com"}, map[string]string{XSRFCookie: good}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://example.com/x", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			for k, v := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			if err := a.CheckHubXSRF(r, p); (err == nil) != tt.hubOK {
				t.Errorf("CheckHubXSRF = %v, want ok=%v", err, tt.hubOK)
			}
			if err := a.CheckUserXSRF(r, p); (err == nil) != tt.userOK {
				t.Errorf("CheckUserXSRF = %v, want ok=%v", err, tt.userOK)
			}
		})
	}
	// A token-authenticated write needs no XSRF token.
	r := httptest.NewRequest("POST", "/x", nil)
	if err := a.CheckHubXSRF(r, &Principal{Token: &Token{}}); err != nil {
		t.Errorf("token request: %v", err)
	}
}

func TestProxies(t *testing.T) {
	ps, err := ParseProxies([]string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"nonsense"}); err == nil {
		t.Error("ParseProxies accepted nonsense")
	}
	tests := []struct {
		remote, xff, proto string
		wantAddr           string
		wantHTTPS          bool
	}{
		{"203.0.113.5:1234", "1.1.1.1", "https", "203.0.113.5", false},
		{"127.0.0.1:1234", "1.1.1.1", "https", "1.1.1.1", true},
		{"127.0.0.1:1234", "1.1.1.1, 10.1.2.3", "http", "1.1.1.1", false},
		{"127.0.0.1:1234", "", "", "127.0.0.1", false},
		{"127.0.0.1:1234", "garbage", "", "127.0.0.1", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		r.Header.Set("X-Forwarded-Proto", tt.proto)
		if got := ps.ClientAddr(r).String(); got != tt.wantAddr {
			t.Errorf("%s xff %q: ClientAddr = %s, want %s", tt.remote, tt.xff, got, tt.wantAddr)
		}
		if got := ps.IsHTTPS(r); got != tt.wantHTTPS {
			t.Errorf("%s proto %q: IsHTTPS = %v, want %v", tt.remote, tt.proto, got, tt.wantHTTPS)
		}
	}
}

func TestSessionRefreshedWhileInUse(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	a := newTestAuth(t, gdb, false)
	u, _ := a.Store.CreateUser(context.Background(), "alice", false, "")
	now := time.Now()
	a.Sessions.now = func() time.Time { return now }
	tok, exp, _ := a.Sessions.Issue(u, "sid")
	call := func() *http.Cookie {
		t.Helper()
		r := httptest.NewRequest("GET", "/hub/api/user", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: tok})
		w := httptest.NewRecorder()
		if _, err := a.Authenticate(w, r); err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == SessionCookie {
				return c
			}
		}
		return nil
	}
	if c := call(); c != nil {
		t.Fatal("a fresh session was reissued")
	}
	now = now.Add(20 * time.Minute) // past a quarter of the hour
	c := call()
	if c == nil {
		t.Fatal("a session in use past a quarter of its life was not refreshed")
	}
	sess, err := a.Sessions.Parse(c.Value)
	if err != nil || sess.ID != "sid" || !sess.ExpiresAt.After(exp) {
		t.Fatalf("refreshed session = %+v, %v; want the same id and a later expiry", sess, err)
	}
	now = now.Add(2 * time.Hour)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
	if _, err := a.Authenticate(httptest.NewRecorder(), r); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a session left alone past its expiry: %v", err)
	}
}

func TestSecureCookieBehindTrustedProxy(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	a := newTestAuth(t, gdb, false)
	ps, _ := ParseProxies([]string{"192.0.2.1"})
	a.opts.Proxies = ps
	u, _ := a.Store.CreateUser(context.Background(), "alice", false, "")
	for _, tt := range []struct {
		remote string
		secure bool
	}{{"192.0.2.1:5000", true}, {"198.51.100.7:5000", false}} {
		r := httptest.NewRequest("POST", "/hub/login", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		a.StartSession(w, r, u)
		for _, c := range w.Result().Cookies() {
			if c.Secure != tt.secure {
				t.Errorf("from %s: cookie %s Secure = %v, want %v", tt.remote, c.Name, c.Secure, tt.secure)
			}
		}
	}
}

func TestLookupCache(t *testing.T) {
	gdb := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	a := newTestAuth(t, gdb, false)
	now := time.Now()
	a.cache.now = func() time.Time { return now }
	u, _ := a.Store.CreateUser(ctx, "alice", false, "")
	tok, secret, _ := a.Store.CreateToken(ctx, u.ID, NewToken{})
	call := func() error {
		r := httptest.NewRequest("GET", "/hub/api/user", nil)
		r.Header.Set("Authorization", "token "+secret)
		_, err := a.Authenticate(nil, r)
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	// Behind the store's back (as another process would), the token goes:
	// the cache still answers until it expires.
	gdb.Exec("DELETE FROM hub_tokens WHERE id = ?", tok.ID)
	if err := call(); err != nil {
		t.Fatalf("cached token refused: %v", err)
	}
	now = now.Add(cacheTTL + time.Second)
	if err := call(); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after the cache expired: %v", err)
	}
	// Through the store, a change is seen at once.
	_, secret2, _ := a.Store.CreateToken(ctx, u.ID, NewToken{})
	secret = secret2
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.UpdateUser(ctx, "alice", UserChange{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := call(); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a disabled user's cached token: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestListUsersReadsLastActivity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		u, _ := st.CreateUser(ctx, "alice", true, "secret-hash")
		st.CreateUser(ctx, "bob", false, "")
		when := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
		if err := st.TouchUsers(ctx, map[int64]time.Time{u.ID: when}); err != nil {
			t.Fatal(err)
		}
		users, total, err := st.ListUsers(ctx, UserQuery{Order: "name"})
		if err != nil || total != 2 || len(users) != 2 {
			t.Fatalf("ListUsers = %v, %d, %v", users, total, err)
		}
		a, b := users[0], users[1]
		if a.Name != "alice" || !a.Admin || a.LastActivity == nil || !a.LastActivity.Equal(when) || a.PasswordHash != "" {
			t.Errorf("alice = %+v (last activity %v); want admin, %v, and no password hash read", a, a.LastActivity, when)
		}
		if b.LastActivity != nil || b.CreatedAt.IsZero() {
			t.Errorf("bob = %+v", b)
		}
	})
}

// TestKeepAnAdmin: the last enabled admin cannot be taken away; a
// disabled admin does not count, and is no one's last admin.
func TestKeepAnAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		root, _ := st.CreateUser(ctx, "root", true, "")
		alice, _ := st.CreateUser(ctx, "alice", false, "")
		old, _ := st.CreateUser(ctx, "old", true, "")
		yes := true
		if _, err := st.UpdateUser(ctx, "old", UserChange{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		old, _ = st.UserByName(ctx, old.Name)
		var ie *InputError
		for _, tc := range []struct {
			u        *User
			refused  bool
			whyNamed string
		}{
			{root, true, "root is the last admin; make someone else an admin first"},
			{alice, false, ""},
			{old, false, ""},
		} {
			err := st.KeepAnAdmin(ctx, tc.u)
			if !tc.refused && err != nil {
				t.Errorf("KeepAnAdmin(%s) = %v, want nil", tc.u.Name, err)
			}
			if tc.refused && (!errors.As(err, &ie) || ie.Msg != tc.whyNamed) {
				t.Errorf("KeepAnAdmin(%s) = %v, want the input error %q", tc.u.Name, err, tc.whyNamed)
			}
		}
		if _, err := st.CreateUser(ctx, "boss", true, ""); err != nil {
			t.Fatal(err)
		}
		if err := st.KeepAnAdmin(ctx, root); err != nil {
			t.Errorf("with a second admin, KeepAnAdmin(root) = %v", err)
		}
	})
}

// TestNames: users' names by id, in one call; ids of no user are left
// out.
func TestNames(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		alice, _ := st.CreateUser(ctx, "alice", false, "")
		bob, _ := st.CreateUser(ctx, "bob", false, "")
		got, err := st.Names(ctx, []int64{bob.ID, alice.ID, alice.ID + bob.ID + 100})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int64]string{alice.ID: "alice", bob.ID: "bob"}; !maps.Equal(got, want) {
			t.Errorf("Names = %v, want %v", got, want)
		}
		if got, err := st.Names(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("Names(nil) = %v, %v; want none", got, err)
		}
	})
}
