package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// contentsAuth guards the contents service under /user/{name}/ with
// the authorizer the proxy uses, on the scope contents (auth.UserPath:
// the owner, admins only with --admin-access and logged, the login page
// for browsers, Jupyter's XSRF rule). What is the contents service's
// own: refusals are always JSON, and a cookie-authenticated browser
// without an _xsrf cookie gets one, so Jupyter's front end can write
// while the server is stopped.
func (h *Hub) contentsAuth(next http.Handler) http.Handler {
	authz := auth.NewUserPath(h.auth, auth.ScopeContents, "contents", h.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		p, ref := authz.Authorize(w, r, name)
		if ref != nil {
			h.refuse(w, r, ref)
			return
		}
		if p.ViaCookie() && !hasCookie(r, auth.XSRFCookie) {
			b := make([]byte, 24)
			rand.Read(b)
			http.SetCookie(w, &http.Cookie{
				Name: auth.XSRFCookie, Value: base64.RawURLEncoding.EncodeToString(b),
				Path: "/user/" + name + "/", SameSite: http.SameSiteLaxMode, Secure: h.auth.Proxies().IsHTTPS(r),
			})
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request the authorizer turned down, in JSON; a
// failure's cause goes through writeError, which logs a 500.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, ref *auth.Refusal) {
	switch {
	case ref.Status == http.StatusFound:
		http.Redirect(w, r, ref.Location, http.StatusFound)
	case ref.Err != nil:
		h.writeError(w, r, ref.Err)
	default:
		h.writeError(w, r, errorf(ref.Status, "%s", ref.Message))
	}
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// ContentsEnv is the spawner's environment hook: each start of a user's
// server gets a new token that may only reach that user's contents (the
// previous one is revoked), and the URL of their contents API on the hub.
// The user is the one the hub handed the spawner: no lookup here.
func ContentsEnv(store *auth.Store, hubURL string) func(ctx context.Context, u spawner.User) (map[string]string, error) {
	return func(ctx context.Context, u spawner.User) (map[string]string, error) {
		user := u.Name
		if err := store.DeleteTokens(ctx, u.ID, auth.KindServer); err != nil {
			return nil, err
		}
		_, secret, err := store.CreateToken(ctx, u.ID, auth.NewToken{
			Kind:   auth.KindServer,
			Note:   "contents access of the user's server",
			Scopes: []string{auth.ScopeContents + "!user=" + user},
		})
		if err != nil {
			return nil, err
		}
		return map[string]string{
			"SPARKHUB_CONTENTS_URL":   hubURL + "/user/" + user + "/api/contents",
			"SPARKHUB_CONTENTS_TOKEN": secret,
		}, nil
	}
}

// RevokeContentsEnv is ContentsEnv's other half, the spawner's RevokeEnv:
// once a user's server has ended, the contents token it was handed is
// revoked, so it works no longer than the server.
func RevokeContentsEnv(store *auth.Store) func(ctx context.Context, u spawner.User) error {
	return func(ctx context.Context, u spawner.User) error {
		return store.DeleteTokens(ctx, u.ID, auth.KindServer)
	}
}
