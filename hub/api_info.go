package hub

import (
	"net/http"
	"runtime"

	"github.com/sparkhub/sparkhub/auth"
)

// jupyterHubVersion is the JupyterHub release whose REST API sparkhub
// speaks. It is what JupyterHub's clients read as the hub's version (in
// X-JupyterHub-Version and GET /hub/api): single-user servers compare it
// with their own and refuse a value that is not PEP 440, and clients
// choose features by it. sparkhub's own version is beside it.
const jupyterHubVersion = "3.0.0"

// apiRoot is GET /hub/api: the version, no login needed.
func (h *Hub) apiRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": jupyterHubVersion, "sparkhub_version": h.version})
}

// apiInfo is GET /hub/api/info, for admins (read:hub).
func (h *Hub) apiInfo(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := need(p, auth.ScopeReadHub, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":       h.version,
		"go":            runtime.Version(),
		"database":      string(h.dialect()),
		"spawner":       map[string]any{"class": h.spawner, "version": h.version},
		"authenticator": map[string]any{"class": "sparkhub", "version": h.version},
		"admin_access":  h.auth.AdminAccess(),
		"limits":        map[string]any{"max_request_body": maxBody},
		"started":       isoTime(h.startedAt),
	})
	return nil
}

// apiWhoAmI is GET /hub/api/user: the caller with its scopes.
func (h *Hub) apiWhoAmI(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	m, err := h.userModel1(r.Context(), p.User, p, includeStopped(r))
	if err != nil {
		return err
	}
	out := whoAmI{userModel: m, Scopes: p.Scopes.List()}
	if p.ViaCookie() {
		sid := p.SessionID
		out.SessionID = &sid
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
