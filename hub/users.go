package hub

import (
	"context"
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
)

// The operations on users, the one way the hub changes them: the REST
// API decodes a request and calls one, a page parses its form and calls
// the same one. Each checks what the actor may do, validates, changes
// the store (which tells its own cache), does what else the change needs
// (stopping a server, moving or deleting the user's notebooks) and logs
// it. Their errors are the hub's: status turns each into the API's
// status and message, and into the sentence a page shows.

// mayManageUsers is the check addUsers, addUser (name "") and changeUser
// start with. The API makes it before it reads the body too, as
// JupyterHub does: a caller who may not act hears that, whatever they
// sent.
func mayManageUsers(p *auth.Principal, name string) error {
	return need(p, auth.ScopeAdminUsers, name)
}

// maxNewUsers caps the names of one addUsers.
const maxNewUsers = 10000

// badNameError is a name addUsers refused. Its message is the rule's
// (what the API says); the admin page names the name before it.
type badNameError struct {
	name string
	err  error
}

func (e *badNameError) Error() string { return e.err.Error() }
func (e *badNameError) Unwrap() error { return e.err }

// addUsers creates every name not taken yet, in one transaction, and
// returns the users it created: none when every name exists. A name
// that is not valid refuses them all.
func (h *Hub) addUsers(ctx context.Context, p *auth.Principal, names []string, admin bool) ([]*auth.User, error) {
	if err := mayManageUsers(p, ""); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errorf(http.StatusBadRequest, "Give at least one name in \"usernames\".")
	}
	if len(names) > maxNewUsers {
		return nil, errorf(http.StatusBadRequest, "Create at most %d users in one request.", maxNewUsers)
	}
	clean := make([]string, len(names))
	for i, n := range names {
		clean[i] = strings.TrimSpace(n)
		if err := h.checkName(clean[i]); err != nil {
			return nil, &badNameError{name: clean[i], err: err}
		}
	}
	created, err := h.users.CreateUsers(ctx, clean, admin)
	if err != nil {
		return nil, err
	}
	if len(created) > 0 {
		h.log.InfoContext(ctx, "users created", logAttrsUser(p), "count", len(created), "admin", admin)
	}
	return created, nil
}

// addUser creates one user, with no password until one is set.
func (h *Hub) addUser(ctx context.Context, p *auth.Principal, name string, admin bool) (*auth.User, error) {
	if err := mayManageUsers(p, ""); err != nil {
		return nil, err
	}
	if err := h.checkName(name); err != nil {
		return nil, err
	}
	u, err := h.users.CreateUser(ctx, name, admin, "")
	if errors.Is(err, auth.ErrExists) {
		return nil, errorf(http.StatusConflict, "User %s already exists.", name)
	}
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "user created", logAttrsUser(p), "name", u.Name, "admin", u.Admin)
	return u, nil
}

// userChange is a change to one user: nil fields stay as they are.
type userChange struct {
	Name     *string
	Admin    *bool
	Disabled *bool
	Password *string
	// RevokeTokens, with a new Password, deletes the user's API tokens
	// too; it needs tokens on them.
	RevokeTokens bool
}

// changeUser renames, grants or takes admin, disables or enables, or
// sets the password of the named user, all in one transaction, and
// returns the user as they now are. The last enabled admin stays one; a
// user is renamed only while their server is stopped, and their
// notebooks move with the name. A new password logs the user out
// everywhere and, with RevokeTokens, revokes their API tokens.
func (h *Hub) changeUser(ctx context.Context, p *auth.Principal, name string, c userChange) (*auth.User, error) {
	if err := mayManageUsers(p, name); err != nil {
		return nil, err
	}
	if c.RevokeTokens {
		if c.Password == nil {
			return nil, errorf(http.StatusBadRequest, "revoke_tokens goes with a new password; to revoke one token, delete it under /hub/api/users/%s/tokens.", httperr.Shorten(name, 40))
		}
		if err := need(p, auth.ScopeTokens, name); err != nil {
			return nil, err
		}
	}
	var hash string
	if c.Password != nil {
		var err error
		if hash, err = h.auth.Passwords.Hash(*c.Password); err != nil {
			return nil, err
		}
	}
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		c.Name = &n
	}
	var out *auth.User
	var revoked int64
	err := h.users.Transaction(ctx, func(st *auth.Store) error {
		before, err := st.UserByName(ctx, name)
		if err != nil {
			return err
		}
		if (c.Admin != nil && !*c.Admin) || (c.Disabled != nil && *c.Disabled) {
			if err := st.KeepAnAdmin(ctx, before); err != nil {
				return err
			}
		}
		renaming := c.Name != nil && *c.Name != name
		if renaming {
			if err := h.checkName(*c.Name); err != nil {
				return err
			}
			if _, err := st.UserByName(ctx, *c.Name); err == nil {
				return errorf(http.StatusConflict, "User %s already exists.", *c.Name)
			}
			if h.serverLive(name) {
				return errorf(http.StatusBadRequest, "Stop the server of %s before renaming them.", name)
			}
		}
		u, err := st.UpdateUser(ctx, name, auth.UserChange{Name: c.Name, Admin: c.Admin, Disabled: c.Disabled})
		if err != nil {
			return err
		}
		if hash != "" {
			if revoked, err = st.SetPasswordHash(ctx, u.Name, hash, c.RevokeTokens); err != nil {
				return err
			}
		}
		if renaming && h.deps.RenameUserData != nil {
			if err := h.deps.RenameUserData(ctx, st.DB(), name, u.Name); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if errors.Is(err, auth.ErrNotFound) {
		return nil, noUser(name)
	}
	if errors.Is(err, auth.ErrExists) {
		return nil, errorf(http.StatusConflict, "That name is taken.")
	}
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "user changed", logAttrsUser(p), "name", name, "new_name", out.Name, "admin", out.Admin, "disabled", out.Disabled, "password_changed", hash != "", "tokens_revoked", revoked)
	return out, nil
}

// removeUser deletes the named user with their tokens and notebooks,
// stopping their server first; the last enabled admin stays.
func (h *Hub) removeUser(ctx context.Context, p *auth.Principal, name string) error {
	if err := need(p, auth.ScopeDeleteUsers, name); err != nil {
		return err
	}
	if h.serverLive(name) {
		if err := h.stopForDelete(ctx, name); err != nil {
			return err
		}
	}
	err := h.users.Transaction(ctx, func(st *auth.Store) error {
		u, err := st.UserByName(ctx, name)
		if err != nil {
			return err
		}
		if err := st.KeepAnAdmin(ctx, u); err != nil {
			return err
		}
		if h.deps.DeleteUserData != nil {
			if err := h.deps.DeleteUserData(ctx, st.DB(), name); err != nil {
				return err
			}
		}
		return st.DeleteUser(ctx, name)
	})
	if errors.Is(err, auth.ErrNotFound) {
		return noUser(name)
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "user deleted", logAttrsUser(p), "name", name)
	return nil
}

// endSessions logs the named user out of every browser. It needs users
// on them (admins hold it through admin:users) or tokens: a browser's
// session is a credential as a token is (JupyterHub's browser sessions
// are tokens), so a user may end their own sessions, but not with a
// token that may only reach notebooks or servers.
func (h *Hub) endSessions(ctx context.Context, p *auth.Principal, name string) error {
	if err := needAny(p, name, auth.ScopeUsers, auth.ScopeTokens); err != nil {
		return err
	}
	if err := h.users.RevokeSessions(ctx, name); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return noUser(name)
		}
		return err
	}
	h.log.InfoContext(ctx, "sessions revoked", logAttrsUser(p), "name", name)
	return nil
}

// userNamed loads the named user after checking that p holds scope on
// them; a user p may not see is a 404 either way.
func (h *Hub) userNamed(ctx context.Context, p *auth.Principal, scope, name string) (*auth.User, error) {
	if err := need(p, scope, name); err != nil {
		return nil, err
	}
	u, err := h.users.UserByName(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, noUser(name)
	}
	return u, err
}

// noUser is the 404 for a user that does not exist.
func noUser(name string) error {
	return errorf(http.StatusNotFound, "There is no user %q.", httperr.Shorten(name, 40))
}
