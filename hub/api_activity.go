package hub

import (
	"errors"
	"github.com/sparkhub/sparkhub/internal/httperr"
	"net/http"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/spawner"
)

// activityBody is JupyterHub's activity report:
// {"last_activity": ts, "servers": {"": {"last_activity": ts}}}.
type activityBody struct {
	LastActivity *string                   `json:"last_activity"`
	Servers      map[string]serverActivity `json:"servers"`
}

type serverActivity struct {
	LastActivity *string `json:"last_activity"`
}

// activityFuture is how far ahead of the hub's clock a reported time may
// be, as JupyterHub allows.
const activityFuture = 59 * time.Minute

// postActivity is POST /hub/api/users/{name}/activity (users:activity on
// that user; a server's token holds it on its owner): the user's and
// the default server's last activity move to the reported times, never
// backwards. Everything is checked before anything is written. 200 with
// an empty body, as JupyterHub.
func (h *Hub) postActivity(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := h.userFor(r, p, auth.ScopeUsersActivity)
	if err != nil {
		return err
	}
	var body activityBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	if body.LastActivity == nil && len(body.Servers) == 0 {
		return errorf(http.StatusBadRequest, "The body must contain at least one of last_activity or servers.")
	}
	var userAt time.Time
	if body.LastActivity != nil {
		if userAt, err = activityTime(*body.LastActivity); err != nil {
			return err
		}
	}
	var serverAt time.Time
	for name, s := range body.Servers {
		if name != "" {
			return errorf(http.StatusBadRequest, "No such server %q for user %s: sparkhub runs only the default server, named \"\".", httperr.Shorten(name, 40), u.Name)
		}
		if s.LastActivity == nil {
			return errorf(http.StatusBadRequest, "servers must be a dict of the form {server_name: {last_activity: timestamp}}.")
		}
		if serverAt, err = activityTime(*s.LastActivity); err != nil {
			return err
		}
	}
	if !serverAt.IsZero() {
		if h.servers == nil {
			return errorf(http.StatusBadRequest, "No such server \"\" for user %s.", u.Name)
		}
		if err := h.servers.RecordActivity(r.Context(), serverUser(u), serverAt); err != nil {
			if errors.Is(err, spawner.ErrNoServer) {
				return errorf(http.StatusBadRequest, "No such server \"\" for user %s: it has never been started.", u.Name)
			}
			return err
		}
	}
	if !userAt.IsZero() {
		if err := h.users.TouchUsers(r.Context(), map[int64]time.Time{u.ID: userAt}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// activityTime parses a reported time as JupyterHub does: ISO 8601, with
// an offset or naive (then UTC), at most activityFuture ahead.
func activityTime(s string) (time.Time, error) {
	var t time.Time
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "Not a valid timestamp: %q; send ISO 8601, like 2026-01-02T15:04:05.000Z.", httperr.Shorten(s, 40))
	}
	if t.After(time.Now().Add(activityFuture)) {
		return time.Time{}, errorf(http.StatusBadRequest, "Rejecting activity from more than an hour in the future: %s.", t.UTC().Format(time.RFC3339))
	}
	return t.UTC().Truncate(time.Microsecond), nil
}
