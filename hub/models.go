package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/internal/jsonw"
	"github.com/sparkhub/sparkhub/spawner"
)

// isoTime marshals as JupyterHub does: ISO 8601 in UTC with microseconds
// and a Z; the zero time is null.
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) { return t.appendJSON(nil), nil }

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

// Shared by every model, never changed: a list of 10,000 users made
// these anew for each.
var (
	userRoles  = []string{"user"}
	adminRoles = []string{"admin", "user"}
	noServers  = map[string]serverModel{}
)

// userModelFor builds the model of u as p may see it, with its default
// server (nil when no spawner runs): the servers only with read:servers
// on that user, and only a server that is starting, running or stopping,
// as JupyterHub lists them, unless stopped (?include_stopped_servers)
// asks for a stopped one too: one that was ever started, shown as
// JupyterHub shows it (stopped, not ready, pending null, keeping its
// started, last_activity and user_options).
func userModelFor(u *auth.User, p *auth.Principal, srv *spawner.Model, stopped bool) userModel {
	roles := userRoles
	if u.Admin {
		roles = adminRoles
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
	var servers map[string]serverModel
	if srv != nil {
		if srv.Pending != "" {
			pending := srv.Pending
			m.Pending = &pending
		}
		if srv.Ready {
			url := srv.URL
			m.Server = &url
		}
		if srv.LastActivity != nil && (u.LastActivity == nil || srv.LastActivity.After(*u.LastActivity)) {
			m.LastActivity = isoPtr(srv.LastActivity)
		}
		if srv.State.Live() || (stopped && srv.Started != nil) {
			servers = map[string]serverModel{"": serverModelFor(*srv, p.Can(auth.ScopeAdminServerState, u.Name))}
		}
	}
	if p.Can(auth.ScopeReadServers, u.Name) {
		if servers == nil {
			m.Servers = &noServers
		} else {
			m.Servers = &servers
		}
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

// userModels builds the models of many users with one query for their
// servers and one for their groups (shown to holders of
// read:users:groups on the user).
func (h *Hub) userModels(ctx context.Context, users []*auth.User, p *auth.Principal, stopped bool) ([]userModel, error) {
	var servers map[string]spawner.Model
	if h.servers != nil && len(users) > 0 {
		var err error
		if servers, err = h.servers.Servers(ctx, serverUsers(users)); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		if p.Can(auth.ScopeReadUsersGroups, u.Name) {
			ids = append(ids, u.ID)
		}
	}
	var groups map[int64][]auth.Membership
	if len(ids) > 0 {
		var err error
		if groups, err = h.users.UserGroups(ctx, ids); err != nil {
			return nil, err
		}
	}
	out := make([]userModel, len(users))
	for i, u := range users {
		var srv *spawner.Model
		if m, ok := servers[u.Name]; ok {
			srv = &m
		}
		out[i] = userModelFor(u, p, srv, stopped)
		if ms := groups[u.ID]; len(ms) > 0 {
			out[i].Groups = make([]string, len(ms))
			for j, m := range ms {
				out[i].Groups[j] = m.Group
			}
		}
	}
	return out, nil
}

// userModel1 is userModels for one user.
func (h *Hub) userModel1(ctx context.Context, u *auth.User, p *auth.Principal, stopped bool) (userModel, error) {
	ms, err := h.userModels(ctx, []*auth.User{u}, p, stopped)
	if err != nil {
		return userModel{}, err
	}
	return ms[0], nil
}

// includeStopped is JupyterHub's ?include_stopped_servers: true unless
// absent, "0" or "false", so a bare ?include_stopped_servers is true.
func includeStopped(r *http.Request) bool {
	qs := r.URL.Query()
	if !qs.Has("include_stopped_servers") {
		return false
	}
	v := strings.ToLower(qs.Get("include_stopped_servers"))
	return v != "0" && v != "false"
}

// appendUserModels writes items as encoding/json would (HTML escaped, as
// writeJSON sets), by hand: a list of 10,000 users is most of a
// GET /hub/api/users, and reflection was a quarter of its time.
func appendUserModels(b []byte, items []userModel) ([]byte, error) {
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = items[i].appendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func (m *userModel) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, m.Kind)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, m.Name)
	b = append(b, `,"admin":`...)
	b = strconv.AppendBool(b, m.Admin)
	b = append(b, `,"roles":`...)
	b = appendStrings(b, m.Roles)
	b = append(b, `,"groups":`...)
	b = appendStrings(b, m.Groups)
	b = append(b, `,"server":`...)
	b = appendStringPtr(b, m.Server)
	b = append(b, `,"pending":`...)
	b = appendStringPtr(b, m.Pending)
	b = append(b, `,"created":`...)
	b = m.Created.appendJSON(b)
	b = append(b, `,"last_activity":`...)
	b = m.LastActivity.appendJSON(b)
	if m.Servers != nil {
		b = append(b, `,"servers":`...)
		if len(*m.Servers) == 0 {
			b = append(b, "{}"...)
		} else {
			s, err := json.Marshal(*m.Servers)
			if err != nil {
				return nil, err
			}
			b = append(b, s...)
		}
	}
	b = append(b, `,"disabled":`...)
	b = strconv.AppendBool(b, m.Disabled)
	return append(b, '}'), nil
}

func (t isoTime) appendJSON(b []byte) []byte {
	if time.Time(t).IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, '"')
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONString writes s as encoding/json does with HTML escaping.
func appendJSONString(b []byte, s string) []byte { return jsonw.AppendString(b, s, true) }
