package hub

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// tokenExpiries are the token page's choices, in seconds (0: never).
var tokenExpiries = []struct {
	Label   string
	Seconds int
}{
	{"1 hour", 3600},
	{"1 day", 86400},
	{"1 week", 7 * 86400},
	{"30 days", 30 * 86400},
	{"90 days", 90 * 86400},
	{"1 year", 365 * 86400},
	{"Never", 0},
}

// tokenScopeChoices are the scopes the token page offers; none ticked
// means the token can do all its owner can.
var tokenScopeChoices = []struct{ Scope, Label string }{
	{auth.ScopeContents, "Read and save notebooks (contents)"},
	{auth.ScopeAccessServers, "Use your Jupyter server (access:servers)"},
	{auth.ScopeServers, "Start and stop your server (servers)"},
	{auth.ScopeReadUsers, "Read your user details (read:users)"},
	{auth.ScopeTokens, "Manage tokens (tokens)"},
}

type tokenRow struct {
	ID           string
	Note         string
	Scopes       []string
	Created      time.Time
	LastActivity *time.Time
	ExpiresAt    *time.Time
}

// tokenPage is GET /hub/token: the caller's API tokens and a form for a
// new one.
func (h *Hub) tokenPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	h.renderTokens(w, r, p, http.StatusOK, nil)
}

func (h *Hub) renderTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal, code int, extra map[string]any) {
	tokens, err := h.users.Tokens(r.Context(), p.User.ID, auth.KindAPIToken)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	rows := make([]tokenRow, len(tokens))
	for i, t := range tokens {
		m := tokenModelFor(t, p.User.Name)
		rows[i] = tokenRow{ID: m.ID, Note: t.Note, Scopes: m.Scopes, Created: t.CreatedAt, LastActivity: t.LastActivity, ExpiresAt: t.ExpiresAt}
	}
	data := h.pageData(w, r, p, "API tokens")
	data["Tokens"] = rows
	data["Expiries"] = tokenExpiries
	data["ScopeChoices"] = tokenScopeChoices
	data["DefaultExpiry"] = 30 * 86400
	switch r.URL.Query().Get("done") {
	case "revoked":
		data["Notice"] = "The token was revoked; nothing can use it any more."
	}
	for k, v := range extra {
		data[k] = v
	}
	h.render(w, r, code, "token.html", data)
}

// tokenCreate is POST /hub/token: issueToken, as the API's token
// creation; the new token is on this answer only.
func (h *Hub) tokenCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	req := tokenRequest{Note: r.PostForm.Get("note"), Scopes: r.PostForm["scopes"]}
	if s := r.PostForm.Get("expires_in"); s != "" && s != "0" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.renderTokens(w, r, p, http.StatusBadRequest, map[string]any{"Error": "Pick when the token expires from the list."})
			return
		}
		secs := float64(n)
		req.ExpiresIn = &secs
	}
	t, secret, err := h.issueToken(r.Context(), p, p.User, req)
	if err != nil {
		code, msg := status(err)
		if code == http.StatusInternalServerError {
			h.errorPage(w, r, err)
			return
		}
		h.renderTokens(w, r, p, code, map[string]any{"Error": msg, "Note": r.PostForm.Get("note")})
		return
	}
	h.renderTokens(w, r, p, http.StatusCreated, map[string]any{"NewToken": secret, "NewTokenID": t.PublicID()})
}

// tokenRevoke is POST /hub/token/{id}/revoke: revokeToken on one of the
// caller's own tokens.
func (h *Hub) tokenRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := h.revokeToken(r.Context(), p, p.User, r.PathValue("id")); err != nil {
		h.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/hub/token?done=revoked", http.StatusSeeOther)
}
