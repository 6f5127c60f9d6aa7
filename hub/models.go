package hub

import (
	"time"

	"github.com/sparkhub/sparkhub/auth"
)

// isoTime marshals as JupyterHub does: ISO 8601 in UTC with microseconds
// and a Z; the zero time is null.
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000000Z") + `"`), nil
}

func isoPtr(t *time.Time) isoTime {
	if t == nil {
		return isoTime{}
	}
	return isoTime(*t)
}

// userModel is JupyterHub 3's user model.
type userModel struct {
	Kind         string                  `json:"kind"`
	Name         string                  `json:"name"`
	Admin        bool                    `json:"admin"`
	Roles        []string                `json:"roles"`
	Groups       []string                `json:"groups"`
	Server       *string                 `json:"server"`
	Pending      *string                 `json:"pending"`
	Created      isoTime                 `json:"created"`
	LastActivity isoTime                 `json:"last_activity"`
	Servers      *map[string]serverModel `json:"servers,omitempty"`
	// Sparkhub's own: whether the account may log in.
	Disabled bool `json:"disabled"`
}

// serverModel is JupyterHub 3's server model.
type serverModel struct {
	Name         string         `json:"name"`
	Ready        bool           `json:"ready"`
	Stopped      bool           `json:"stopped"`
	Pending      *string        `json:"pending"`
	URL          string         `json:"url"`
	ProgressURL  string         `json:"progress_url"`
	Started      isoTime        `json:"started"`
	LastActivity isoTime        `json:"last_activity"`
	State        map[string]any `json:"state,omitempty"`
	UserOptions  map[string]any `json:"user_options"`
}

// whoAmI is GET /hub/api/user: the user model with the caller's scopes.
type whoAmI struct {
	userModel
	Scopes    []string `json:"scopes"`
	SessionID *string  `json:"session_id"`
}

// userModelFor builds the model of u as p may see it: the servers only
// with read:servers on that user.
func userModelFor(u *auth.User, p *auth.Principal) userModel {
	roles := []string{"user"}
	if u.Admin {
		roles = []string{"admin", "user"}
	}
	m := userModel{
		Kind:         "user",
		Name:         u.Name,
		Admin:        u.Admin,
		Roles:        roles,
		Groups:       []string{},
		Created:      isoTime(u.CreatedAt),
		LastActivity: isoPtr(u.LastActivity),
		Disabled:     u.Disabled,
	}
	if p.Can(auth.ScopeReadServers, u.Name) {
		m.Servers = &map[string]serverModel{}
	}
	return m
}

// tokenModel is JupyterHub 3's token model; Token only in the answer
// that creates it.
type tokenModel struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	User         string   `json:"user"`
	Roles        []string `json:"roles"`
	Scopes       []string `json:"scopes"`
	Note         string   `json:"note"`
	Created      isoTime  `json:"created"`
	ExpiresAt    isoTime  `json:"expires_at"`
	LastActivity isoTime  `json:"last_activity"`
	SessionID    *string  `json:"session_id"`
	OAuthClient  *string  `json:"oauth_client"`
	Token        string   `json:"token,omitempty"`
}

func tokenModelFor(t *auth.Token, owner string) tokenModel {
	scopes := t.Scopes
	if len(scopes) == 0 {
		scopes = []string{auth.ScopeInherit}
	}
	return tokenModel{
		ID:           t.PublicID(),
		Kind:         t.Kind,
		User:         owner,
		Roles:        []string{},
		Scopes:       scopes,
		Note:         t.Note,
		Created:      isoTime(t.CreatedAt),
		ExpiresAt:    isoPtr(t.ExpiresAt),
		LastActivity: isoPtr(t.LastActivity),
	}
}
