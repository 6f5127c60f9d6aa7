package hub

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
)

// adminGroupsShown is how many groups the admin page lists; the groups
// API pages through all of them.
const adminGroupsShown = 200

// adminGroupNotices are what a finished group action says: %g names
// the group, %n counts the users.
var adminGroupNotices = map[string]string{
	"group-created": "Group %g has been created with %n.",
	"group-deleted": "Group %g has been deleted, with its memberships.",
	"group-added":   "%n added to group %g; the hub keeps them there, whatever the login provider says.",
	"group-removed": "%n removed from group %g.",
}

// adminGroupNotice is the sentence for done, or "" when the query does
// not make one.
func adminGroupNotice(q url.Values) string {
	f, ok := adminGroupNotices[q.Get("done")]
	g := q.Get("g")
	if !ok || auth.ValidateGroupName(g) != nil {
		return ""
	}
	n, _ := strconv.Atoi(q.Get("n"))
	s := strings.Replace(f, "%g", g, 1)
	s = strings.Replace(s, "%n", plural(max(n, 0), "user"), 1)
	s = strings.ToUpper(s[:1]) + s[1:]
	if k, _ := strconv.Atoi(q.Get("provider")); k > 0 {
		s += " The login provider gave " + strconv.Itoa(k) + " of these memberships: each comes back at that member's next login while the provider still lists them."
	}
	return s
}

// splitNames is the names a form's box holds: one per line (commas,
// semicolons and spaces also split), lowercased, each once.
func splitNames(raw string) []string {
	names := strings.FieldsFunc(strings.ToLower(raw), func(c rune) bool {
		return c == '\n' || c == '\r' || c == ',' || c == ' ' || c == '\t' || c == ';'
	})
	seen := map[string]bool{}
	uniq := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	return uniq
}

// adminGroupsData adds the groups card's rows when p may read groups.
func (h *Hub) adminGroupsData(r *http.Request, p *auth.Principal, data map[string]any) error {
	if !p.Scopes.Has(auth.ScopeReadGroups, "") {
		return nil
	}
	groups, total, err := h.users.ListGroups(r.Context(), auth.GroupQuery{Limit: adminGroupsShown})
	if err != nil {
		return err
	}
	data["ShowGroups"] = true
	data["Groups"] = groups
	data["GroupsTotal"] = total
	data["GroupsMore"] = total > int64(len(groups))
	return nil
}

// adminCreateGroup is POST /hub/admin/groups: a name and, optionally,
// its first members, made by addGroups as the API's POST
// /hub/api/groups/{name} makes it.
func (h *Hub) adminCreateGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !h.requireAdmin(w, r, p) {
		return
	}
	av := adminViewOf(r.PostForm)
	name := strings.TrimSpace(r.PostForm.Get("group"))
	users := splitNames(r.PostForm.Get("usernames"))
	if name == "" {
		h.groupFail(w, r, p, av, errorf(http.StatusBadRequest, "Type a name for the new group."))
		return
	}
	created, err := h.addGroups(r.Context(), p, []string{name}, users)
	if err != nil {
		h.groupFail(w, r, p, av, err)
		return
	}
	h.groupDone(w, r, av, "group-created", created[0].Name, len(created[0].Users), 0)
}

// adminGroupAction is POST /hub/admin/groups/{name}/{action}: add and
// remove take the usernames field; delete takes the group away. Each is
// the API's operation.
func (h *Hub) adminGroupAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !h.requireAdmin(w, r, p) {
		return
	}
	name, action := r.PathValue("name"), r.PathValue("action")
	av := adminViewOf(r.PostForm)
	users := splitNames(r.PostForm.Get("usernames"))
	switch action {
	case "add", "remove":
		add := action == "add"
		if len(users) == 0 {
			verb := "add to"
			if !add {
				verb = "remove from"
			}
			h.groupFail(w, r, p, av, errorf(http.StatusBadRequest, "Type at least one username to %s the group.", verb))
			return
		}
		// Which of the memberships to remove the provider gave, for the
		// notice; read before, the change itself is changeMembers'.
		fromProvider := 0
		if !add && p.Scopes.Has(auth.ScopeReadGroups, "") {
			if g, err := h.users.Group(r.Context(), name); err == nil {
				for _, m := range g.Members {
					if m.FromProvider && slices.Contains(users, m.User) {
						fromProvider++
					}
				}
			}
		}
		if _, err := h.changeMembers(r.Context(), p, name, users, add); err != nil {
			h.groupFail(w, r, p, av, err)
			return
		}
		done := "group-added"
		if !add {
			done = "group-removed"
		}
		h.groupDone(w, r, av, done, name, len(users), fromProvider)
	case "delete":
		if err := h.removeGroup(r.Context(), p, name); err != nil {
			h.groupFail(w, r, p, av, err)
			return
		}
		h.groupDone(w, r, av, "group-deleted", name, 0, 0)
	default:
		h.ErrorPage(w, r, http.StatusNotFound, "There is no such action.")
	}
}

// groupFail shows the admin page again with err's sentence above the
// groups and the form as it was typed; a server fault is the error page.
func (h *Hub) groupFail(w http.ResponseWriter, r *http.Request, p *auth.Principal, av adminView, err error) {
	code, msg := status(err)
	if code == http.StatusInternalServerError {
		h.errorPage(w, r, err)
		return
	}
	h.renderAdmin(w, r, p, code, av, map[string]any{"GroupError": msg, "GroupName": r.PostForm.Get("group"), "GroupNames": r.PostForm.Get("usernames")})
}

// groupDone redirects to the admin page with the notice's words in the
// query.
func (h *Hub) groupDone(w http.ResponseWriter, r *http.Request, av adminView, done, group string, n, fromProvider int) {
	q := av.Query(done, "") + "&g=" + url.QueryEscape(group) + "&n=" + strconv.Itoa(n)
	if fromProvider > 0 {
		q += "&provider=" + strconv.Itoa(fromProvider)
	}
	http.Redirect(w, r, "/hub/admin"+q+"#groups-card", http.StatusSeeOther)
}
