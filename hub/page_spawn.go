package hub

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"github.com/sparkhub/sparkhub/spawner"
)

// spawnTarget is whose server a spawn page is about: {name} when given
// (admins starting someone else's), else the caller's.
func spawnTarget(r *http.Request, p *auth.Principal, scope string) (string, error) {
	name := r.PathValue("name")
	if name == "" {
		return p.User.Name, nil
	}
	if err := need(p, scope, name); err != nil {
		return "", err
	}
	return name, nil
}

// spawnUser is the user called name as the spawner knows them: the
// caller without asking the database. found is false when there is no
// such user (the user then has only a name, and no server).
func (h *Hub) spawnUser(ctx context.Context, p *auth.Principal, name string) (u spawner.User, found bool, err error) {
	if name == p.User.Name {
		return serverUser(p.User), true, nil
	}
	au, err := h.users.UserByName(ctx, name)
	if errors.Is(err, auth.ErrNotFound) {
		return spawner.User{Name: name}, false, nil
	}
	if err != nil {
		return spawner.User{}, false, err
	}
	return serverUser(au), true, nil
}

// withNext adds next= to a hub path when there is one.
func withNext(path, next string) string {
	if next == "" {
		return path
	}
	return path + "?next=" + url.QueryEscape(next)
}

func pendingURL(name, next string) string {
	return withNext("/hub/spawn-pending/"+url.PathEscape(name), next)
}

// spawnPage is GET /hub/spawn[/{name}]: where the proxy sends a browser
// whose server is not running. A running server goes straight on, a
// starting one to its progress page; one's own stopped server starts at
// once when the catalog has a single profile; otherwise a Start button.
func (h *Hub) spawnPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if h.servers == nil {
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "This hub runs no servers.")
		return
	}
	name, err := spawnTarget(r, p, auth.ScopeServers)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	u, _, err := h.spawnUser(r.Context(), p, name)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	srv, err := h.serverOf(r, u)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	switch srv.State {
	case spawner.Running:
		http.Redirect(w, r, h.intoServer(r, next, name), http.StatusFound)
		return
	case spawner.Spawning:
		http.Redirect(w, r, pendingURL(name, next), http.StatusFound)
		return
	case spawner.Stopped:
		// As JupyterHub: nothing to choose, so start at once. Only one's
		// own server: a link from another site may lead here, and
		// starting the visitor's own server is what they came for; an
		// admin's GET for someone else shows the Start button. A failed
		// server shows the page too, so a start that keeps failing is
		// not retried by reloading.
		if name == p.User.Name && p.Can(auth.ScopeServers, name) {
			open, err := h.profilesFor(r.Context(), u.ID)
			if err != nil {
				h.errorPage(w, r, err)
				return
			}
			if len(open) == 1 {
				h.startFromPage(w, r, p, u, name, "", next)
				return
			}
		}
	}
	h.renderSpawn(w, r, p, http.StatusOK, name, next, srv, "")
}

func (h *Hub) renderSpawn(w http.ResponseWriter, r *http.Request, p *auth.Principal, code int, name, next string, srv *serverView, msg string) {
	open := h.profiles.Profiles
	if au, err := h.users.UserByName(r.Context(), name); err == nil {
		open, err = h.profilesFor(r.Context(), au.ID)
		if err != nil {
			h.errorPage(w, r, err)
			return
		}
	}
	if len(open) == 0 && msg == "" {
		msg = "No profile is open to " + name + ": each is limited to groups " + name + " is not in. An admin can add them to one."
	}
	data := h.pageData(w, r, p, "Start your server")
	if name != p.User.Name {
		data["Title"] = "Start the server of " + name
	}
	data["Name"] = name
	data["Own"] = name == p.User.Name
	data["Next"] = next
	data["Action"] = withNext(spawnPath(name, p), next)
	data["Server"] = srv
	data["Error"] = msg
	data["Profiles"] = h.profileViews(open)
	h.render(w, r, code, "spawn.html", data)
}

// spawnPath is where a Start button posts.
func spawnPath(name string, p *auth.Principal) string {
	if name == p.User.Name {
		return "/hub/spawn"
	}
	return "/hub/spawn/" + url.PathEscape(name)
}

// spawnSubmit is POST /hub/spawn[/{name}]: start, then watch it on the
// progress page.
func (h *Hub) spawnSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if h.servers == nil {
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "This hub runs no servers.")
		return
	}
	name, err := spawnTarget(r, p, auth.ScopeServers)
	if err == nil {
		// Also for one's own server: a token may lack the scope.
		err = need(p, auth.ScopeServers, name)
	}
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if v := r.PostForm.Get("next"); v != "" {
		next = safeNext(v)
	}
	profile := r.PostForm.Get("profile")
	u, found, err := h.spawnUser(r.Context(), p, name)
	if err == nil && !found {
		err = serverError(name, spawner.ErrNoUser)
	}
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.startFromPage(w, r, p, u, name, profile, next)
}

// startFromPage starts u's server from a page (the Start button, or a
// GET of the spawn page with nothing to choose), then sends the browser
// to the progress page, or into a server already running.
func (h *Hub) startFromPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, u spawner.User, name, profile, next string) {
	profile, err := h.chooseProfile(r.Context(), u.ID, name, profile)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), formWait)
	defer cancel()
	_, err = h.servers.Start(ctx, u, profile)
	var le *spawner.LimitError
	switch {
	case err == nil, errors.Is(err, spawner.ErrPending), errors.Is(err, spawner.ErrSpawnFailed):
		// The progress page shows how it goes, or how it failed.
	case errors.Is(err, spawner.ErrAlreadyRunning):
		http.Redirect(w, r, h.intoServer(r, next, name), http.StatusSeeOther)
		return
	case errors.As(err, &le):
		srv, _ := h.serverOf(r, u)
		httperr.SetRetryAfter(w.Header(), le.RetryAfter)
		h.renderSpawn(w, r, p, http.StatusTooManyRequests, name, next, srv, upperFirst(le.Error())+".")
		return
	default:
		h.errorPage(w, r, h.startError(name, profile, err))
		return
	}
	h.log.InfoContext(r.Context(), "server start", logAttrsUser(p), "name", name, "profile", profile, "via", "page")
	http.Redirect(w, r, pendingURL(name, next), http.StatusSeeOther)
}

// spawnPendingPage is GET /hub/spawn-pending/{name}: a progress bar fed
// by the progress stream, then on into Jupyter. A server that is not
// starting goes where it should: running to Jupyter, stopped to the
// Start page; a failed one shows why, with Retry.
func (h *Hub) spawnPendingPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if h.servers == nil {
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "This hub runs no servers.")
		return
	}
	name := r.PathValue("name")
	if err := need(p, auth.ScopeReadServers, name); err != nil {
		h.errorPage(w, r, err)
		return
	}
	u, err := h.users.UserByName(r.Context(), name)
	if errors.Is(err, auth.ErrNotFound) {
		h.ErrorPage(w, r, http.StatusNotFound, "There is no user "+httperr.Shorten(name, 40)+".")
		return
	} else if err != nil {
		h.errorPage(w, r, err)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	srv, err := h.serverOf(r, serverUser(u))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	switch srv.State {
	case spawner.Running:
		http.Redirect(w, r, h.intoServer(r, next, name), http.StatusFound)
		return
	case spawner.Stopped, spawner.Stopping:
		if name == p.User.Name {
			http.Redirect(w, r, withNext("/hub/spawn", next), http.StatusFound)
		} else {
			http.Redirect(w, r, "/hub/admin", http.StatusFound)
		}
		return
	}
	data := h.pageData(w, r, p, "Starting your server")
	if name != p.User.Name {
		data["Title"] = "Starting the server of " + name
	}
	data["Name"] = name
	data["Server"] = srv
	data["ProgressURL"] = "/hub/api/users/" + url.PathEscape(name) + "/server/progress"
	data["Next"] = h.intoServer(r, next, name)
	data["Retry"] = withNext(spawnPath(name, p), next)
	data["Failed"] = srv.State == spawner.Failed
	if srv.State == spawner.Failed {
		data["Title"] = "The server did not start"
	}
	h.render(w, r, http.StatusOK, "spawn_pending.html", data)
}
