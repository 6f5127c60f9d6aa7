package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db/dbtest"
)

// groupsState is every group with its members and where each came from.
func (th *testHub) groupsState() string {
	th.t.Helper()
	groups, _, err := th.auth.Store.ListGroups(context.Background(), auth.GroupQuery{})
	if err != nil {
		th.t.Fatal(err)
	}
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "%s %v:", g.Name, g.FromProvider)
		for _, m := range g.Members {
			fmt.Fprintf(&b, " %s/%v", m.User, m.FromProvider)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestAdminGroupsPage: an admin manages groups from the admin page with
// the API's operations; bad input is a sentence that changes nothing,
// and a user who is not an admin, or a post without the session's XSRF
// token, changes nothing either.
func TestAdminGroupsPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th, _ := newPageHub(t, gdb)
		th.addUser("root", true)
		alice := th.addUser("alice", false)
		th.addUser("bob", false)
		b := th.browser()
		b.mustLogin("root")
		ctx := context.Background()

		code, _, body := b.page("/hub/admin")
		wantPage(t, "admin", code, body, http.StatusOK, `id="groups-card"`, "No groups yet.", `action="/hub/admin/groups"`)

		code, loc, _ := b.post("/hub/admin/groups", url.Values{"group": {"physics"}, "usernames": {"alice"}}, "")
		wantRedirect(t, "create", code, loc, http.StatusSeeOther, "/hub/admin?done=group-created&g=physics&n=1#groups-card")
		_, _, body = b.page(strings.TrimSuffix(loc, "#groups-card"))
		wantPage(t, "after create", http.StatusOK, body, http.StatusOK, "Group physics has been created with 1 user.", `id="group-physics"`, `data-member="alice"`)
		if got, want := th.groupsState(), "physics false: alice/false\n"; got != want {
			t.Fatalf("groups = %q, want %q", got, want)
		}

		// Bad input: a sentence, a 4xx, nothing changed.
		before := th.groupsState()
		for _, c := range []struct {
			what, path string
			form       url.Values
			code       int
			want       string
		}{
			{"bad name", "/hub/admin/groups", url.Values{"group": {"Not Valid!"}}, http.StatusBadRequest, "is not a valid group name"},
			{"no name", "/hub/admin/groups", url.Values{"group": {"  "}}, http.StatusBadRequest, "Type a name for the new group."},
			{"taken", "/hub/admin/groups", url.Values{"group": {"physics"}, "usernames": {"bob"}}, http.StatusConflict, "Group physics already exists"},
			{"unknown member", "/hub/admin/groups", url.Values{"group": {"maths"}, "usernames": {"bob\nnobody"}}, http.StatusBadRequest, "No such user: nobody"},
			{"add unknown", "/hub/admin/groups/physics/add", url.Values{"usernames": {"bob, nobody"}}, http.StatusBadRequest, "No such user: nobody"},
			{"add none", "/hub/admin/groups/physics/add", url.Values{"usernames": {" "}}, http.StatusBadRequest, "Type at least one username to add to the group."},
			{"add to none", "/hub/admin/groups/maths/add", url.Values{"usernames": {"bob"}}, http.StatusNotFound, "No such group: maths"},
			{"delete none", "/hub/admin/groups/maths/delete", nil, http.StatusNotFound, "No such group: maths"},
		} {
			code, _, body := b.post(c.path, c.form, "")
			wantPage(t, c.what, code, body, c.code, c.want, `id="group-error"`)
			if got := th.groupsState(); got != before {
				t.Fatalf("%s changed groups: %q", c.what, got)
			}
		}
		code, _, _ = b.post("/hub/admin/groups/physics/rename", nil, "")
		if code != http.StatusNotFound {
			t.Fatalf("unknown action = %d", code)
		}

		code, loc, _ = b.post("/hub/admin/groups/physics/add", url.Values{"usernames": {"Bob"}}, "")
		wantRedirect(t, "add bob", code, loc, http.StatusSeeOther, "/hub/admin?done=group-added&g=physics&n=1#groups-card")
		code, loc, _ = b.post("/hub/admin/groups/physics/remove", url.Values{"usernames": {"alice"}}, "")
		wantRedirect(t, "remove alice", code, loc, http.StatusSeeOther, "/hub/admin?done=group-removed&g=physics&n=1#groups-card")
		if got, want := th.groupsState(), "physics false: bob/false\n"; got != want {
			t.Fatalf("groups = %q, want %q", got, want)
		}

		// A membership the login provider gave is shown as such, and
		// removing it says the next login gives it back, which it does.
		if err := th.auth.Store.SyncUserGroups(ctx, alice.ID, []string{"interns"}); err != nil {
			t.Fatal(err)
		}
		_, _, body = b.page("/hub/admin")
		wantPage(t, "provider group", http.StatusOK, body, http.StatusOK, `data-member="alice" data-from-login`, "their next login puts them back")
		code, loc, _ = b.post("/hub/admin/groups/interns/remove", url.Values{"usernames": {"alice"}}, "")
		wantRedirect(t, "remove provider member", code, loc, http.StatusSeeOther, "/hub/admin?done=group-removed&g=interns&n=1&provider=1#groups-card")
		_, _, body = b.page(strings.TrimSuffix(loc, "#groups-card"))
		wantPage(t, "after removing a provider member", http.StatusOK, body, http.StatusOK, "comes back at that member&#39;s next login")
		if got, want := th.groupsState(), "physics false: bob/false\ninterns true:\n"; got != want {
			t.Fatalf("groups = %q, want %q", got, want)
		}
		if err := th.auth.Store.SyncUserGroups(ctx, alice.ID, []string{"interns"}); err != nil {
			t.Fatal(err)
		}
		if got, want := th.groupsState(), "physics false: bob/false\ninterns true: alice/true\n"; got != want {
			t.Fatalf("after the next login groups = %q, want %q", got, want)
		}

		// The attack: alice, not an admin, posts every group form; a
		// post without the XSRF token is refused too. Nothing changes.
		before = th.groupsState()
		ab := th.browser()
		ab.mustLogin("alice")
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{"/hub/admin/groups", url.Values{"group": {"mine"}, "usernames": {"alice"}}},
			{"/hub/admin/groups/physics/add", url.Values{"usernames": {"alice"}}},
			{"/hub/admin/groups/physics/remove", url.Values{"usernames": {"bob"}}},
			{"/hub/admin/groups/physics/delete", nil},
		} {
			code, _, body := ab.post(c.path, c.form, "")
			wantPage(t, "alice posts "+c.path, code, body, http.StatusForbidden, "Only admins can see this page.")
			if code, _, _ := b.post(c.path, c.form, "-"); code != http.StatusForbidden {
				t.Fatalf("root posting %s without the XSRF token = %d", c.path, code)
			}
		}
		if got := th.groupsState(); got != before {
			t.Fatalf("refused posts changed groups: %q", got)
		}

		code, loc, _ = b.post("/hub/admin/groups/physics/delete", nil, "")
		wantRedirect(t, "delete", code, loc, http.StatusSeeOther, "/hub/admin?done=group-deleted&g=physics&n=0#groups-card")
		if got, want := th.groupsState(), "interns true: alice/true\n"; got != want {
			t.Fatalf("groups = %q, want %q", got, want)
		}
	})
}
