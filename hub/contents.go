package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// contentsAuth guards the contents service under /user/{name}/: the
// owner (by cookie, or a token with the contents scope), admins only with
// --admin-access (logged). Cookie writes need X-XSRFToken equal to an
// _xsrf cookie of the request; a browser with none gets one, so Jupyter's
// front end works while the server is stopped.
func (h *Hub) contentsAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		p, err := h.auth.Authenticate(w, r)
		if errors.Is(err, auth.ErrUnauthenticated) && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" && acceptsHTML(r) {
			http.Redirect(w, r, "/hub/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		if err == nil {
			err = need(p, auth.ScopeContents, name)
		}
		if err == nil {
			err = h.auth.CheckUserXSRF(r, p)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if p.User.Name != name {
			h.log.InfoContext(r.Context(), "admin access to a user's contents", "admin", p.User.Name, "user", name, "method", r.Method, "path", r.URL.Path)
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

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
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
