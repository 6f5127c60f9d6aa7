package hub

import (
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
		q.Names = p.FilteredUsers(auth.ScopeListUsers)
	}
	paged, err := h.pageParams(r, &q.Offset, &q.Limit)
	if err != nil {
		return err
	}
	qs := r.URL.Query()
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
		return errorf(http.StatusBadRequest, "state must be active, ready or inactive, not %q.", httperr.Shorten(state, 30))
	}
	users, total, err := h.users.ListUsers(r.Context(), q)
	if err != nil {
		return err
	}
	items, err := h.userModels(r.Context(), users, p, includeStopped(r))
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
	h.writePage(w, r, items, len(items), q.Offset, q.Limit, total)
	return nil
}

// pageParams reads JupyterHub's offset and limit: limit defaults to the
// page size with the pagination media type (which it reports) and to
// the most a reply holds without it, and is never more than that.
func (h *Hub) pageParams(r *http.Request, offset, limit *int) (paged bool, err error) {
	paged = strings.Contains(r.Header.Get("Accept"), paginationMediaType)
	qs := r.URL.Query()
	if *offset, err = intParam(qs, "offset", 0); err != nil {
		return false, err
	}
	defLimit := h.opts.APIPageMaxLimit
	if paged {
		defLimit = h.opts.APIPageDefaultLimit
	}
	if *limit, err = intParam(qs, "limit", defLimit); err != nil {
		return false, err
	}
	if *limit == 0 {
		*limit = defLimit
	}
	*limit = min(*limit, h.opts.APIPageMaxLimit)
	return paged, nil
}

// writePage answers with JupyterHub's paginated shape: the n items,
// and where the next page starts when there is one.
func (h *Hub) writePage(w http.ResponseWriter, r *http.Request, items any, n, offset, limit int, total int64) {
	var next any
	if end := offset + n; int64(end) < total {
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(end))
		nq.Set("limit", strconv.Itoa(limit))
		next = map[string]any{"offset": end, "limit": limit, "url": h.absURL(r, r.URL.Path+"?"+nq.Encode())}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"items":       items,
		"_pagination": map[string]any{"offset": offset, "limit": limit, "total": total, "next": next},
	})
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf(http.StatusBadRequest, "%s must be a whole number of 0 or more, not %q.", name, httperr.Shorten(v, 20))
	}
	return n, nil
}

// absURL makes an absolute URL on this hub, as JupyterHub's next.url is.
func (h *Hub) absURL(r *http.Request, pathAndQuery string) string {
	scheme := "http"
	if h.auth.Proxies().IsHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + h.auth.Proxies().Host(r) + pathAndQuery
}

// userFor loads the user the path names after checking that p holds
// scope on them; a user p may not see is a 404 either way.
func (h *Hub) userFor(r *http.Request, p *auth.Principal, scope string) (*auth.User, error) {
	return h.userNamed(r.Context(), p, scope, r.PathValue("name"))
}

func (h *Hub) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeReadUsers)
	if err != nil {
		return err
	}
	m, err := h.userModel1(r.Context(), u, p, includeStopped(r))
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
	if err := mayManageUsers(p, ""); err != nil {
		return err
	}
	var body struct {
		Usernames []string `json:"usernames"`
		Admin     bool     `json:"admin"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	created, err := h.addUsers(r.Context(), p, body.Usernames, body.Admin)
	if err != nil {
		return err
	}
	if len(created) == 0 {
		return errorf(http.StatusConflict, "All of these users already exist.")
	}
	out := make([]userModel, len(created))
	for i, u := range created {
		out[i] = userModelFor(u, p, nil, false)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// createUser is POST /hub/api/users/{name}, with an optional {"admin": bool}.
func (h *Hub) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := mayManageUsers(p, ""); err != nil {
		return err
	}
	var body struct {
		Admin bool `json:"admin"`
	}
	if err := decode(r, &body, true); err != nil {
		return err
	}
	u, err := h.addUser(r.Context(), p, r.PathValue("name"), body.Admin)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userModelFor(u, p, nil, false))
	return nil
}

// patchUser is PATCH /hub/api/users/{name}: rename, admin, and
// sparkhub's disabled, password and, with it, revoke_tokens.
func (h *Hub) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if err := mayManageUsers(p, name); err != nil {
		return err
	}
	var body struct {
		Name     *string `json:"name"`
		Admin    *bool   `json:"admin"`
		Disabled *bool   `json:"disabled"`
		Password *string `json:"password"`
		// With password: revoke the user's API tokens too.
		RevokeTokens bool `json:"revoke_tokens"`
		// Sent by JupyterHub's clients; sparkhub keeps no auth state.
		AuthState map[string]any `json:"auth_state"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	u, err := h.changeUser(r.Context(), p, name, userChange{Name: body.Name, Admin: body.Admin, Disabled: body.Disabled, Password: body.Password, RevokeTokens: body.RevokeTokens})
	if err != nil {
		return err
	}
	m, err := h.userModel1(r.Context(), u, p, includeStopped(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// deleteUser is DELETE /hub/api/users/{name}.
func (h *Hub) deleteUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := h.removeUser(r.Context(), p, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeSessions is DELETE /hub/api/users/{name}/sessions: log the user
// out of every browser (sparkhub's own endpoint).
func (h *Hub) revokeSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := h.endSessions(r.Context(), p, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
