package hub

import (
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"net/url"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// BootstrapURL is the spawner's BootstrapURL: where a user's server
// started with a bootstrap credential (on Mesos) trades it for its
// tokens, on the hub at hubURL.
func BootstrapURL(hubURL string) func(user string) string {
	base := strings.TrimRight(hubURL, "/")
	return func(user string) string {
		return base + "/hub/api/users/" + url.PathEscape(user) + "/server/bootstrap"
	}
}

// maxBootstrapBody caps the one field the bootstrap takes.
const maxBootstrapBody = 4 << 10

// bootstrapServer is POST /hub/api/users/{name}/server/bootstrap, with
// {"credential": "..."}: a server the hub started with a bootstrap
// credential in its task trades it for {"env": {...}}, its token
// (JUPYTER_TOKEN) and contents URL and token. JupyterHub has no such
// call: its spawners hand servers their tokens in their environment.
//
// Who may use it: whoever holds the credential, once, for the user the
// credential was made for, while that user's start is under way and
// before its deadline. No session or API token counts (none is read), so
// no user, admin or script can fetch a server's tokens through it. Every
// refusal is a 403 with a sentence, logged with the caller's address; a
// credential traded twice also stops the server it was made for.
func (h *Hub) bootstrapServer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBootstrapBody)
	name := r.PathValue("name")
	var body struct {
		Credential string `json:"credential"`
	}
	if err := decode(r, &body, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	if body.Credential == "" {
		h.writeError(w, r, errorf(http.StatusBadRequest, "The request needs the server's bootstrap credential in \"credential\"."))
		return
	}
	refuse := func(why error, msg string) {
		h.log.WarnContext(r.Context(), "server bootstrap refused", "user", httperr.Shorten(name, 40), "reason", why.Error(),
			"addr", h.auth.Proxies().ClientAddr(r).String())
		h.writeError(w, r, errorf(http.StatusForbidden, "%s", msg))
	}
	u, err := h.users.UserByName(r.Context(), name)
	if errors.Is(err, auth.ErrNotFound) {
		// As for anyone else's credential: the caller learns nothing of
		// who exists.
		refuse(spawner.ErrBootstrapUnknown, bootstrapUnknown)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	env, err := h.servers.Bootstrap(r.Context(), serverUser(u), body.Credential)
	switch {
	case errors.Is(err, spawner.ErrBootstrapUnknown):
		refuse(err, bootstrapUnknown)
	case errors.Is(err, spawner.ErrBootstrapUsed):
		refuse(err, "This bootstrap credential was used already: a server trades it once. The server it was made for has been stopped; start it again.")
	case errors.Is(err, spawner.ErrBootstrapExpired):
		refuse(err, "This bootstrap credential has expired: the server's start took longer than the hub waits. Start the server again.")
	case err != nil:
		h.writeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"env": env})
	}
}

const bootstrapUnknown = "This bootstrap credential is not that of a server of this user that is starting."
