package hub

import (
	"encoding/json"
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
)

// groupModel is JupyterHub's group model; users and properties only
// with read:groups on the group (read:groups:name shows the name).
type groupModel struct {
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Users      *[]string       `json:"users,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

func groupModelFor(g *auth.GroupInfo, p *auth.Principal) groupModel {
	m := groupModel{Kind: "group", Name: g.Name}
	if p.Scopes.HasGroup(auth.ScopeReadGroups, g.Name) {
		users := g.Users
		if users == nil {
			users = []string{}
		}
		m.Users = &users
		m.Properties = json.RawMessage(g.Properties)
	}
	return m
}

// needGroup checks that p holds one of scopes on the group named.
func needGroup(p *auth.Principal, group string, scopes ...string) error {
	if ref := p.NeedGroup(group, scopes...); ref != nil {
		return errorf(ref.Status, "%s", ref.Message)
	}
	return nil
}

// groupBody is what JupyterHub takes in a group's POST: name and roles
// are accepted (sparkhub has no roles), users are the members.
type groupBody struct {
	Name  *string  `json:"name"`
	Users []string `json:"users"`
	Roles []string `json:"roles"`
}

// groupErr turns the store's answer about group into JupyterHub's codes
// and sentences.
func groupErr(group string, err error) error {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return errorf(http.StatusNotFound, "No such group: %s", httperr.Shorten(group, 70))
	case errors.Is(err, auth.ErrExists):
		return errorf(http.StatusConflict, "Group %s already exists", httperr.Shorten(group, 70))
	}
	return err
}

// listGroups is GET /hub/api/groups: list:groups on every group, or on
// the groups of its !group= filters; offset and limit as for users.
func (h *Hub) listGroups(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := auth.GroupQuery{}
	if !p.Scopes.Has(auth.ScopeListGroups, "") {
		if !p.Scopes.HasAny(auth.ScopeListGroups) {
			return need(p, auth.ScopeListGroups, "")
		}
		q.Names = []string{}
		for k := range p.Scopes {
			filter, ok := strings.CutPrefix(k, auth.ScopeListGroups+"!")
			if !ok {
				continue
			}
			g, ok := strings.CutPrefix(filter, "group=")
			if !ok {
				return errorf(http.StatusForbidden, "Listing groups takes list:groups on every group or with group filters; this token's %s names something else.", httperr.Shorten(k, 60))
			}
			q.Names = append(q.Names, g)
		}
	}
	paged, err := h.pageParams(r, &q.Offset, &q.Limit)
	if err != nil {
		return err
	}
	groups, total, err := h.users.ListGroups(r.Context(), q)
	if err != nil {
		return err
	}
	items := make([]groupModel, len(groups))
	for i, g := range groups {
		items[i] = groupModelFor(g, p)
	}
	if !paged {
		writeJSON(w, http.StatusOK, items)
		return nil
	}
	h.writePage(w, r, items, len(items), q.Offset, q.Limit, total)
	return nil
}

// createGroups is POST /hub/api/groups: {"groups": [...], "users": [...]}.
// It takes admin:groups on every group: a filter cannot name groups
// that do not exist yet.
func (h *Hub) createGroups(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeAdminGroups, ""); err != nil {
		return err
	}
	var body struct {
		Groups []string `json:"groups"`
		Users  []string `json:"users"`
		Roles  []string `json:"roles"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	created, err := h.addGroups(r.Context(), p, body.Groups, body.Users)
	if err != nil {
		return err
	}
	out := make([]groupModel, len(created))
	for i, g := range created {
		out[i] = groupModelFor(g, p)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// getGroup is GET /hub/api/groups/{name}.
func (h *Hub) getGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if err := needGroup(p, name, auth.ScopeReadGroups, auth.ScopeReadGroupsName); err != nil {
		return err
	}
	g, err := h.users.Group(r.Context(), name)
	if err != nil {
		return groupErr(name, err)
	}
	writeJSON(w, http.StatusOK, groupModelFor(g, p))
	return nil
}

// createGroup is POST /hub/api/groups/{name}, with an optional
// {"users": [...]}.
func (h *Hub) createGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if err := needGroup(p, name, auth.ScopeAdminGroups); err != nil {
		return err
	}
	if err := auth.ValidateGroupName(name); err != nil {
		return err
	}
	var body groupBody
	if err := decode(r, &body, true); err != nil {
		return err
	}
	if body.Name != nil && *body.Name != name {
		return errorf(http.StatusBadRequest, "The body's name %q is not the group's name in the path, %q.", httperr.Shorten(*body.Name, 70), name)
	}
	created, err := h.addGroups(r.Context(), p, []string{name}, body.Users)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, groupModelFor(created[0], p))
	return nil
}

// deleteGroup is DELETE /hub/api/groups/{name}.
func (h *Hub) deleteGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name := r.PathValue("name")
	if err := h.removeGroup(r.Context(), p, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupToChange checks that p holds groups on the group the path names,
// then that it exists (so a body is judged only for a group that does),
// and returns its name.
func (h *Hub) groupToChange(r *http.Request, p *auth.Principal) (string, error) {
	name := r.PathValue("name")
	if err := h.mayChangeGroup(r.Context(), p, name); err != nil {
		return "", err
	}
	return name, nil
}

// groupUsers is POST and DELETE /hub/api/groups/{name}/users:
// {"users": [...]} to add or take out.
func (h *Hub) groupUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name, err := h.groupToChange(r, p)
	if err != nil {
		return err
	}
	var body struct {
		Users []string `json:"users"`
	}
	if err := decode(r, &body, false); err != nil {
		return err
	}
	g, err := h.changeMembers(r.Context(), p, name, body.Users, r.Method == http.MethodPost)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupModelFor(g, p))
	return nil
}

// putGroupProperties is PUT /hub/api/groups/{name}/properties: the body,
// a JSON object, replaces the group's properties.
func (h *Hub) putGroupProperties(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name, err := h.groupToChange(r, p)
	if err != nil {
		return err
	}
	var props map[string]any
	if err := decode(r, &props, true); err != nil {
		return err
	}
	if props == nil {
		return errorf(http.StatusBadRequest, "Must specify properties: a JSON object.")
	}
	g, err := h.users.SetGroupProperties(r.Context(), name, props)
	if err != nil {
		return groupErr(name, err)
	}
	writeJSON(w, http.StatusOK, groupModelFor(g, p))
	return nil
}
