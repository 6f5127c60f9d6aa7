package auth

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth/ldaptest"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// The directory's people: one in an OU of their own, one whose entry's
// name has LDAP's special characters.
var ldapPeople = []ldaptest.Person{
	{Name: "alice", Password: "alice-pw", Groups: []string{"analysts", "data-eng"}},
	{Name: "bob", Password: "bob-pw", OU: "ou=admins", Groups: []string{"analysts", "hub-admins"}},
	{Name: "jsmith", Password: "jsmith-pw", RDN: `cn=Smith\, John (Sales)*`, Groups: []string{"analysts"}},
	{Name: "dave", Password: "dave-pw", Groups: []string{"sales"}},
}

// searchConfig is search-then-bind as the service account over
// StartTLS with the test's CA, groups from memberOf.
func searchConfig(d *ldaptest.Directory) LDAPConfig {
	return LDAPConfig{
		URL: d.URL, TLS: d.TLS(), BindDN: ldaptest.ReaderDN, BindPassword: ldaptest.ReaderPassword,
		UserBase: ldaptest.People, UserFilter: "(uid={username})", GroupAttribute: "memberOf",
	}
}

func mustLDAP(t *testing.T, cfg LDAPConfig) *LDAP {
	t.Helper()
	l, err := NewLDAP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Against a real slapd: the right password gives the person and their
// groups, however the directory is reached and the groups found; a
// wrong or empty password, an unknown name and a filter smuggled in
// the name are all "wrong username or password"; TLS is checked.
func TestLDAPAuthenticate(t *testing.T) {
	d := ldaptest.Start(t, ldapPeople)
	ctx := context.Background()

	groupSearch := searchConfig(d)
	groupSearch.GroupBase, groupSearch.GroupFilter = ldaptest.Groups, "(member={dn})"
	template := LDAPConfig{URL: d.LDAPS, TLS: d.TLS(), DNTemplate: "uid={username}," + ldaptest.People, GroupAttribute: "memberOf"}
	plain := searchConfig(d)
	plain.Plain, plain.TLS = true, nil
	for _, tc := range []struct {
		name       string
		cfg        LDAPConfig
		user, pw   string
		wantGroups []string
	}{
		{"StartTLS, memberOf", searchConfig(d), "alice", "alice-pw", []string{"analysts", "data-eng"}},
		{"a person in an OU of their own", searchConfig(d), "bob", "bob-pw", []string{"analysts", "hub-admins"}},
		{"a DN with special characters, memberOf", searchConfig(d), "jsmith", "jsmith-pw", []string{"analysts"}},
		{"a DN with special characters, group search", groupSearch, "jsmith", "jsmith-pw", []string{"analysts"}},
		{"group search", groupSearch, "alice", "alice-pw", []string{"analysts", "data-eng"}},
		{"LDAPS, DN template", template, "alice", "alice-pw", []string{"analysts", "data-eng"}},
		{"plain, when asked", plain, "alice", "alice-pw", []string{"analysts", "data-eng"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := mustLDAP(t, tc.cfg).Authenticate(ctx, tc.user, tc.pw)
			if err != nil {
				t.Fatal(err)
			}
			if id.Name != tc.user || !slices.Equal(slices.Sorted(slices.Values(id.Groups)), tc.wantGroups) {
				t.Errorf("got %+v, want %s in %v", id, tc.user, tc.wantGroups)
			}
		})
	}

	for _, tc := range []struct {
		name     string
		cfg      LDAPConfig
		user, pw string
	}{
		{"wrong password", searchConfig(d), "alice", "bob-pw"},
		{"wrong password, DN template", template, "alice", "wrong"},
		{"empty password", searchConfig(d), "alice", ""},
		{"empty password, DN template", template, "alice", ""},
		{"unknown name", searchConfig(d), "nobody", "alice-pw"},
		{"filter in the name", searchConfig(d), "*)(uid=*", "alice-pw"},
		{"wildcard name", searchConfig(d), "*", "alice-pw"},
		{"filter in the name, DN template", template, "alice,ou=people", "alice-pw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, err := mustLDAP(t, tc.cfg).Authenticate(ctx, tc.user, tc.pw); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("got %+v, %v; want ErrBadCredentials", id, err)
			}
		})
	}

	t.Run("escaping alone keeps a name to its entry", func(t *testing.T) {
		// Past the username rule, a name that would widen the filter,
		// or the DN, to someone else's entry finds nothing: unescaped,
		// each would bind as that person with their password, or break
		// the filter.
		cfg := searchConfig(d)
		cfg.UserFilter = "(&(objectClass=inetOrgPerson)(uid={username}))"
		if _, err := mustLDAP(t, cfg).authenticate(ctx, "jsmith", "jsmith-pw"); err != nil {
			t.Fatalf("jsmith through the wider filter: %v", err)
		}
		for _, tc := range []struct {
			cfg      LDAPConfig
			name, pw string
		}{
			{cfg, "*)(cn=Smith*", "jsmith-pw"},
			{cfg, "nobody)(|(uid=jsmith", "jsmith-pw"},
			// uid=bob,ou=admins,ou=people,... is bob's entry.
			{template, "bob,ou=admins", "bob-pw"},
		} {
			if id, err := mustLDAP(t, tc.cfg).authenticate(ctx, tc.name, tc.pw); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%q: got %+v, %v; want ErrBadCredentials", tc.name, id, err)
			}
		}
	})

	t.Run("TLS checks the certificate", func(t *testing.T) {
		for _, url := range []string{d.URL, d.LDAPS} {
			cfg := searchConfig(d)
			cfg.URL, cfg.TLS = url, nil // the system's CAs, which do not know the test's
			_, err := mustLDAP(t, cfg).Authenticate(ctx, "alice", "alice-pw")
			if err == nil || errors.Is(err, ErrBadCredentials) || !errors.Is(err, ErrDirectory) {
				t.Errorf("%s with an unknown CA: %v, want the directory's failure", url, err)
			}
		}
	})
}

// Login with --auth ldap: a person of an allowed group becomes a hub
// user at first login, admin from hub-admins (TestLDAPLoginForm checks
// the groups handed on); one outside the groups is refused and not made; the
// hub's own admin keeps its password; the throttles count the
// directory's failures as the hub's own.
func TestLDAPLogin(t *testing.T) {
	d := ldaptest.Start(t, ldapPeople)
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		a := newTestAuthWith(t, gdb, Options{
			LDAP:      mustLDAP(t, searchConfig(d)),
			Admission: Admission{AllowedGroups: []string{"analysts"}, AdminGroups: []string{"hub-admins"}},
		})
		addr := netip.MustParseAddr("192.0.2.1")

		u, err := a.Login(ctx, "alice", "alice-pw", addr)
		if err != nil {
			t.Fatal(err)
		}
		if u.Admin || u.PasswordHash != "" {
			t.Errorf("alice: %+v, want no admin and no hub password", u)
		}
		if b, err := a.Login(ctx, "bob", "bob-pw", addr); err != nil || !b.Admin {
			t.Errorf("bob of hub-admins: %+v, %v; want an admin", b, err)
		}
		var refused *RefusedError
		if _, err := a.Login(ctx, "dave", "dave-pw", addr); !errors.As(err, &refused) {
			t.Errorf("dave of sales: %v, want refused", err)
		}
		if _, err := a.Store.UserByName(ctx, "dave"); !errors.Is(err, ErrNotFound) {
			t.Errorf("dave was made: %v", err)
		}

		// The hub's own admin logs in with the hub's password, never the
		// directory's.
		hash, _ := a.Passwords.Hash("local-pw")
		if _, err := a.Store.CreateUser(ctx, "jsmith", true, hash); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Login(ctx, "jsmith", "jsmith-pw", addr); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("a local account with the directory's password: %v, want ErrBadCredentials", err)
		}
		if _, err := a.Login(ctx, "jsmith", "local-pw", addr); err != nil {
			t.Errorf("a local account with its own password: %v", err)
		}

		// Wrong passwords at the directory lock the account out from
		// that address, right password included.
		from := netip.MustParseAddr("192.0.2.99")
		var throttled *ThrottledError
		for i := range 10 {
			_, err := a.Login(ctx, "alice", "guess", from)
			if errors.As(err, &throttled) {
				break
			}
			if !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		if throttled == nil {
			t.Fatal("ten wrong passwords at the directory were never throttled")
		}
		if _, err := a.Login(ctx, "alice", "alice-pw", from); !errors.As(err, &throttled) {
			t.Errorf("the right password while locked out: %v, want throttled", err)
		}
	})
}
