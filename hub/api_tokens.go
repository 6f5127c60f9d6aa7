package hub

import (
	"net/http"

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

// createToken is POST /hub/api/users/{name}/tokens: {note, expires_in
// (seconds), scopes, roles}. The token is in this answer and nowhere else.
func (h *Hub) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeTokens)
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	t, secret, err := h.issueToken(r.Context(), p, u, req)
	if err != nil {
		return err
	}
	m := tokenModelFor(t, u.Name)
	m.Token = secret
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (h *Hub) getToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeReadTokens)
	if err != nil {
		return err
	}
	t, err := h.tokenOf(r.Context(), p, auth.ScopeReadTokens, u, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenModelFor(t, u.Name))
	return nil
}

func (h *Hub) deleteToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeTokens)
	if err != nil {
		return err
	}
	if err := h.revokeToken(r.Context(), p, u, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
