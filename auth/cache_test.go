package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// cacheFixture is a user (an admin) with an API token, a server token
// and a browser session, all looked up once so the cache holds them.
type cacheFixture struct {
	a       *Authenticator
	user    *User
	api     *Token
	secrets map[string]string // by kind
	cookies []*http.Cookie
}

func newCacheFixture(t *testing.T, gdb *gorm.DB, name string) *cacheFixture {
	t.Helper()
	ctx := context.Background()
	a := newTestAuth(t, gdb, false)
	now := time.Now()
	a.cache.now = func() time.Time { return now } // the cache never expires on its own
	fx := &cacheFixture{a: a, secrets: map[string]string{}}
	var err error
	if fx.user, err = a.Store.CreateUser(ctx, name, true, ""); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{KindAPIToken, KindServer} {
		tok, secret, err := a.Store.CreateToken(ctx, fx.user.ID, NewToken{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		fx.secrets[kind] = secret
		if kind == KindAPIToken {
			fx.api = tok
		}
	}
	w := httptest.NewRecorder()
	if err := a.StartSession(w, httptest.NewRequest("POST", "/hub/login", nil), fx.user); err != nil {
		t.Fatal(err)
	}
	fx.cookies = w.Result().Cookies()
	for _, via := range []string{KindAPIToken, KindServer, "cookie"} {
		if _, err := fx.who(via); err != nil {
			t.Fatalf("%s before any change: %v", via, err)
		}
	}
	return fx
}

// who authenticates as the user by a token of a kind, or by "cookie".
func (fx *cacheFixture) who(via string) (*Principal, error) {
	r := httptest.NewRequest("GET", "/hub/api/user", nil)
	if via == "cookie" {
		for _, c := range fx.cookies {
			r.AddCookie(c)
		}
	} else {
		r.Header.Set("Authorization", "token "+fx.secrets[via])
	}
	return fx.a.Authenticate(nil, r)
}

// TestStoreChangesAreSeenAtOnce: a change made through the store alone,
// no hub, is seen by the very next lookup, though the cache would keep
// the old answer for seconds: the store tells the cache itself.
func TestStoreChangesAreSeenAtOnce(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		change  func(ctx context.Context, st *Store, fx *cacheFixture) error
		refused []string // the credentials that stop working
		check   func(p *Principal) bool
	}{
		{"disabled", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			_, err := st.UpdateUser(ctx, fx.user.Name, UserChange{Disabled: &yes})
			return err
		}, []string{KindAPIToken, KindServer, "cookie"}, nil},
		{"deleted", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			return st.DeleteUser(ctx, fx.user.Name)
		}, []string{KindAPIToken, KindServer, "cookie"}, nil},
		{"new password", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			_, err := st.SetPasswordHash(ctx, fx.user.Name, "new-hash", false)
			return err
		}, []string{"cookie"}, nil},
		{"new password, tokens revoked", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			_, err := st.SetPasswordHash(ctx, fx.user.Name, "new-hash", true)
			return err
		}, []string{KindAPIToken, "cookie"}, nil},
		{"session logged out", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			p, err := fx.who("cookie")
			if err != nil {
				return err
			}
			return fx.a.EndSession(ctx, httptest.NewRecorder(), httptest.NewRequest("POST", "/hub/logout", nil), p)
		}, []string{"cookie"}, nil},
		{"sessions revoked", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			return st.RevokeSessions(ctx, fx.user.Name)
		}, []string{"cookie"}, nil},
		{"token deleted", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			return st.DeleteToken(ctx, fx.user.ID, fx.api.ID)
		}, []string{KindAPIToken}, nil},
		{"server tokens deleted", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			return st.DeleteTokens(ctx, fx.user.ID, KindServer)
		}, []string{KindServer}, nil},
		{"no longer an admin", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			_, err := st.UpdateUser(ctx, fx.user.Name, UserChange{Admin: &no})
			return err
		}, nil, func(p *Principal) bool { return !p.User.Admin && !p.Can(ScopeAdminUsers, "") }},
		{"renamed", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			n := fx.user.Name + "-new"
			_, err := st.UpdateUser(ctx, fx.user.Name, UserChange{Name: &n})
			return err
		}, nil, func(p *Principal) bool { return strings.HasSuffix(p.User.Name, "-new") }},
		{"in a transaction", func(ctx context.Context, st *Store, fx *cacheFixture) error {
			return st.Transaction(ctx, func(tx *Store) error {
				if err := tx.RevokeSessions(ctx, fx.user.Name); err != nil {
					return err
				}
				return tx.DeleteToken(ctx, fx.user.ID, fx.api.ID)
			})
		}, []string{KindAPIToken, "cookie"}, nil},
	}
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fx := newCacheFixture(t, gdb, fmt.Sprintf("user%d", i))
				if err := tt.change(context.Background(), fx.a.Store, fx); err != nil {
					t.Fatal(err)
				}
				for _, via := range []string{KindAPIToken, KindServer, "cookie"} {
					p, err := fx.who(via)
					refused := slices.Contains(tt.refused, via)
					switch {
					case refused && !errors.Is(err, ErrUnauthenticated):
						t.Errorf("%s after the change: %v, want ErrUnauthenticated", via, err)
					case !refused && err != nil:
						t.Errorf("%s after the change: %v, want it to work", via, err)
					case !refused && tt.check != nil && !tt.check(p):
						t.Errorf("%s after the change: the lookup still has %+v", via, p.User)
					}
				}
			})
		}
	})
}

// TestLookupDuringATransactionIsNotKept: a lookup made while a
// transaction is changing a user reads the rows as they were, and the
// cache must not keep that answer once the transaction commits. SQLite
// has one connection, so the lookup could not run alongside; the
// engines with a pool show it.
func TestLookupDuringATransactionIsNotKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		if db.DialectOf(gdb) == db.SQLite {
			t.Skip("SQLite has one connection: no lookup runs during a transaction")
		}
		ctx := context.Background()
		fx := newCacheFixture(t, gdb, "alice")
		err := fx.a.Store.Transaction(ctx, func(tx *Store) error {
			if err := tx.RevokeSessions(ctx, fx.user.Name); err != nil {
				return err
			}
			if err := tx.DeleteToken(ctx, fx.user.ID, fx.api.ID); err != nil {
				return err
			}
			// The cached entries age out, so these lookups read the
			// database, outside the transaction, and see the old rows.
			later := fx.a.cache.now().Add(cacheTTL + time.Second)
			fx.a.cache.now = func() time.Time { return later }
			for _, via := range []string{KindAPIToken, "cookie"} {
				if _, err := fx.who(via); err != nil {
					t.Errorf("%s during the transaction: %v; the old rows should still answer", via, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, via := range []string{KindAPIToken, "cookie"} {
			if _, err := fx.who(via); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("%s after the commit: %v, want ErrUnauthenticated", via, err)
			}
		}
	})
}
