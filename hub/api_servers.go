package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// slowSpawnTimeout is how long POST .../server waits for the server to
// be ready before answering 202, as JupyterHub's slow_spawn_timeout.
const slowSpawnTimeout = 10 * time.Second

// serverError maps the spawner's errors to statuses and sentences.
func serverError(name string, err error) error {
	var le *spawner.LimitError
	var se *spawner.SpawnError
	switch {
	case errors.As(err, &le):
		return &retryError{httpError: httpError{status: http.StatusTooManyRequests, msg: upperFirst(le.Error()) + "."}, after: le.RetryAfter}
	case errors.As(err, &se) && se.Refused:
		return errorf(http.StatusForbidden, "%s", se.Reason)
	case errors.As(err, &se):
		return errorf(http.StatusInternalServerError, "%s", se.Reason)
	case errors.Is(err, spawner.ErrNoUser):
		return errorf(http.StatusNotFound, "There is no user %q.", httperr.Shorten(name, 40))
	case errors.Is(err, spawner.ErrAlreadyRunning):
		return errorf(http.StatusBadRequest, "The server of %s is already running.", name)
	case errors.Is(err, spawner.ErrPending):
		return errorf(http.StatusBadRequest, "The server of %s is already starting or stopping; wait for it to finish.", name)
	case errors.Is(err, spawner.ErrNotRunning):
		return errorf(http.StatusBadRequest, "The server of %s is not running.", name)
	case errors.Is(err, spawner.ErrClosed):
		return errorf(http.StatusServiceUnavailable, "The hub is shutting down; try again in a moment.")
	}
	return err
}

// startError is serverError for a start, which also refuses a profile
// the catalog lacks.
func (h *Hub) startError(name, profile string, err error) error {
	if errors.Is(err, spawner.ErrNoProfile) {
		return h.noProfile(profile, h.profiles.Profiles)
	}
	return serverError(name, err)
}

// serverUser is a hub user as the spawner knows them.
func serverUser(u *auth.User) spawner.User { return spawner.User{ID: u.ID, Name: u.Name} }

// serverUsers are hub users as the spawner knows them.
func serverUsers(users []*auth.User) []spawner.User {
	out := make([]spawner.User, len(users))
	for i, u := range users {
		out[i] = serverUser(u)
	}
	return out
}

// retryError is an httpError with a Retry-After.
type retryError struct {
	httpError
	after time.Duration
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// startServer is POST /hub/api/users/{name}/server: 201 when the server
// is ready within slowSpawnTimeout, 202 while it is still starting. The
// body is JupyterHub's user_options; sparkhub reads "profile".
func (h *Hub) startServer(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeServers)
	if err != nil {
		return err
	}
	var opts map[string]any
	if err := decode(r, &opts, true); err != nil {
		return err
	}
	profile := ""
	if v, ok := opts["profile"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return errorf(http.StatusBadRequest, "profile must be the name of a profile, a string.")
		}
		profile = s
	}
	if profile, err = h.chooseProfile(r.Context(), u.ID, u.Name, profile); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), slowSpawnTimeout)
	defer cancel()
	ready, err := h.servers.Start(ctx, serverUser(u), profile)
	if err != nil {
		return h.startError(u.Name, profile, err)
	}
	h.log.InfoContext(r.Context(), "server start", logAttrsUser(p), "name", u.Name, "profile", profile, "ready", ready)
	if ready {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

// stopServer is DELETE /hub/api/users/{name}/server: 204 once stopped,
// 202 while it is still stopping.
func (h *Hub) stopServer(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeDeleteServers)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), slowSpawnTimeout)
	defer cancel()
	stopped, err := h.servers.Stop(ctx, u.Name)
	if err != nil {
		return serverError(u.Name, err)
	}
	h.log.InfoContext(r.Context(), "server stop", logAttrsUser(p), "name", u.Name, "stopped", stopped)
	if stopped {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

// serverProgress is GET /hub/api/users/{name}/server/progress: Server-Sent
// Events in JupyterHub's shape, ending after the ready or failed event,
// with a blank-line keepalive every 8 s.
func (h *Hub) serverProgress(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeReadServers)
	if err != nil {
		return err
	}
	events, err := h.servers.Progress(r.Context(), serverUser(u))
	if err != nil {
		return serverError(u.Name, err)
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	keepalive := time.NewTicker(8 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			b, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return nil
			}
			rc.Flush()
			if ev.Ready || ev.Failed {
				return nil
			}
		case <-keepalive.C:
			if _, err := w.Write([]byte("\n")); err != nil {
				return nil
			}
			rc.Flush()
		case <-r.Context().Done():
			return nil
		}
	}
}

// serverModelFor turns the spawner's model into JupyterHub's.
func serverModelFor(m spawner.Model, admin bool) serverModel {
	var pending *string
	if m.Pending != "" {
		s := m.Pending
		pending = &s
	}
	sm := serverModel{
		Name:         "",
		Ready:        m.Ready,
		Stopped:      !m.State.Live(),
		Pending:      pending,
		URL:          m.URL,
		ProgressURL:  "/hub/api/users/" + m.User + "/server/progress",
		Started:      isoPtr(m.Started),
		LastActivity: isoPtr(m.LastActivity),
		UserOptions:  map[string]any{},
	}
	if m.Profile != "" {
		sm.UserOptions["profile"] = m.Profile
	}
	if admin {
		sm.State = map[string]any{"state": string(m.State)}
	}
	return sm
}

// serverLive reports whether the user's server is starting, running or
// stopping.
func (h *Hub) serverLive(name string) bool {
	if h.servers == nil {
		return false
	}
	_, _, state, ok := h.servers.Route(name)
	return ok || state.Live()
}

// stopForDelete stops a user's server before the user is deleted, and
// refuses the delete when it does not stop in time.
func (h *Hub) stopForDelete(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stopped, err := h.servers.Stop(ctx, name)
	if err != nil && !errors.Is(err, spawner.ErrNotRunning) {
		return serverError(name, err)
	}
	if err == nil && !stopped {
		return errorf(http.StatusConflict, "The server of %s is still stopping; try deleting them again in a moment.", name)
	}
	return nil
}
