package hub

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// contentsAuth guards the contents service under /user/{name}/ with
// the authorizer the proxy uses, on the scope contents (auth.UserPath:
// the owner, admins only with --admin-access and logged, the login page
// for browsers, Jupyter's XSRF rule). What is the contents service's
// own: refusals are always JSON, and a cookie-authenticated browser
// without an _xsrf cookie gets the hub's (auth.ServerXSRF), so Jupyter's
// front end can write while the server is stopped.
func (h *Hub) contentsAuth(next http.Handler) http.Handler {
	authz := auth.NewUserPath(h.auth, auth.ScopeContents, "contents", h.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		p, ref := authz.Authorize(w, r, name)
		if ref != nil {
			h.refuse(w, r, ref)
			return
		}
		done, ok := h.uploads.start(p.User.Name, r)
		if !ok {
			h.writeError(w, r, &retryError{httpError: httpError{status: http.StatusTooManyRequests,
				msg: fmt.Sprintf("You are already sending %d large files at once; wait for one to finish, then try again.", h.uploads.max)}, after: uploadRetry})
			return
		}
		defer done()
		h.contentsActivity(p, name)
		if c := h.auth.ServerXSRFCookie(r, p, name); c != nil && !hasCookie(r, auth.XSRFCookie) {
			http.SetCookie(w, c)
		}
		next.ServeHTTP(w, r)
	})
}

// contentsActivity counts a contents request let through as activity
// on the owner's server while it runs (batched with proxied traffic, and
// so the owner's last_activity too): a user who only edits and saves
// notebooks is using the server, and the culler must not stop it. The
// request is the owner's or an admin's with --admin-access; refused ones
// never get here. The server's own token does not count: user code runs
// there, and could otherwise keep its server alive forever.
func (h *Hub) contentsActivity(p *auth.Principal, owner string) {
	if h.servers == nil || p.Token != nil && p.Token.Kind == auth.KindServer {
		return
	}
	h.servers.MarkActive(owner, time.Now())
}

// Defaults of how many large contents uploads one user may send at once
// (Options.UploadsPerUser), and from what size an upload counts
// (Options.LargeUpload): two at once leave room for a save and an
// upload, and a notebook under 1 MiB is never held up.
const (
	DefaultUploadsPerUser = 2
	DefaultLargeUpload    = 1 << 20
)

// uploadRetry is when a client turned away for sending too many large
// files at once should try again.
const uploadRetry = 5 * time.Second

// uploads counts the large contents uploads each user is sending. The
// contents service holds a body in memory while it arrives (up to twice
// --contents-max-file-size), so each user may have only a few of them
// at once: one user's many uploads cannot exhaust the hub's memory,
// and do not stand in another's way. Uploads are counted for who sends
// them, an admin's with --admin-access for the admin.
type uploads struct {
	max   int   // 0: no limit
	large int64 // bodies larger than this count, and those of unknown length
	mu    sync.Mutex
	busy  map[string]int
}

// start takes one of user's places for r when it sends a large body;
// done gives it back. ok is false when user has none left.
func (u *uploads) start(user string, r *http.Request) (done func(), ok bool) {
	if u.max <= 0 || auth.Safe(r.Method) || r.ContentLength >= 0 && r.ContentLength <= u.large {
		return func() {}, true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy[user] >= u.max {
		return nil, false
	}
	u.busy[user]++
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.busy[user]--; u.busy[user] == 0 {
			delete(u.busy, user)
		}
	}, true
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
