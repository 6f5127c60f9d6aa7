package hub

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/auth"
)

const paginationMediaType = "application/jupyterhub-pagination+json"

// listUsers is GET /hub/api/users: offset, limit, name_filter, state,
// and sparkhub's sort; paginated with JupyterHub's media type.
func (h *Hub) listUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := auth.UserQuery{}
	if !p.Can(auth.ScopeListUsers, "") {
		if !p.Scopes.HasAny(auth.ScopeListUsers) {
			return need(p, auth.ScopeListUsers, "")
		}
		q.Names = filteredUsers(p.Scopes, auth.ScopeListUsers)
	}
	paged := strings.Contains(r.Header.Get("Accept"), paginationMediaType)
	qs := r.URL.Query()
	var err error
	if q.Offset, err = intParam(qs, "offset", 0); err != nil {
		return err
	}
	defLimit := h.opts.APIPageMaxLimit
	if paged {
		defLimit = h.opts.APIPageDefaultLimit
	}
	if q.Limit, err = intParam(qs, "limit", defLimit); err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = defLimit
	}
	q.Limit = min(q.Limit, h.opts.APIPageMaxLimit)
	q.NameFilter = qs.Get("name_filter")
	q.Order = qs.Get("sort")
	switch state := qs.Get("state"); state {
	case "", "inactive":
	case "active", "ready":
		live := []string{}
		if h.servers != nil {
			live = h.servers.LiveUsers(state == "ready")
		}
		q.Names = intersect(q.Names, live)
	default:
		return errorf(http.StatusBadRequest, "state must be active, ready or inactive, not %q.", truncate(state, 30))
	}
	users, total, err := h.users.ListUsers(r.Context(), q)
	if err != nil {
		return err
	}
	items, err := h.userModels(r.Context(), users, p)
	if err != nil {
		return err
	}
	if !paged {
		if int64(q.Offset+len(items)) < total && len(items) == h.opts.APIPageMaxLimit {
			h.log.InfoContext(r.Context(), "truncated user list", "limit", h.opts.APIPageMaxLimit, "total", total)
		}
		body, err := appendUserModels(make([]byte, 0, 256*len(items)+2), items)
		if err != nil {
			return err
		}
		writeRawJSON(w, http.StatusOK, append(body, '\n'))
		return nil
	}
	var next any
	if end := q.Offset + len(items); int64(end) < total {
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(end))
		nq.Set("limit", strconv.Itoa(q.Limit))
		next = map[string]any{"offset": end, "limit": q.Limit, "url": h.absURL(r, r.URL.Path+"?"+nq.Encode())}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"items":       items,
		"_pagination": map[string]any{"offset": q.Offset, "limit": q.Limit, "total": total, "next": next},
	})
	return nil
}

// filteredUsers lists the users a scope is held on through filters.
func filteredUsers(s auth.Scopes, scope string) []string {
	names := []string{}
	for k := range s {
		if u, ok := strings.CutPrefix(k, scope+"!user="); ok {
			names = append(names, u)
		}
	}
	return names
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf(http.StatusBadRequest, "%s must be a whole number of 0 or more, not %q.", name, truncate(v, 20))
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// absURL makes an absolute URL on this hub, as JupyterHub's next.url is.
func (h *Hub) absURL(r *http.Request, pathAndQuery string) string {
	scheme := "http"
	if h.auth.Proxies().IsHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + h.auth.Proxies().Host(r) + pathAndQuery
}

// userFor loads the named user after checking that p holds scope on
// them; a user p may not see is a 404 either way.
func (h *Hub) userFor(r *http.Request, p *auth.Principal, scope string) (*auth.User, error) {
	name := r.PathValue("name")
	if err := need(p, scope, name); err != nil {
		return nil, err
	}
	u, err := h.users.UserByName(r.Context(), name)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "There is no user %q.", truncate(name, 40))
	}
	return u, err
}

func (h *Hub) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeReadUsers)
	if err != nil {
		return err
	}
	m, err := h.userModel1(r.Context(), u, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// intersect keeps the names of b that are in a; a nil a keeps all of b.
func intersect(a, b []string) []string {
	if a == nil {
		return b
	}
	in := make(map[string]bool, len(a))
	for _, n := range a {
		in[n] = true
	}
	out := []string{}
	for _, n := range b {
		if in[n] {
			out = append(out, n)
		}
	}
	return out
}

// createUsers is POST /hub/api/users: {"usernames": [...], "admin": bool}.
// Invalid names fail the whole request; 409 when every name is taken.
func (h *Hub) createUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeAdminUsers, ""); err != nil {
		return err
	}
	var body struct {
		Usernames []string `json:"usernames"`
		Admin     bool     `json:"admin"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	if len(body.Usernames) == 0 {
		return errorf(http.StatusBadRequest, "Give at least one name in \"usernames\".")
	}
	if len(body.Usernames) > 10000 {
		return errorf(http.StatusBadRequest, "Create at most 10000 users in one request.")
	}
	for i, n := range body.Usernames {
		body.Usernames[i] = strings.TrimSpace(n)
		if err := auth.ValidateName(body.Usernames[i]); err != nil {
			return err
		}
	}
	created, err := h.users.CreateUsers(r.Context(), body.Usernames, body.Admin)
	if err != nil {
		return err
	}
	if len(created) == 0 {
		return errorf(http.StatusConflict, "All of these users already exist.")
	}
	out := make([]userModel, len(created))
	for i, u := range created {
		out[i] = userModelFor(u, p, nil)
	}
	h.log.InfoContext(r.Context(), "users created", logAttrsUser(p), "count", len(created), "admin", body.Admin)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// createUser is POST /hub/api/users/{name}, with an optional {"admin": bool}.
func (h *Hub) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeAdminUsers, ""); err != nil {
		return err
	}
	var body struct {
		Admin bool `json:"admin"`
	}
	if err := decode(r, &body, true); err != nil {
		return err
	}
	name := r.PathValue("name")
	u, err := h.users.CreateUser(r.Context(), name, body.Admin, "")
	if errors.Is(err, auth.ErrExists) {
		return errorf(http.StatusConflict, "User %s already exists.", name)
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "user created", logAttrsUser(p), "name", u.Name, "admin", u.Admin)
	writeJSON(w, http.StatusCreated, userModelFor(u, p, nil))
	return nil
}

// patchUser is PATCH /hub/api/users/{name}: rename, admin, and
// sparkhub's disabled and password.
func (h *Hub) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeAdminUsers, r.PathValue("name")); err != nil {
		return err
	}
	var body struct {
		Name      *string        `json:"name"`
		Admin     *bool          `json:"admin"`
		Disabled  *bool          `json:"disabled"`
		Password  *string        `json:"password"`
		AuthState map[string]any `json:"auth_state"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	name := r.PathValue("name")
	var hash string
	if body.Password != nil {
		var err error
		if hash, err = h.auth.Passwords.Hash(*body.Password); err != nil {
			return err
		}
	}
	if body.Name != nil {
		*body.Name = strings.TrimSpace(*body.Name)
	}
	var out *auth.User
	err := h.db.WithContext(r.Context()).Transaction(func(tx *gorm.DB) error {
		st := h.users.WithTx(tx)
		before, err := st.UserByName(r.Context(), name)
		if err != nil {
			return err
		}
		if (body.Admin != nil && !*body.Admin) || (body.Disabled != nil && *body.Disabled) {
			if err := st.KeepAnAdmin(r.Context(), before); err != nil {
				return err
			}
		}
		renaming := body.Name != nil && *body.Name != name
		if renaming {
			if _, err := st.UserByName(r.Context(), *body.Name); err == nil {
				return errorf(http.StatusConflict, "User %s already exists.", *body.Name)
			}
			if h.serverLive(name) {
				return errorf(http.StatusBadRequest, "Stop the server of %s before renaming them.", name)
			}
		}
		u, err := st.UpdateUser(r.Context(), name, auth.UserChange{Name: body.Name, Admin: body.Admin, Disabled: body.Disabled})
		if err != nil {
			return err
		}
		if hash != "" {
			if err := st.SetPasswordHash(r.Context(), u.Name, hash); err != nil {
				return err
			}
		}
		if renaming && h.deps.RenameUserData != nil {
			if err := h.deps.RenameUserData(r.Context(), tx, name, u.Name); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	h.users.Changed()
	if errors.Is(err, auth.ErrNotFound) {
		return errorf(http.StatusNotFound, "There is no user %q.", truncate(name, 40))
	}
	if errors.Is(err, auth.ErrExists) {
		return errorf(http.StatusConflict, "That name is taken.")
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "user changed", logAttrsUser(p), "name", name, "new_name", out.Name, "admin", out.Admin, "disabled", out.Disabled, "password_changed", hash != "")
	m, err := h.userModel1(r.Context(), out, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// deleteUser is DELETE /hub/api/users/{name}.
func (h *Hub) deleteUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if err := need(p, auth.ScopeDeleteUsers, name); err != nil {
		return err
	}
	if h.serverLive(name) {
		if err := h.stopForDelete(r, name); err != nil {
			return err
		}
	}
	err := h.db.WithContext(r.Context()).Transaction(func(tx *gorm.DB) error {
		st := h.users.WithTx(tx)
		u, err := st.UserByName(r.Context(), name)
		if err != nil {
			return err
		}
		if err := st.KeepAnAdmin(r.Context(), u); err != nil {
			return err
		}
		if h.deps.DeleteUserData != nil {
			if err := h.deps.DeleteUserData(r.Context(), tx, name); err != nil {
				return err
			}
		}
		return st.DeleteUser(r.Context(), name)
	})
	h.users.Changed()
	if errors.Is(err, auth.ErrNotFound) {
		return errorf(http.StatusNotFound, "There is no user %q.", truncate(name, 40))
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "user deleted", logAttrsUser(p), "name", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeSessions is DELETE /hub/api/users/{name}/sessions: log the user
// out of every browser (sparkhub's own endpoint).
func (h *Hub) revokeSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if p.User.Name != name {
		if err := need(p, auth.ScopeAdminUsers, name); err != nil {
			return err
		}
	}
	if err := h.users.RevokeSessions(r.Context(), name); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return errorf(http.StatusNotFound, "There is no user %q.", truncate(name, 40))
		}
		return err
	}
	h.log.InfoContext(r.Context(), "sessions revoked", logAttrsUser(p), "name", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
