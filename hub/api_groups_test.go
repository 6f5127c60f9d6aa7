package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db/dbtest"
)

// TestGroupAPI replays JupyterHub's groups API: every route's shape and
// codes, and bad input refused with a sentence, changing nothing.
func TestGroupAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		th.addUser("bob", false)
		admin := "token " + th.token("root")
		do := func(method, path string, body any) result {
			t.Helper()
			return th.do(nil, req{method: method, path: path, auth: admin, body: body})
		}
		want := func(r result, code int, what string) {
			t.Helper()
			if r.status != code {
				t.Fatalf("%s = %d %s, want %d", what, r.status, r.body, code)
			}
		}

		// Bulk create: 201 and a list of models.
		r := do("POST", "/hub/api/groups", map[string]any{"groups": []string{"physics", "maths"}, "users": []string{"alice"}})
		want(r, http.StatusCreated, "POST groups")
		var created []map[string]any
		r.json(t, &created)
		if len(created) != 2 || created[0]["kind"] != "group" || created[0]["name"] != "physics" {
			t.Fatalf("created %s", r.body)
		}
		if users, _ := created[1]["users"].([]any); len(users) != 1 || users[0] != "alice" {
			t.Errorf("maths users = %v", created[1]["users"])
		}
		if props, ok := created[0]["properties"].(map[string]any); !ok || len(props) != 0 {
			t.Errorf("properties = %v, want {}", created[0]["properties"])
		}
		// A name taken: 409, the groups before it are made.
		r = do("POST", "/hub/api/groups", map[string]any{"groups": []string{"chemistry", "physics"}})
		want(r, http.StatusConflict, "POST groups with physics taken")
		if msg := r.message(t); msg != "Group physics already exists" {
			t.Errorf("409 says %q", msg)
		}
		want(do("GET", "/hub/api/groups/chemistry", nil), http.StatusOK, "chemistry, made before the conflict")

		// One group, with members.
		r = do("POST", "/hub/api/groups/biology", map[string]any{"users": []string{"bob"}})
		want(r, http.StatusCreated, "POST groups/biology")
		var g struct {
			Kind       string         `json:"kind"`
			Name       string         `json:"name"`
			Users      []string       `json:"users"`
			Properties map[string]any `json:"properties"`
		}
		r.json(t, &g)
		if g.Kind != "group" || g.Name != "biology" || !slices.Equal(g.Users, []string{"bob"}) {
			t.Errorf("biology = %s", r.body)
		}
		want(do("POST", "/hub/api/groups/biology", nil), http.StatusConflict, "POST groups/biology again")
		r = do("POST", "/hub/api/groups/empty", nil)
		want(r, http.StatusCreated, "POST groups/empty without a body")
		if string(r.body) != `{"kind":"group","name":"empty","users":[],"properties":{}}`+"\n" {
			t.Errorf("an empty group is %s", r.body)
		}

		// Members in and out; re-adding and removing a non-member are
		// passed over.
		r = do("POST", "/hub/api/groups/physics/users", map[string]any{"users": []string{"bob", "alice"}})
		want(r, http.StatusOK, "POST physics/users")
		r.json(t, &g)
		if !slices.Equal(g.Users, []string{"alice", "bob"}) {
			t.Errorf("physics users = %v", g.Users)
		}
		r = do("DELETE", "/hub/api/groups/physics/users", map[string]any{"users": []string{"alice", "root"}})
		want(r, http.StatusOK, "DELETE physics/users")
		r.json(t, &g)
		if !slices.Equal(g.Users, []string{"bob"}) {
			t.Errorf("physics users after removing alice = %v", g.Users)
		}

		// Properties are replaced.
		want(do("PUT", "/hub/api/groups/physics/properties", map[string]any{"gpu": true, "quota": 3}), http.StatusOK, "PUT properties")
		r = do("PUT", "/hub/api/groups/physics/properties", map[string]any{"gpu": false})
		want(r, http.StatusOK, "PUT properties again")
		r.json(t, &g)
		if len(g.Properties) != 1 || g.Properties["gpu"] != false {
			t.Errorf("properties = %v, want only gpu false", g.Properties)
		}

		// The user model's groups.
		r = do("GET", "/hub/api/users/bob", nil)
		var u struct{ Groups []string }
		r.json(t, &u)
		if !slices.Equal(u.Groups, []string{"biology", "physics"}) {
			t.Errorf("bob's groups = %v", u.Groups)
		}
		r = th.do(nil, req{method: "GET", path: "/hub/api/user", auth: "token " + th.token("bob")})
		r.json(t, &u)
		if !slices.Equal(u.Groups, []string{"biology", "physics"}) {
			t.Errorf("bob sees his groups as %v", u.Groups)
		}

		// List, plain and paginated, in the order made.
		r = do("GET", "/hub/api/groups", nil)
		var all []map[string]any
		r.json(t, &all)
		names := []string{}
		for _, m := range all {
			names = append(names, m["name"].(string))
		}
		if !slices.Equal(names, []string{"physics", "maths", "chemistry", "biology", "empty"}) {
			t.Errorf("GET groups = %v", names)
		}
		r = th.do(nil, req{method: "GET", path: "/hub/api/groups?offset=1&limit=2", auth: admin, header: map[string]string{"Accept": paginationMediaType}})
		var page apiPage
		r.json(t, &page)
		if len(page.Items) != 2 || page.Items[0]["name"] != "maths" || page.Pagination.Total != 5 || page.Pagination.Next == nil || page.Pagination.Next.Offset != 3 {
			t.Errorf("page = %s", r.body)
		}

		// Bad input: a 400 with a sentence, nothing changed.
		before := groupSnapshot(t, th)
		for _, c := range []struct {
			method, path string
			body         any
			code         int
			says         string
		}{
			{"POST", "/hub/api/groups", map[string]any{"groups": []string{}}, 400, "Must specify at least one group"},
			{"POST", "/hub/api/groups", map[string]any{"groups": []string{"Bad Name"}}, 400, "not a valid group name"},
			{"POST", "/hub/api/groups", map[string]any{"groups": []string{"new"}, "users": []string{"nobody"}}, 400, "No such user: nobody"},
			{"POST", "/hub/api/groups", map[string]any{"groups": "new"}, 400, "groups"},
			{"POST", "/hub/api/groups", map[string]any{"groups": []string{"new"}, "properties": map[string]any{}}, 400, "properties"},
			{"POST", "/hub/api/groups/new", map[string]any{"users": "alice"}, 400, "users"},
			{"POST", "/hub/api/groups/new", map[string]any{"users": []string{"nobody"}}, 400, "No such user: nobody"},
			{"POST", "/hub/api/groups/new", map[string]any{"name": "other"}, 400, "not the group's name"},
			{"POST", "/hub/api/groups/New..Group", nil, 400, "not a valid group name"},
			{"POST", "/hub/api/groups/" + strings.Repeat("a", 65), nil, 400, "not a valid group name"},
			{"GET", "/hub/api/groups/nothing", nil, 404, "No such group: nothing"},
			{"DELETE", "/hub/api/groups/nothing", nil, 404, "No such group: nothing"},
			{"POST", "/hub/api/groups/nothing/users", map[string]any{"users": []string{"alice"}}, 404, "No such group"},
			{"POST", "/hub/api/groups/physics/users", nil, 400, "JSON body"},
			{"POST", "/hub/api/groups/physics/users", map[string]any{"users": []string{}}, 400, "Must specify users to add"},
			{"DELETE", "/hub/api/groups/physics/users", map[string]any{}, 400, "Must specify users to delete"},
			{"POST", "/hub/api/groups/physics/users", map[string]any{"users": []string{"alice", "nobody"}}, 400, "No such user: nobody"},
			{"PUT", "/hub/api/groups/nothing/properties", map[string]any{"a": 1}, 404, "No such group"},
			{"PUT", "/hub/api/groups/physics/properties", nil, 400, "Must specify properties"},
			{"PUT", "/hub/api/groups/physics/properties", []int{1}, 400, "JSON object"},
			{"GET", "/hub/api/groups?limit=x", nil, 400, "limit"},
		} {
			r := do(c.method, c.path, c.body)
			if r.status != c.code || !strings.Contains(r.message(t), c.says) {
				t.Errorf("%s %s %v = %d %s, want %d saying %q", c.method, c.path, c.body, r.status, r.body, c.code, c.says)
			}
		}
		if after := groupSnapshot(t, th); after != before {
			t.Errorf("bad input changed groups:\n%s\nthen\n%s", before, after)
		}

		// Delete: 204, then 404; the members keep their accounts.
		want(do("DELETE", "/hub/api/groups/physics", nil), http.StatusNoContent, "DELETE physics")
		want(do("GET", "/hub/api/groups/physics", nil), http.StatusNotFound, "GET physics after delete")
		r = do("GET", "/hub/api/users/bob", nil)
		r.json(t, &u)
		if !slices.Equal(u.Groups, []string{"biology"}) {
			t.Errorf("bob's groups after physics went = %v", u.Groups)
		}
	})
}

// groupSnapshot is every group with its members and properties.
func groupSnapshot(t *testing.T, th *testHub) string {
	t.Helper()
	r := th.do(nil, req{method: "GET", path: "/hub/api/groups", auth: "token " + th.token("root")})
	return string(r.body)
}

// TestGroupAPIScopes: each group scope opens what JupyterHub says it
// opens and nothing more; a plain user has none; a filter on one group
// reaches that group only, and a user's filter never a group.
func TestGroupAPIScopes(t *testing.T) {
	th := newTestHub(t, dbtest.Open(t, "sqlite"), nil)
	th.addUser("root", true)
	th.addUser("alice", false)
	root := "token " + th.token("root")
	for _, g := range []string{"physics", "maths"} {
		if r := th.do(nil, req{method: "POST", path: "/hub/api/groups/" + g, auth: root, body: map[string]any{"users": []string{"alice"}}}); r.status != http.StatusCreated {
			t.Fatalf("POST %s = %d", g, r.status)
		}
	}
	type call struct {
		method, path string
		body         any
	}
	calls := map[string]call{
		"list":      {"GET", "/hub/api/groups", nil},
		"get":       {"GET", "/hub/api/groups/physics", nil},
		"get maths": {"GET", "/hub/api/groups/maths", nil},
		"add":       {"POST", "/hub/api/groups/physics/users", map[string]any{"users": []string{"root"}}},
		"remove":    {"DELETE", "/hub/api/groups/physics/users", map[string]any{"users": []string{"root"}}},
		"props":     {"PUT", "/hub/api/groups/physics/properties", map[string]any{"a": 1}},
		"create":    {"POST", "/hub/api/groups/physics", nil},
		"create2":   {"POST", "/hub/api/groups", map[string]any{"groups": []string{"physics"}}},
		"delete":    {"DELETE", "/hub/api/groups/nothing", nil},
	}
	for _, c := range []struct {
		who  string // a token's scope, or "alice" for her session-like token
		want map[string]int
	}{
		{"alice", map[string]int{"list": 403, "get": 403, "get maths": 403, "add": 403, "remove": 403, "props": 403, "create": 403, "create2": 403, "delete": 403}},
		{"read:groups:name", map[string]int{"list": 403, "get": 200, "get maths": 200, "add": 403, "remove": 403, "props": 403, "create": 403, "create2": 403, "delete": 403}},
		{"list:groups", map[string]int{"list": 200, "get": 200, "get maths": 200, "add": 403, "remove": 403, "props": 403, "create": 403, "create2": 403, "delete": 403}},
		{"read:groups", map[string]int{"list": 403, "get": 200, "get maths": 200, "add": 403, "remove": 403, "props": 403, "create": 403, "create2": 403, "delete": 403}},
		{"groups", map[string]int{"list": 200, "get": 200, "get maths": 200, "add": 200, "remove": 200, "props": 200, "create": 403, "create2": 403, "delete": 403}},
		{"delete:groups", map[string]int{"list": 403, "get": 403, "get maths": 403, "add": 403, "remove": 403, "props": 403, "create": 403, "create2": 403, "delete": 404}},
		{"admin:groups", map[string]int{"list": 200, "get": 200, "get maths": 200, "add": 200, "remove": 200, "props": 200, "create": 409, "create2": 409, "delete": 404}},
		// One group's filter: that group only; creating in bulk needs
		// the scope on every group.
		{"groups!group=physics", map[string]int{"list": 200, "get": 200, "get maths": 404, "add": 200, "remove": 200, "props": 200, "create": 403, "create2": 403, "delete": 403}},
		{"admin:groups!group=physics", map[string]int{"list": 200, "get": 200, "get maths": 404, "add": 200, "remove": 200, "props": 200, "create": 409, "create2": 403, "delete": 404}},
		// A user's filter never grants a group.
		{"read:groups!user=physics", map[string]int{"get": 404, "list": 403}},
		{"list:groups!user=root", map[string]int{"list": 403}},
	} {
		tok := "token " + th.token("alice")
		if c.who != "alice" {
			tok = "token " + th.token("root", c.who)
		}
		for name, code := range c.want {
			cl := calls[name]
			if r := th.do(nil, req{method: cl.method, path: cl.path, auth: tok, body: cl.body}); r.status != code {
				t.Errorf("%s: %s %s = %d %s, want %d", c.who, cl.method, cl.path, r.status, r.body, code)
			}
		}
	}
	// read:groups:name shows the name alone; a filtered list shows the
	// filter's groups only, and counts only them.
	r := th.do(nil, req{method: "GET", path: "/hub/api/groups/physics", auth: "token " + th.token("root", "read:groups:name")})
	if string(r.body) != `{"kind":"group","name":"physics"}`+"\n" {
		t.Errorf("read:groups:name sees %s", r.body)
	}
	r = th.do(nil, req{method: "GET", path: "/hub/api/groups", auth: "token " + th.token("root", "groups!group=maths"), header: map[string]string{"Accept": paginationMediaType}})
	var page struct {
		Items []struct {
			Name  string
			Users []string
		}
		Pagination struct{ Total int } `json:"_pagination"`
	}
	r.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "maths" || len(page.Items[0].Users) != 1 || page.Pagination.Total != 1 {
		t.Errorf("groups!group=maths lists %s", r.body)
	}
	// A token without read:users:groups sees no one's groups.
	r = th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: "token " + th.token("root", "read:users:name", "read:users!user=alice")})
	var u struct{ Groups []string }
	r.json(t, &u)
	if len(u.Groups) != 2 {
		t.Errorf("read:users on alice sees groups %v", u.Groups)
	}
	r = th.do(nil, req{method: "GET", path: "/hub/api/users", auth: "token " + th.token("root", "list:users")})
	var us []struct {
		Name   string
		Groups []string
	}
	r.json(t, &us)
	for _, u := range us {
		if len(u.Groups) != 0 {
			t.Errorf("list:users alone sees %s's groups %v", u.Name, u.Groups)
		}
	}
}

// TestGroupFilterOnUsers: list:users!group= and read:users!group= reach
// the group's members, not others, and stop reaching one who leaves.
func TestGroupFilterOnUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, gdb *gorm.DB) {
		th := newTestHub(t, gdb, nil)
		th.addUser("root", true)
		th.addUser("alice", false)
		th.addUser("bob", false)
		th.addUser("carol", false)
		root := "token " + th.token("root")
		if r := th.do(nil, req{method: "POST", path: "/hub/api/groups/interns", auth: root, body: map[string]any{"users": []string{"alice", "carol"}}}); r.status != http.StatusCreated {
			t.Fatalf("POST interns = %d", r.status)
		}
		tok := "token " + th.token("root", "list:users!group=interns", "read:users!group=interns")
		listed := func() []string {
			t.Helper()
			r := th.do(nil, req{method: "GET", path: "/hub/api/users", auth: tok})
			var us []struct{ Name string }
			r.json(t, &us)
			out := []string{}
			for _, u := range us {
				out = append(out, u.Name)
			}
			return out
		}
		if got := listed(); !slices.Equal(got, []string{"alice", "carol"}) {
			t.Errorf("the interns' token lists %v", got)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: tok}); r.status != http.StatusOK {
			t.Errorf("the interns' token reads alice: %d", r.status)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/bob", auth: tok}); r.status != http.StatusNotFound {
			t.Errorf("the interns' token reads bob, no intern: %d", r.status)
		}
		if r := th.do(nil, req{method: "DELETE", path: "/hub/api/groups/interns/users", auth: root, body: map[string]any{"users": []string{"alice"}}}); r.status != http.StatusOK {
			t.Fatalf("removing alice = %d", r.status)
		}
		if got := listed(); !slices.Equal(got, []string{"carol"}) {
			t.Errorf("after alice left, the interns' token lists %v", got)
		}
		if r := th.do(nil, req{method: "GET", path: "/hub/api/users/alice", auth: tok}); r.status != http.StatusNotFound {
			t.Errorf("after alice left, the interns' token reads her: %d", r.status)
		}
		// A plain user cannot make a token with a group's filter.
		r := th.do(nil, req{method: "POST", path: "/hub/api/users/carol/tokens", auth: "token " + th.token("carol"), body: map[string]any{"scopes": []string{"read:users!group=interns"}}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.message(t), "does not hold") {
			t.Errorf("carol's token with read:users!group=interns = %d %s, want 400", r.status, r.body)
		}
	})
}

// TestAccessServersByGroup: a token with access:servers!group=NAME
// reaches the servers of the group's members, not of others, and stops
// reaching a member the moment they leave the group.
func TestAccessServersByGroup(t *testing.T) {
	fx := newMatrixFixture(t)
	fh := newMatrixHub(t, fx, true)
	get := func(scope string) int {
		r := httptest.NewRequest("GET", "http://hub.test/user/alice/api", nil)
		r.Header.Set("Authorization", "token "+fx.secrets[scope])
		return serve(fh, r)
	}
	physics, maths := "access:servers!group=physics", "access:servers!group=maths"
	if code := get(physics); code != http.StatusOK {
		t.Errorf("physics' token on alice, a member: %d", code)
	}
	if code := get(maths); code != http.StatusNotFound {
		t.Errorf("maths' token on alice, no member: %d, want 404", code)
	}
	ctx := context.Background()
	if _, err := fh.auth.Store.RemoveGroupMembers(ctx, "physics", []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if code := get(physics); code != http.StatusNotFound {
		t.Errorf("physics' token on alice, who left: %d, want 404", code)
	}
	if _, err := fh.auth.Store.AddGroupMembers(ctx, "maths", []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if code := get(maths); code != http.StatusOK {
		t.Errorf("maths' token on alice, who joined: %d", code)
	}
}
