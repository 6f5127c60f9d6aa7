package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// membershipsOf is the user's groups as "name" or "name (provider)".
func membershipsOf(t *testing.T, st *Store, id int64) []string {
	t.Helper()
	ms, err := st.UserGroups(context.Background(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, m := range ms[id] {
		n := m.Group
		if m.FromProvider {
			n += " (provider)"
		}
		out = append(out, n)
	}
	return out
}

func TestGroupsOnEveryDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		alice, err := st.CreateUser(ctx, "alice", false, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUsers(ctx, []string{"bob", "carol"}, false); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateGroups(ctx, []string{"physics"}, []string{"alice", "nobody"}); err == nil {
			t.Fatal("CreateGroups with an unknown user succeeded")
		}
		if _, err := st.Group(ctx, "physics"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a failed CreateGroups left physics: %v", err)
		}
		got, err := st.CreateGroups(ctx, []string{"physics", "chemistry", "physics", "maths"}, []string{"bob", "alice"})
		if !errors.Is(err, ErrExists) || len(got) != 2 {
			t.Fatalf("CreateGroups with physics twice = %d groups, %v; want 2 and ErrExists", len(got), err)
		}
		if !slices.Equal(got[0].Users, []string{"alice", "bob"}) || got[0].Properties != "{}" {
			t.Fatalf("physics = %+v", got[0])
		}
		if _, err := st.CreateGroups(ctx, []string{"Bad Name"}, nil); err == nil {
			t.Fatal("CreateGroups accepted an invalid name")
		}
		if g, err := st.AddGroupMembers(ctx, "chemistry", []string{"carol", "carol", "alice"}); err != nil || !slices.Equal(g.Users, []string{"alice", "bob", "carol"}) {
			t.Fatalf("AddGroupMembers = %+v, %v", g, err)
		}
		if _, err := st.AddGroupMembers(ctx, "chemistry", []string{"nobody"}); err == nil {
			t.Fatal("AddGroupMembers took an unknown user")
		}
		if _, err := st.AddGroupMembers(ctx, "nothing", []string{"alice"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("AddGroupMembers on no group = %v", err)
		}
		if g, err := st.RemoveGroupMembers(ctx, "chemistry", []string{"bob", "bob"}); err != nil || !slices.Equal(g.Users, []string{"alice", "carol"}) {
			t.Fatalf("RemoveGroupMembers = %+v, %v", g, err)
		}
		if g, err := st.SetGroupProperties(ctx, "physics", map[string]any{"gpu": true}); err != nil || g.Properties != `{"gpu":true}` {
			t.Fatalf("SetGroupProperties = %+v, %v", g, err)
		}
		if g, err := st.SetGroupProperties(ctx, "physics", map[string]any{"gpu": true}); err != nil || g.Properties != `{"gpu":true}` {
			t.Fatalf("SetGroupProperties again = %+v, %v", g, err)
		}
		if _, err := st.SetGroupProperties(ctx, "nothing", map[string]any{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetGroupProperties on no group = %v", err)
		}
		page, total, err := st.ListGroups(ctx, GroupQuery{Offset: 1, Limit: 1})
		if err != nil || total != 2 || len(page) != 1 || page[0].Name != "chemistry" {
			t.Fatalf("ListGroups = %+v, %d, %v", page, total, err)
		}
		if mine := membershipsOf(t, st, alice.ID); !slices.Equal(mine, []string{"chemistry", "physics"}) {
			t.Fatalf("alice's groups = %v", mine)
		}
		if err := st.DeleteUser(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		if g, _ := st.Group(ctx, "chemistry"); !slices.Equal(g.Users, []string{"alice"}) {
			t.Fatalf("after deleting carol, chemistry = %v", g.Users)
		}
		if err := st.DeleteGroup(ctx, "chemistry"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteGroup(ctx, "chemistry"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleting chemistry twice = %v", err)
		}
		if mine := membershipsOf(t, st, alice.ID); !slices.Equal(mine, []string{"physics"}) {
			t.Fatalf("alice's groups after chemistry went = %v", mine)
		}
	})
}

// TestSyncUserGroupsKeepsHubGroups: a login's sync makes and fills the
// provider's groups and never touches what the hub made: its groups,
// and the members an admin added.
func TestSyncUserGroupsKeepsHubGroups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		st := NewStore(gdb)
		alice, err := st.CreateUser(ctx, "alice", false, "")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := st.CreateUser(ctx, "bob", false, "")
		if err != nil {
			t.Fatal(err)
		}
		// The hub's own group, with alice in it, and one named as the
		// provider will name one of its groups.
		if _, err := st.CreateGroups(ctx, []string{"tutors", "physics"}, []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SyncUserGroups(ctx, alice.ID, []string{"analysts", "interns", "physics", "interns"}); err != nil {
			t.Fatal(err)
		}
		if got := membershipsOf(t, st, alice.ID); !slices.Equal(got, []string{"analysts (provider)", "interns (provider)", "physics", "tutors"}) {
			t.Fatalf("after the first sync alice has %v", got)
		}
		if g, _ := st.Group(ctx, "interns"); !g.FromProvider {
			t.Fatal("interns, made by a sync, is not marked as the provider's")
		}
		if g, _ := st.Group(ctx, "physics"); g.FromProvider {
			t.Fatal("the hub's physics became the provider's")
		}
		// A group's members say where each came from, as the admin page
		// shows them.
		if g, _ := st.Group(ctx, "interns"); !slices.Equal(g.Members, []Member{{User: "alice", FromProvider: true}}) {
			t.Fatalf("interns' members = %+v", g.Members)
		}
		if g, _ := st.Group(ctx, "physics"); !slices.Equal(g.Members, []Member{{User: "alice"}}) {
			t.Fatalf("physics' members = %+v", g.Members)
		}
		// An admin adds bob to the provider's analysts, and alice too
		// (she is in it by the provider already): both stay the hub's.
		if _, err := st.AddGroupMembers(ctx, "analysts", []string{"bob", "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SyncUserGroups(ctx, bob.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got := membershipsOf(t, st, bob.ID); !slices.Equal(got, []string{"analysts"}) {
			t.Fatalf("bob's admin-added analysts membership after his sync: %v", got)
		}
		// The provider no longer puts alice anywhere: her provider
		// membership of interns goes, the hub's stay.
		if err := st.SyncUserGroups(ctx, alice.ID, []string{}); err != nil {
			t.Fatal(err)
		}
		if got := membershipsOf(t, st, alice.ID); !slices.Equal(got, []string{"analysts", "physics", "tutors"}) {
			t.Fatalf("after an empty sync alice has %v", got)
		}
		if err := st.SyncUserGroups(ctx, alice.ID, []string{"interns"}); err != nil {
			t.Fatal(err)
		}
		if got := membershipsOf(t, st, alice.ID); !slices.Equal(got, []string{"analysts", "interns (provider)", "physics", "tutors"}) {
			t.Fatalf("after syncing interns again alice has %v", got)
		}
		// A name outside the rule changes nothing.
		if err := st.SyncUserGroups(ctx, alice.ID, []string{"CN=Admins,DC=corp"}); err == nil {
			t.Fatal("SyncUserGroups took a name outside the rule")
		}
		if got := membershipsOf(t, st, alice.ID); !slices.Contains(got, "interns (provider)") {
			t.Fatalf("a refused sync changed alice's groups: %v", got)
		}
		if err := st.SyncUserGroups(ctx, 1<<40, []string{"interns"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("sync of no user = %v, want ErrNotFound", err)
		}
	})
}

// TestGroupFilterFollowsMembership: a token with SCOPE!group=NAME
// reaches the group's members only, and loses a user the moment they
// leave the group, cache or not.
func TestGroupFilterFollowsMembership(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		ctx := context.Background()
		a := newTestAuth(t, gdb, true)
		st := a.Store
		root, err := st.CreateUser(ctx, "root", true, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUsers(ctx, []string{"alice", "bob"}, false); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateGroups(ctx, []string{"interns"}, []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := st.CreateToken(ctx, root.ID, NewToken{Scopes: []string{"access:servers!group=interns"}})
		if err != nil {
			t.Fatal(err)
		}
		principal := func() *Principal {
			r := httptest.NewRequest("GET", "/hub/api/user", nil)
			r.Header.Set("Authorization", "token "+secret)
			p, err := a.Authenticate(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := principal()
		if !p.Can(ScopeAccessServers, "alice") {
			t.Error("the interns' token cannot reach alice, an intern")
		}
		if p.Can(ScopeAccessServers, "bob") || p.Can(ScopeAccessServers, "root") {
			t.Error("the interns' token reaches a non-member")
		}
		if p.Can(ScopeReadServers, "alice") || p.Can(ScopeAccessServers, "") {
			t.Error("the interns' token holds more than access:servers on members")
		}
		if ref := p.Need(ScopeAccessServers, "bob"); ref == nil || ref.Status != 404 {
			t.Errorf("Need on bob = %+v, want a 404", ref)
		}
		if got := p.FilteredUsers(ScopeAccessServers); !slices.Equal(got, []string{"alice"}) {
			t.Errorf("FilteredUsers = %v", got)
		}
		if _, err := st.RemoveGroupMembers(ctx, "interns", []string{"alice"}); err != nil {
			t.Fatal(err)
		}
		if principal().Can(ScopeAccessServers, "alice") {
			t.Error("alice, out of interns, is still reached by the interns' token")
		}
		if _, err := st.AddGroupMembers(ctx, "interns", []string{"bob"}); err != nil {
			t.Fatal(err)
		}
		if !principal().Can(ScopeAccessServers, "bob") {
			t.Error("bob, now an intern, is not reached")
		}
	})
}

func TestGroupScopes(t *testing.T) {
	admin := RoleScopes(&User{Name: "root", Admin: true}, false)
	for _, sc := range []string{ScopeAdminGroups, ScopeGroups, ScopeListGroups, ScopeReadGroups, ScopeReadGroupsName, ScopeDeleteGroups} {
		if !admin.HasGroup(sc, "physics") {
			t.Errorf("an admin lacks %s", sc)
		}
	}
	user := RoleScopes(&User{Name: "alice"}, false)
	if user.HasAny(ScopeListGroups) || user.HasAny(ScopeReadGroupsName) {
		t.Error("a plain user holds group scopes")
	}
	if !user.Has(ScopeReadUsersGroups, "alice") {
		t.Error("a user cannot see their own groups")
	}
	// A user's filter never grants a group of that name.
	s := Scopes{}
	s.addTree(ScopeReadGroups, "!user=physics")
	if s.HasGroup(ScopeReadGroups, "physics") {
		t.Error("read:groups!user=physics grants the group physics")
	}
	got := Grant([]string{"groups!group=physics"}, admin, "root")
	if !got.HasGroup(ScopeReadGroups, "physics") || got.HasGroup(ScopeReadGroups, "maths") || got.HasGroup(ScopeDeleteGroups, "physics") {
		t.Errorf("groups!group=physics gives %v", got.List())
	}
	// A plain user may not make a token with a group's filter: the
	// group's members are not theirs.
	if m := Missing([]string{"read:users!group=physics"}, user, "alice"); m == "" {
		t.Error("a plain user may ask for read:users!group=physics")
	}
	if g := Grant([]string{"read:users!group=physics"}, user, "alice"); len(g) != 0 {
		t.Errorf("a plain user's group-filtered token holds %v", g.List())
	}
	for _, bad := range []string{"read:users!group=Bad Name", "read:users!server=alice/x", "inherit!group=x"} {
		if _, err := ParseScopes([]string{bad}); err == nil {
			t.Errorf("ParseScopes took %q", bad)
		}
	}
	if got, err := ParseScopes([]string{"access:servers!group=interns"}); err != nil || got[0] != "access:servers!group=interns" {
		t.Errorf("ParseScopes(access:servers!group=interns) = %v, %v", got, err)
	}
}
