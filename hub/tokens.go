package hub

import (
	"context"
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// The operations on API tokens, called by the REST API and the token
// page alike (see users.go).

// roleScopes are the roles JupyterHub's token API accepts, as scopes.
var roleScopes = map[string][]string{
	"token":  {auth.ScopeInherit},
	"user":   {auth.ScopeSelf},
	"server": {auth.ScopeUsersActivity, auth.ScopeAccessServers, auth.ScopeContents},
}

// tokenRequest is a token to make, as POST /hub/api/users/{name}/tokens
// takes it.
type tokenRequest struct {
	Note string `json:"note"`
	// ExpiresIn is in seconds; nil never expires.
	ExpiresIn *float64 `json:"expires_in"`
	Scopes    []string `json:"scopes"`
	Roles     []string `json:"roles"`
}

// maxTokenNote caps a token's note, in bytes.
const maxTokenNote = 1000

// issueToken makes an API token of owner's and returns it with its
// secret, which exists in this return value only. Its scopes (none: all
// of the owner's) must be held by the owner, and by p unless p manages
// the owner.
func (h *Hub) issueToken(ctx context.Context, p *auth.Principal, owner *auth.User, req tokenRequest) (*auth.Token, string, error) {
	if err := need(p, auth.ScopeTokens, owner.Name); err != nil {
		return nil, "", err
	}
	scopes, err := h.tokenScopes(p, owner, req)
	if err != nil {
		return nil, "", err
	}
	var expires time.Duration
	if req.ExpiresIn != nil {
		s := *req.ExpiresIn
		if s <= 0 || math.IsNaN(s) || s > auth.MaxTokenLifetime.Seconds() {
			return nil, "", errorf(http.StatusBadRequest, "expires_in must be a number of seconds greater than 0, or null for a token that never expires.")
		}
		expires = time.Duration(s * float64(time.Second))
	}
	if len(req.Note) > maxTokenNote {
		return nil, "", errorf(http.StatusBadRequest, "A token's note may have at most %d characters.", maxTokenNote)
	}
	note := strings.TrimSpace(req.Note)
	if note == "" {
		note = "Requested via api"
		if p.ViaCookie() {
			note = "Requested via token page"
		}
	}
	t, secret, err := h.users.CreateToken(ctx, owner.ID, auth.NewToken{Note: note, Scopes: scopes, ExpiresIn: expires})
	if err != nil {
		return nil, "", err
	}
	msg := "token created"
	if p == nil || p.User.ID != owner.ID {
		// An admin acting as someone else: said so, for the audit.
		msg = "token created for another user"
	}
	h.log.InfoContext(ctx, msg, logAttrsUser(p), "owner", owner.Name, "token_id", t.PublicID(), "scopes", strings.Join(scopes, " "))
	return t, secret, nil
}

// tokenScopes are the scopes a new token gets: those asked for, with
// the roles' added; none asked for is all of the owner's.
func (h *Hub) tokenScopes(p *auth.Principal, owner *auth.User, req tokenRequest) ([]string, error) {
	requested := req.Scopes
	for _, role := range req.Roles {
		sc, ok := roleScopes[role]
		if role == "admin" {
			sc, ok = []string{auth.ScopeInherit}, owner.Admin
		}
		if !ok {
			return nil, errorf(http.StatusBadRequest, "Unknown or unavailable role %q; use scopes, or the roles token, user or server.", httperr.Shorten(role, 30))
		}
		requested = append(requested, sc...)
	}
	scopes, err := auth.ParseScopes(requested)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		scopes = []string{auth.ScopeInherit}
	}
	held := auth.RoleScopes(owner, h.auth.AdminAccess())
	if m := auth.Missing(scopes, held, owner.Name); m != "" {
		return nil, errorf(http.StatusBadRequest, "%s does not hold the scope %s, so a token of theirs cannot have it.", owner.Name, m)
	}
	// Without --admin-access an admin does not reach another user's
	// server or notebooks, and may not mint a token that would.
	if p.User.ID != owner.ID && !h.auth.AdminAccess() {
		granted := auth.Grant(scopes, held, owner.Name)
		for _, reach := range []string{auth.ScopeAccessServers, auth.ScopeContents} {
			if granted.Has(reach, owner.Name) {
				return nil, errorf(http.StatusForbidden, "Admins may not reach other users' servers or notebooks on this hub (--admin-access is off), so a token of %s's cannot have the scope %s; give it narrower scopes.", owner.Name, reach)
			}
		}
	}
	// A token may not be given more than the caller holds either.
	if !p.Can(auth.ScopeAdminUsers, owner.Name) {
		if m := auth.Missing(scopes, p.Scopes, p.User.Name); m != "" {
			return nil, errorf(http.StatusForbidden, "You do not hold the scope %s, so you cannot give it to a token.", m)
		}
	}
	return scopes, nil
}

// revokeToken deletes owner's API token with the public id given.
func (h *Hub) revokeToken(ctx context.Context, p *auth.Principal, owner *auth.User, id string) error {
	t, err := h.tokenOf(ctx, p, auth.ScopeTokens, owner, id)
	if err != nil {
		return err
	}
	if err := h.users.DeleteToken(ctx, owner.ID, t.ID); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "token deleted", logAttrsUser(p), "owner", owner.Name, "token_id", t.PublicID())
	return nil
}

// tokenOf finds owner's API token by its public id after checking that
// p holds scope on owner; anything else is a 404.
func (h *Hub) tokenOf(ctx context.Context, p *auth.Principal, scope string, owner *auth.User, id string) (*auth.Token, error) {
	if err := need(p, scope, owner.Name); err != nil {
		return nil, err
	}
	n, ok := auth.ParsePublicID(id)
	if !ok {
		return nil, errorf(http.StatusNotFound, "There is no token %q.", httperr.Shorten(id, 30))
	}
	t, err := h.users.TokenByID(ctx, owner.ID, n)
	if errors.Is(err, auth.ErrNotFound) || err == nil && t.Kind != auth.KindAPIToken {
		return nil, errorf(http.StatusNotFound, "There is no token %q.", httperr.Shorten(id, 30))
	}
	return t, err
}
