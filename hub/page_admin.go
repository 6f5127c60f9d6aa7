package hub

import (
	"context"
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// adminPageSize is how many users the admin page shows at once.
const adminPageSize = 50

// adminView is the admin page's search, sort and page, read from the
// query (GET) or the form's hidden fields (POST), always valid.
type adminView struct {
	Q    string
	Sort string
	Page int
}

var adminSorts = map[string]bool{"name": true, "-name": true, "created": true, "-created": true, "last_activity": true, "-last_activity": true, "admin": true, "-admin": true}

func adminViewOf(v url.Values) adminView {
	av := adminView{Q: strings.ToLower(strings.TrimSpace(v.Get("q"))), Sort: v.Get("sort"), Page: 1}
	if len(av.Q) > 30 {
		av.Q = av.Q[:30]
	}
	if !adminSorts[av.Sort] {
		av.Sort = "name"
	}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 1 && n < 1_000_000 {
		av.Page = n
	}
	return av
}

// Query is the view as a query string, with done and u added when given.
func (av adminView) Query(done, user string) string {
	q := url.Values{}
	if av.Q != "" {
		q.Set("q", av.Q)
	}
	if av.Sort != "name" {
		q.Set("sort", av.Sort)
	}
	if av.Page > 1 {
		q.Set("page", strconv.Itoa(av.Page))
	}
	if done != "" {
		q.Set("done", done)
	}
	if user != "" {
		q.Set("u", user)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// SortLink is the URL that sorts by col: ascending first, then the other
// way when already sorted by it.
func (av adminView) SortLink(col string) string {
	n := adminView{Q: av.Q, Sort: col, Page: 1}
	if av.Sort == col {
		n.Sort = "-" + col
	}
	return "/hub/admin" + n.Query("", "")
}

// SortMark is aria-sort for a column header.
func (av adminView) SortMark(col string) string {
	switch av.Sort {
	case col:
		return "ascending"
	case "-" + col:
		return "descending"
	}
	return "none"
}

// PageLink is the URL of page n of the same search.
func (av adminView) PageLink(n int) string {
	return "/hub/admin" + adminView{Q: av.Q, Sort: av.Sort, Page: n}.Query("", "")
}

type adminRow struct {
	User   *auth.User
	Server *serverView
	Self   bool
	Log    []string
	// Groups are the user's groups, each saying whether the login
	// provider gave it.
	Groups []auth.Membership
}

// adminSummary is the line above the table.
type adminSummary struct {
	Users, Running, Spawning int64
}

// adminNotices are what a finished action says; u names the user.
var adminNotices = map[string]string{
	"started":  "The server of %s is starting.",
	"running":  "The server of %s is running.",
	"stopped":  "The server of %s has stopped.",
	"stopping": "The server of %s is stopping.",
	"admin":    "%s is now an admin.",
	"unadmin":  "%s is no longer an admin.",
	"revoked":  "%s has been logged out of every browser.",
	"deleted":  "%s has been deleted, with their notebooks and tokens.",
}

func (h *Hub) requireAdmin(w http.ResponseWriter, r *http.Request, p *auth.Principal) bool {
	if p.Can(auth.ScopeAdminUsers, "") {
		return true
	}
	h.ErrorPage(w, r, http.StatusForbidden, "Only admins can see this page.")
	return false
}

// adminPage is GET /hub/admin: one page of users, searched, sorted and
// paged in the database, so it stays quick with many thousands.
func (h *Hub) adminPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !h.requireAdmin(w, r, p) {
		return
	}
	av := adminViewOf(r.URL.Query())
	extra := map[string]any{}
	done, who := r.URL.Query().Get("done"), r.URL.Query().Get("u")
	if f, ok := adminNotices[done]; ok && auth.ValidateName(who) == nil {
		extra["Notice"] = strings.Replace(f, "%s", who, 1)
	}
	if n := adminGroupNotice(r.URL.Query()); n != "" {
		extra["Notice"] = n
	}
	if done == "added" {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		extra["Notice"] = "Added " + plural(n, "user") + "."
		if s, _ := strconv.Atoi(r.URL.Query().Get("skipped")); s > 0 {
			extra["Notice"] = extra["Notice"].(string) + " " + plural(s, "name") + " already existed and " + isAre(s) + " unchanged."
		}
	}
	if done == "password" && auth.ValidateName(who) == nil {
		if pw, ok := h.once.take(p.User.ID, r.URL.Query().Get("shown")); ok {
			extra["NewPassword"], extra["NewPasswordFor"] = pw, who
			extra["TokensRevoked"] = r.URL.Query().Get("tokens") == "revoked"
		} else {
			extra["Notice"] = "The new password of " + who + " was shown once and is not shown again; reset it again if it was lost."
		}
	}
	h.renderAdmin(w, r, p, http.StatusOK, av, extra)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func isAre(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func (h *Hub) renderAdmin(w http.ResponseWriter, r *http.Request, p *auth.Principal, code int, av adminView, extra map[string]any) {
	ctx := r.Context()
	q := auth.UserQuery{NameFilter: av.Q, Order: av.Sort, Offset: (av.Page - 1) * adminPageSize, Limit: adminPageSize}
	users, total, err := h.users.ListUsers(ctx, q)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	pages := max(1, int((total+adminPageSize-1)/adminPageSize))
	if av.Page > pages {
		av.Page = pages
		q.Offset = (av.Page - 1) * adminPageSize
		if users, total, err = h.users.ListUsers(ctx, q); err != nil {
			h.errorPage(w, r, err)
			return
		}
	}
	rows := make([]adminRow, len(users))
	var servers map[string]spawner.Model
	var logs map[string][]string // a failed or stopped server's last lines
	if h.servers != nil && len(users) > 0 {
		su := serverUsers(users)
		if servers, err = h.servers.Servers(ctx, su); err != nil {
			h.errorPage(w, r, err)
			return
		}
		if logs, err = h.servers.StoppedLogs(ctx, su); err != nil {
			h.errorPage(w, r, err)
			return
		}
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	groups, err := h.users.UserGroups(ctx, ids)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	for i, u := range users {
		rows[i] = adminRow{User: u, Self: u.Name == p.User.Name, Log: logs[u.Name], Groups: groups[u.ID]}
		if m, ok := servers[u.Name]; ok {
			v := h.viewOf(r, m)
			rows[i].Server = &v
		}
	}
	sum, err := h.adminSummary(ctx)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	data := h.pageData(w, r, p, "Admin")
	data["View"] = av
	data["Rows"] = rows
	data["Total"] = total
	data["Pages"] = pages
	data["First"] = min(int64(q.Offset+1), total)
	data["Last"] = int64(q.Offset + len(users))
	if av.Page > 1 {
		data["Prev"] = av.PageLink(av.Page - 1)
	}
	if av.Page < pages {
		data["Next"] = av.PageLink(av.Page + 1)
	}
	data["Summary"] = sum
	data["Profiles"] = h.profileViews(h.profiles.Profiles)
	data["Servers"] = h.servers != nil
	if err := h.adminGroupsData(r, p, data); err != nil {
		h.errorPage(w, r, err)
		return
	}
	data["Return"] = av
	for k, v := range extra {
		data[k] = v
	}
	h.render(w, r, code, "admin.html", data)
}

// adminSummary counts users in the database and servers in memory.
func (h *Hub) adminSummary(ctx context.Context) (adminSummary, error) {
	n, err := h.users.CountUsers(ctx)
	if err != nil {
		return adminSummary{}, err
	}
	s := adminSummary{Users: n}
	if h.servers != nil {
		for _, name := range h.servers.LiveUsers(false) {
			switch _, _, st, ok := h.servers.Route(name); {
			case ok:
				s.Running++
			case st == spawner.Spawning:
				s.Spawning++
			}
		}
	}
	return s, nil
}

// adminAddUsers is POST /hub/admin/users: names one per line (commas and
// spaces also split), made by addUsers as the API's POST /hub/api/users
// makes them.
func (h *Hub) adminAddUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !h.requireAdmin(w, r, p) {
		return
	}
	av := adminViewOf(r.PostForm)
	raw := r.PostForm.Get("usernames")
	uniq := splitNames(raw)
	fail := func(code int, msg string) {
		h.renderAdmin(w, r, p, code, av, map[string]any{"AddError": msg, "AddNames": raw, "AddAdmin": r.PostForm.Get("admin") != ""})
	}
	if len(uniq) == 0 {
		fail(http.StatusBadRequest, "Type at least one username, one per line.")
		return
	}
	created, err := h.addUsers(r.Context(), p, uniq, r.PostForm.Get("admin") != "")
	var bad *badNameError
	if errors.As(err, &bad) {
		fail(http.StatusBadRequest, "“"+httperr.Shorten(bad.name, 40)+"” cannot be a username: "+bad.Error()+".")
		return
	}
	if err != nil {
		code, msg := status(err)
		if code == http.StatusInternalServerError {
			h.errorPage(w, r, err)
			return
		}
		fail(code, msg)
		return
	}
	// None created (all of them exist) changed nothing, which the notice
	// says.
	q := av.Query("added", "")
	q += "&n=" + strconv.Itoa(len(created)) + "&skipped=" + strconv.Itoa(len(uniq)-len(created))
	http.Redirect(w, r, "/hub/admin"+q, http.StatusSeeOther)
}

// adminAction is POST /hub/admin/users/{name}/{action}: the per-user
// buttons, each the same operation as the API's.
func (h *Hub) adminAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !h.requireAdmin(w, r, p) {
		return
	}
	name, action := r.PathValue("name"), r.PathValue("action")
	av := adminViewOf(r.PostForm)
	var done string
	var err error
	switch action {
	case "start":
		if h.servers == nil {
			err = errorf(http.StatusServiceUnavailable, "This hub runs no servers.")
			break
		}
		var u *auth.User
		if u, err = h.users.UserByName(r.Context(), name); errors.Is(err, auth.ErrNotFound) {
			err = serverError(name, spawner.ErrNoUser)
			break
		} else if err != nil {
			break
		}
		var profile string
		if profile, err = h.chooseProfile(r.Context(), u.ID, u.Name, ""); err != nil {
			break
		}
		ctx, cancel := context.WithTimeout(r.Context(), formWait)
		var ready bool
		ready, err = h.servers.Start(ctx, serverUser(u), profile)
		cancel()
		done = "started"
		if ready {
			done = "running"
		}
		err = h.startError(name, profile, err)
		if err == nil {
			h.log.InfoContext(r.Context(), "server start", logAttrsUser(p), "name", name, "via", "admin page")
		}
	case "stop":
		if h.servers == nil {
			err = errorf(http.StatusServiceUnavailable, "This hub runs no servers.")
			break
		}
		ctx, cancel := context.WithTimeout(r.Context(), formWait)
		var stopped bool
		stopped, err = h.servers.Stop(ctx, name)
		cancel()
		done = "stopping"
		if stopped || errors.Is(err, spawner.ErrNotRunning) {
			done, err = "stopped", nil
		}
		err = serverError(name, err)
		if err == nil {
			h.log.InfoContext(r.Context(), "server stop", logAttrsUser(p), "name", name, "via", "admin page")
		}
	case "admin", "unadmin":
		admin := action == "admin"
		_, err = h.changeUser(r.Context(), p, name, userChange{Admin: &admin})
		done = action
	case "revoke":
		err = h.endSessions(r.Context(), p, name)
		done = "revoked"
	case "delete":
		if r.PostForm.Get("confirm") != name {
			err = errorf(http.StatusBadRequest, "To delete %s, type their name in the box to confirm.", name)
			break
		}
		err = h.removeUser(r.Context(), p, name)
		done = "deleted"
	case "password":
		pw := auth.RandomPassword()
		revoke := r.PostForm.Get("revoke_tokens") != ""
		_, err = h.changeUser(r.Context(), p, name, userChange{Password: &pw, RevokeTokens: revoke})
		if err == nil {
			// Shown once, on the page this redirects to; the password
			// itself stays out of the URL.
			q := av.Query("password", name) + "&shown=" + h.once.put(p.User.ID, pw)
			if revoke {
				q += "&tokens=revoked"
			}
			http.Redirect(w, r, "/hub/admin"+q, http.StatusSeeOther)
			return
		}
	default:
		h.ErrorPage(w, r, http.StatusNotFound, "There is no such action.")
		return
	}
	if err != nil {
		code, msg := status(err)
		if code == http.StatusInternalServerError {
			h.errorPage(w, r, err)
			return
		}
		h.renderAdmin(w, r, p, code, av, map[string]any{"Error": msg})
		return
	}
	http.Redirect(w, r, "/hub/admin"+av.Query(done, name), http.StatusSeeOther)
}
