package auth

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// BenchmarkAuthenticate is the check every proxied request and API call
// makes: an API token in the Authorization header, and a browser's
// session cookie, each after its first lookup (then cached).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	pw, err := NewPasswords(bcrypt.MinCost)
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	a := NewAuthenticator(NewStore(dbtest.Open(b, "sqlite")), pw, NewSessions(key, time.Hour), Options{})
	alice, err := a.Store.CreateUser(ctx, "alice", false, "")
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := a.Store.CreateToken(ctx, alice.ID, NewToken{ExpiresIn: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	cookie, _, err := a.Sessions.Issue(alice, "sid")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(r *http.Request)
	}{
		{"token", func(r *http.Request) { r.Header.Set("Authorization", "token "+secret) }},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie}) }},
	} {
		r := httptest.NewRequest("GET", "/user/alice/api/status", nil)
		tc.set(r)
		w := httptest.NewRecorder()
		if _, err := a.Authenticate(w, r); err != nil {
			b.Fatalf("%s: %v", tc.name, err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Authenticate(w, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
