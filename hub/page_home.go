package hub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// formWait is how long a form post that starts or stops a server waits
// before it answers: long enough to record the request, and the progress
// page (or the next look at the page) shows the rest.
const formWait = time.Second

// serverView is a user's server as the pages show it.
type serverView struct {
	spawner.Model
	// Label is the state in words: "Not running", "Starting", "Running",
	// "Stopping", "Failed to start".
	Label string
}

// viewOf is the server as r's page shows it; its URL is on the
// server's own origin under --user-subdomains.
func (h *Hub) viewOf(r *http.Request, m spawner.Model) serverView {
	v := serverView{Model: m}
	v.URL = h.auth.ServerURL(r, m.URL)
	switch m.State {
	case spawner.Spawning:
		v.Label = "Starting"
	case spawner.Running:
		v.Label = "Running"
	case spawner.Stopping:
		v.Label = "Stopping"
	case spawner.Failed:
		v.Label = "Failed to start"
	default:
		v.Label = "Not running"
	}
	return v
}

// serverOf is the user's server without its log lines (the home page
// shows no logs), or nil when the hub runs no servers.
func (h *Hub) serverOf(r *http.Request, u spawner.User) (*serverView, error) {
	if h.servers == nil {
		return nil, nil
	}
	ms, err := h.servers.Servers(r.Context(), []spawner.User{u})
	if err != nil {
		return nil, err
	}
	v := h.viewOf(r, ms[u.Name])
	return &v, nil
}

func (h *Hub) homePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	srv, err := h.serverOf(r, serverUser(p.User))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	data := h.pageData(w, r, p, "Home")
	if srv != nil {
		data["Server"] = srv
	}
	// The template shows a picker when there is more than one profile
	// open to the user.
	open, err := h.profilesFor(r.Context(), p.User.ID)
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	data["Profiles"] = h.profileViews(open)
	switch r.URL.Query().Get("done") {
	case "stopping":
		data["Notice"] = "Your server is stopping."
	case "stopped":
		data["Notice"] = "Your server has stopped. Your notebooks are kept."
	}
	h.render(w, r, http.StatusOK, "home.html", data)
}

// stopOwn is POST /hub/stop: the home page's Stop button.
func (h *Hub) stopOwn(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if h.servers == nil {
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "This hub runs no servers.")
		return
	}
	if err := need(p, auth.ScopeDeleteServers, p.User.Name); err != nil {
		h.errorPage(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), formWait)
	defer cancel()
	stopped, err := h.servers.Stop(ctx, p.User.Name)
	switch {
	case errors.Is(err, spawner.ErrNotRunning):
		stopped = true
	case err != nil:
		h.errorPage(w, r, serverError(p.User.Name, err))
		return
	}
	h.log.InfoContext(r.Context(), "server stop", logAttrsUser(p), "name", p.User.Name, "stopped", stopped, "via", "page")
	if stopped {
		http.Redirect(w, r, "/hub/home?done=stopped", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/hub/home?done=stopping", http.StatusSeeOther)
}
