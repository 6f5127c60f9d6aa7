package hub

import (
	"context"
	"net/http"

	"github.com/sparkhub/sparkhub/auth"
)

// The operations on groups, the one way the hub changes them: the REST
// API's groups endpoints decode a request and call one, the admin page
// parses its form and calls the same one. Each checks the actor's
// groups scopes on the group named, validates, changes the store and
// logs it; their errors are groupErr's, which status turns into the
// API's codes and the page's sentences.

// addGroups makes each named group, made in the hub, with users as its
// members. It takes admin:groups on each group. A bad name or a user
// who does not exist changes nothing; a name taken ends it with a 409
// naming the group, and the groups made before it stay, as JupyterHub
// does.
func (h *Hub) addGroups(ctx context.Context, p *auth.Principal, names, users []string) ([]*auth.GroupInfo, error) {
	if len(names) == 0 {
		return nil, errorf(http.StatusBadRequest, "Must specify at least one group to create")
	}
	for _, g := range names {
		if err := needGroup(p, g, auth.ScopeAdminGroups); err != nil {
			return nil, err
		}
		if err := auth.ValidateGroupName(g); err != nil {
			return nil, err
		}
	}
	created, err := h.users.CreateGroups(ctx, names, users)
	for _, g := range created {
		h.log.InfoContext(ctx, "group created", logAttrsUser(p), "group", g.Name, "members", len(g.Users))
	}
	if err != nil {
		name := ""
		if len(created) < len(names) {
			name = names[len(created)]
		}
		return created, groupErr(name, err)
	}
	return created, nil
}

// removeGroup deletes the group and its memberships; it takes
// delete:groups on it.
func (h *Hub) removeGroup(ctx context.Context, p *auth.Principal, name string) error {
	if err := needGroup(p, name, auth.ScopeDeleteGroups); err != nil {
		return err
	}
	if err := h.users.DeleteGroup(ctx, name); err != nil {
		return groupErr(name, err)
	}
	h.log.InfoContext(ctx, "group deleted", logAttrsUser(p), "group", name)
	return nil
}

// mayChangeGroup checks that p holds groups on the group named, then
// that it exists, so a caller who may not change it hears that first
// and one who may hears of a missing group before anything else.
func (h *Hub) mayChangeGroup(ctx context.Context, p *auth.Principal, name string) error {
	if err := needGroup(p, name, auth.ScopeGroups); err != nil {
		return err
	}
	if _, err := h.users.Group(ctx, name); err != nil {
		return groupErr(name, err)
	}
	return nil
}

// changeMembers adds the users to the group (add) or takes them out; it
// takes groups on the group. A member added here is the hub's: no login
// takes them out. A name of no user changes nothing.
func (h *Hub) changeMembers(ctx context.Context, p *auth.Principal, group string, users []string, add bool) (*auth.GroupInfo, error) {
	if err := h.mayChangeGroup(ctx, p, group); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		if add {
			return nil, errorf(http.StatusBadRequest, "Must specify users to add")
		}
		return nil, errorf(http.StatusBadRequest, "Must specify users to delete")
	}
	var g *auth.GroupInfo
	var err error
	if add {
		g, err = h.users.AddGroupMembers(ctx, group, users)
	} else {
		g, err = h.users.RemoveGroupMembers(ctx, group, users)
	}
	if err != nil {
		return nil, groupErr(group, err)
	}
	h.log.InfoContext(ctx, "group members changed", logAttrsUser(p), "group", group, "added", add, "users", len(users))
	return g, nil
}
