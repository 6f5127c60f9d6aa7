package hub

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

func (h *Hub) listTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeReadTokens)
	if err != nil {
		return err
	}
	tokens, err := h.users.Tokens(r.Context(), u.ID, auth.KindAPIToken)
	if err != nil {
		return err
	}
	out := make([]tokenModel, len(tokens))
	for i, t := range tokens {
		out[i] = tokenModelFor(t, u.Name)
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_tokens": out})
	return nil
}

// roleScopes are the roles JupyterHub's token API accepts, as scopes.
var roleScopes = map[string][]string{
	"token":  {auth.ScopeInherit},
	"user":   {auth.ScopeSelf},
	"server": {auth.ScopeUsersActivity, auth.ScopeAccessServers, auth.ScopeContents},
}

// createToken is POST /hub/api/users/{name}/tokens: {note, expires_in
// (seconds), scopes, roles}. The token is in this answer and nowhere else.
func (h *Hub) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeTokens)
	if err != nil {
		return err
	}
	var body struct {
		Note      string   `json:"note"`
		ExpiresIn *float64 `json:"expires_in"`
		Scopes    []string `json:"scopes"`
		Roles     []string `json:"roles"`
	}
	if err := decode(r, &body, true); err != nil {
		return err
	}
	requested := body.Scopes
	for _, role := range body.Roles {
		sc, ok := roleScopes[role]
		if role == "admin" {
			sc, ok = []string{auth.ScopeInherit}, u.Admin
		}
		if !ok {
			return errorf(http.StatusBadRequest, "Unknown or unavailable role %q; use scopes, or the roles token, user or server.", truncate(role, 30))
		}
		requested = append(requested, sc...)
	}
	scopes, err := auth.ParseScopes(requested)
	if err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = []string{auth.ScopeInherit}
	}
	owner := auth.RoleScopes(u, h.auth.AdminAccess())
	if m := auth.Missing(scopes, owner, u.Name); m != "" {
		return errorf(http.StatusBadRequest, "%s does not hold the scope %s, so a token of theirs cannot have it.", u.Name, m)
	}
	// A token may not be given more than the caller holds either.
	if !p.Can(auth.ScopeAdminUsers, u.Name) {
		if m := auth.Missing(scopes, p.Scopes, p.User.Name); m != "" {
			return errorf(http.StatusForbidden, "You do not hold the scope %s, so you cannot give it to a token.", m)
		}
	}
	var expires time.Duration
	if body.ExpiresIn != nil {
		s := *body.ExpiresIn
		if s <= 0 || math.IsNaN(s) || s > auth.MaxTokenLifetime.Seconds() {
			return errorf(http.StatusBadRequest, "expires_in must be a number of seconds greater than 0, or null for a token that never expires.")
		}
		expires = time.Duration(s * float64(time.Second))
	}
	if len(body.Note) > 1000 {
		return errorf(http.StatusBadRequest, "A token's note may have at most 1000 characters.")
	}
	note := strings.TrimSpace(body.Note)
	if note == "" {
		note = "Requested via api"
		if p.ViaCookie() {
			note = "Requested via token page"
		}
	}
	t, secret, err := h.users.CreateToken(r.Context(), u.ID, auth.NewToken{Note: note, Scopes: scopes, ExpiresIn: expires})
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "token created", logAttrsUser(p), "owner", u.Name, "token_id", t.PublicID(), "scopes", strings.Join(scopes, " "))
	m := tokenModelFor(t, u.Name)
	m.Token = secret
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (h *Hub) tokenFor(r *http.Request, p *auth.Principal, scope string) (*auth.User, *auth.Token, error) {
	u, err := h.userFor(r, p, scope)
	if err != nil {
		return nil, nil, err
	}
	id, ok := auth.ParsePublicID(r.PathValue("id"))
	if !ok {
		return nil, nil, errorf(http.StatusNotFound, "There is no token %q.", truncate(r.PathValue("id"), 30))
	}
	t, err := h.users.TokenByID(r.Context(), u.ID, id)
	if errors.Is(err, auth.ErrNotFound) || err == nil && t.Kind != auth.KindAPIToken {
		return nil, nil, errorf(http.StatusNotFound, "There is no token %q.", truncate(r.PathValue("id"), 30))
	}
	return u, t, err
}

func (h *Hub) getToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, t, err := h.tokenFor(r, p, auth.ScopeReadTokens)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenModelFor(t, u.Name))
	return nil
}

func (h *Hub) deleteToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, t, err := h.tokenFor(r, p, auth.ScopeTokens)
	if err != nil {
		return err
	}
	if err := h.users.DeleteToken(r.Context(), u.ID, t.ID); err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "token deleted", logAttrsUser(p), "owner", u.Name, "token_id", t.PublicID())
	w.WriteHeader(http.StatusNoContent)
	return nil
}
