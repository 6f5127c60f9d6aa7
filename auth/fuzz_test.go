package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// fuzzNow is the clock of the fuzzed Sessions, so seeds stay valid.
var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzSessions() *Sessions {
	key := []byte("0123456789abcdef0123456789abcdef")
	s := NewSessions(key, time.Hour)
	s.now = func() time.Time { return fuzzNow }
	return s
}

// signedBy reports whether tok is a JWT whose header says HS256 with our
// kid and whose signature is the HMAC of its first two parts under key:
// a token only the hub could have made.
func signedBy(s *Sessions, tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != "HS256" || h.Kid != s.kid {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, mac.Sum(nil))
}

// sessionSeeds are tokens near the edge: genuine, expired, other
// algorithms and keys, no kid, tampered.
func sessionSeeds(tb testing.TB, s *Sessions) []string {
	u := &User{ID: 7, Name: "alice", SessionGeneration: 2}
	good, _, err := s.Issue(u, "sid")
	if err != nil {
		tb.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
		tk := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tk.Header["kid"] = kid
		}
		out, err := tk.SignedString(key)
		if err != nil {
			tb.Fatal(err)
		}
		return out
	}
	now := fuzzNow.Unix()
	claims := jwt.MapClaims{"sub": "7", "jti": "sid", "gen": 2, "iat": now, "exp": now + 60}
	parts := strings.Split(good, ".")
	return []string{
		good, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		parts[0] + ".e30." + parts[2],
		sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.kid, claims),
		sign(jwt.SigningMethodHS384, s.key, s.kid, claims),
		sign(jwt.SigningMethodHS256, []byte("another key of thirty-two bytes!"), s.kid, claims),
		sign(jwt.SigningMethodHS256, s.key, "", claims),
		sign(jwt.SigningMethodHS256, s.key, s.kid, jwt.MapClaims{"sub": "7", "jti": "sid", "iat": now, "exp": now - 1}),
		sign(jwt.SigningMethodHS256, s.key, s.kid, jwt.MapClaims{"sub": "x", "jti": "sid", "iat": now, "exp": now + 60}),
		sign(jwt.SigningMethodHS256, s.key, s.kid, jwt.MapClaims{"sub": "7", "jti": "sid", "iat": now + 3600, "exp": now + 7200}),
	}
}

// FuzzSessionParse: Parse accepts a token only when the hub's key signed
// it with HS256 under its kid, and what it returns holds: an id, an
// expiry still ahead.
func FuzzSessionParse(f *testing.F) {
	s := fuzzSessions()
	for _, tok := range sessionSeeds(f, s) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		sess, err := s.Parse(tok)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Parse(%q) = %v, want ErrUnauthenticated", tok, err)
			}
			return
		}
		if !signedBy(s, tok) {
			t.Fatalf("Parse accepted %q, which the hub's key did not sign", tok)
		}
		if sess.ID == "" || !sess.ExpiresAt.After(fuzzNow) || sess.IssuedAt.After(fuzzNow) {
			t.Fatalf("Parse(%q) = %+v: no id, expired or issued in the future", tok, sess)
		}
	})
}

// FuzzSessionClaims signs any header and claims with the hub's own key,
// so only Parse's checks stand between them and a session: it must
// still refuse another algorithm, another kid, a missing or past expiry,
// an issue time ahead, a subject that is not a user id, and no id.
func FuzzSessionClaims(f *testing.F) {
	s := fuzzSessions()
	now := strconv.FormatInt(fuzzNow.Unix(), 10)
	later := strconv.FormatInt(fuzzNow.Unix()+60, 10)
	head := `{"alg":"HS256","kid":"` + s.kid + `","typ":"JWT"}`
	for _, seed := range [][2]string{
		{head, `{"sub":"7","jti":"s","iat":` + now + `,"exp":` + later + `}`},
		{head, `{"sub":"7","jti":"s","iat":` + now + `}`},
		{head, `{"sub":"7","jti":"","iat":` + now + `,"exp":` + later + `}`},
		{head, `{"sub":"-1","jti":"s","exp":` + later + `}`},
		{head, `{"sub":7,"jti":"s","iat":` + now + `,"exp":` + later + `}`},
		{head, `{"sub":"7","jti":"s","iat":"` + now + `","exp":"` + later + `"}`},
		{head, `{"sub":"7","jti":"s","iat":` + now + `,"exp":1e300,"nbf":` + later + `}`},
		{`{"alg":"none","kid":"` + s.kid + `"}`, `{"sub":"7","jti":"s","iat":` + now + `,"exp":` + later + `}`},
		{`{"alg":"hs256","kid":"` + s.kid + `"}`, `{"sub":"7","jti":"s","iat":` + now + `,"exp":` + later + `}`},
		{`{"alg":"HS256","kid":["` + s.kid + `"]}`, `{"sub":"7","jti":"s","iat":` + now + `,"exp":` + later + `}`},
		{`{"alg":"HS256","alg":"HS384","kid":"` + s.kid + `"}`, `{"sub":"7","jti":"s","iat":` + now + `,"exp":` + later + `}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
		mac := hmac.New(sha256.New, s.key)
		mac.Write([]byte(signing))
		tok := signing + "." + enc.EncodeToString(mac.Sum(nil))
		sess, err := s.Parse(tok)
		if err != nil {
			return
		}
		var h map[string]any
		if json.Unmarshal([]byte(header), &h) != nil || h["alg"] != "HS256" || h["kid"] != s.kid {
			t.Fatalf("Parse accepted the header %s", header)
		}
		var c struct {
			Sub string          `json:"sub"`
			Jti string          `json:"jti"`
			Exp jwt.NumericDate `json:"exp"`
			Iat jwt.NumericDate `json:"iat"`
		}
		if err := json.Unmarshal([]byte(payload), &c); err != nil {
			t.Fatalf("Parse accepted claims Go cannot read (%v): %s", err, payload)
		}
		uid, err := strconv.ParseInt(c.Sub, 10, 64)
		if err != nil || uid != sess.UserID || c.Jti == "" || c.Jti != sess.ID {
			t.Fatalf("Parse(%s) = %+v: subject or id do not match", payload, sess)
		}
		if !c.Exp.After(fuzzNow) || c.Iat.After(fuzzNow) {
			t.Fatalf("Parse accepted exp %v, iat %v at %v", c.Exp, c.Iat, fuzzNow)
		}
	})
}

// FuzzAuthenticate sends any Cookie and Authorization headers. Only
// alice's genuine session cookie or her token may be let in; bob's
// session from before his sessions were revoked, and carol's (disabled)
// never.
func FuzzAuthenticate(f *testing.F) {
	gdb := dbtest.Open(f, "sqlite")
	pw, err := NewPasswords(bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	a := NewAuthenticator(NewStore(gdb), pw, fuzzSessions(), Options{})
	ctx := context.Background()
	var cookies []string
	for _, name := range []string{"alice", "bob", "carol"} {
		u, err := a.Store.CreateUser(ctx, name, false, "")
		if err != nil {
			f.Fatal(err)
		}
		tok, _, err := a.Sessions.Issue(u, "sid-"+name)
		if err != nil {
			f.Fatal(err)
		}
		cookies = append(cookies, tok)
	}
	if err := a.Store.RevokeSessions(ctx, "bob"); err != nil {
		f.Fatal(err)
	}
	if _, err := a.Store.UpdateUser(ctx, "carol", UserChange{Disabled: new(true)}); err != nil {
		f.Fatal(err)
	}
	alice, err := a.Store.UserByName(ctx, "alice")
	if err != nil {
		f.Fatal(err)
	}
	_, secret, err := a.Store.CreateToken(ctx, alice.ID, NewToken{})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cookies {
		f.Add(SessionCookie+"="+c, "")
		f.Add(SessionCookie+"=x; "+SessionCookie+"="+c, "")
	}
	for _, h := range []string{"token " + secret, "Bearer " + secret, "bearer  " + secret + " ", "token " + strings.ToUpper(secret), "Basic " + secret, "token", "token " + secret[:63]} {
		f.Add("", h)
		f.Add(SessionCookie+"="+cookies[0], h)
	}
	f.Fuzz(func(t *testing.T, cookie, authz string) {
		r := httptest.NewRequest(http.MethodGet, "/hub/api/user", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		p, err := a.Authenticate(httptest.NewRecorder(), r)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Authenticate(cookie %q, authorization %q) = %v, want ErrUnauthenticated", cookie, authz, err)
			}
			return
		}
		if p.User.Name != "alice" {
			t.Fatalf("Authenticate(cookie %q, authorization %q) let %s in", cookie, authz, p.User.Name)
		}
		if r.Header.Get("Authorization") != "" {
			_, given, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if strings.TrimSpace(given) != secret {
				t.Fatalf("Authorization %q accepted, which is not alice's token", authz)
			}
			return
		}
		c, err := r.Cookie(SessionCookie)
		if err != nil || !signedBy(a.Sessions, c.Value) {
			t.Fatalf("Cookie %q accepted without a session the hub signed", cookie)
		}
	})
}

// FuzzProxies: X-Forwarded-* count only from a trusted peer. From anyone
// else the client is the peer, the scheme is the connection's and the
// host is Host; from a trusted proxy the client is an untrusted address
// the headers name (or the peer), never a trusted proxy's.
func FuzzProxies(f *testing.F) {
	ps, err := ParseProxies([]string{"10.0.0.0/8", "::1", "192.168.1.1"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][5]string{
		{"10.1.2.3:5000", "1.2.3.4", "https", "hub.example", "internal:8000"},
		{"10.1.2.3:5000", "1.2.3.4, 10.0.0.9", "HTTPS, http", " hub.example , x", "h"},
		{"[::1]:5000", "9.9.9.9,::ffff:10.0.0.1", "http", "", "h"},
		{"[::ffff:10.0.0.1]:1", "garbage, 5.6.7.8", "https", "evil.example", "h"},
		{"8.8.8.8:1", "1.2.3.4", "https", "evil.example", "hub.example"},
		{"10.0.0.1:1", "10.0.0.2, 192.168.1.1", "", "", "h"},
		{"10.0.0.1", "[2001:db8::1]", "https", "", "h"},
		{"not an address", "1.2.3.4", "https", "evil", "h"},
		{"10.0.0.1:1", "fe80::1%eth0", "https", "", "h"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], false)
	}
	f.Fuzz(func(t *testing.T, peer, xff, proto, xfh, host string, overTLS bool) {
		r := &http.Request{RemoteAddr: peer, Host: host, Header: http.Header{}}
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Forwarded-Proto", proto)
		r.Header.Set("X-Forwarded-Host", xfh)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		peerAddr := remoteAddr(r)
		client := ps.ClientAddr(r)
		https := ps.IsHTTPS(r)
		gotHost := ps.Host(r)
		if overTLS && !https {
			t.Fatalf("a TLS connection is not HTTPS")
		}
		if !ps.FromTrusted(r) {
			if client != peerAddr || https != overTLS || gotHost != host {
				t.Fatalf("untrusted peer %q: client %v, https %v, host %q; want %v, %v, %q", peer, client, https, gotHost, peerAddr, overTLS, host)
			}
			return
		}
		if client != peerAddr {
			if ps.trusts(client) {
				t.Fatalf("client %v is a trusted proxy (peer %q, X-Forwarded-For %q)", client, peer, xff)
			}
			if !namedIn(client, xff) {
				t.Fatalf("client %v is not in X-Forwarded-For %q", client, xff)
			}
		}
		if gotHost != host && !strings.Contains(xfh, gotHost) {
			t.Fatalf("host %q is neither Host %q nor from X-Forwarded-Host %q", gotHost, host, xfh)
		}
		if https && !overTLS && !strings.Contains(strings.ToLower(proto), "https") {
			t.Fatalf("HTTPS without TLS or X-Forwarded-Proto https (%q)", proto)
		}
	})
}

func namedIn(a netip.Addr, xff string) bool {
	for _, hop := range strings.Split(xff, ",") {
		if b, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && b.Unmap() == a {
			return true
		}
	}
	return false
}
