// Package httperr answers the hub's HTTP clients when something failed,
// the same way wherever it happens (the REST API, the proxy, the
// contents service): JSON in the error shape JupyterHub and Jupyter
// share, {"status": N, "message": "..."}, not to be cached, and a
// Retry-After in whole seconds when waiting helps.
package httperr

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// The sentences a refused or failed client reads, the same from the
// hub's API, the proxy and the contents service.
const (
	Unauthenticated = "You are not logged in, or your login or token is no longer valid."
	Hidden          = "No access to resources or resources not found."
	SessionClash    = "Your browser sent two sparkhub logins at once, which can mean a page tried to log you in as someone else; the hub trusted neither and cleared both. Please log in again."
	XSRF            = "This request did not come from a sparkhub page (the XSRF check failed); reload the page and try again."
	Unavailable     = "The hub's database does not answer right now; try again in a moment."
	Internal        = "Something went wrong on the hub; the error was logged."
	SlowBody        = "The request's body arrived too slowly, so the hub stopped waiting for it; try again on a faster connection."
)

// ErrSlowBody is a request body that stopped arriving in the time the
// hub gives a client. Wherever it is read, it is answered with 408
// Request Timeout and SlowBody, and the connection is closed.
var ErrSlowBody = errors.New("the request body arrived too slowly")

// Format is how a family of endpoints writes JSON.
type Format int

const (
	// Hub is JupyterHub's REST API as the hub and its proxy speak it:
	// UTF-8 declared, and <, > and & escaped (encoding/json's default).
	Hub Format = iota
	// Jupyter is Jupyter's contents API: plain application/json, as the
	// Jupyter server sends it, and no HTML escaping.
	Jupyter
)

// WriteJSON answers with code and v as JSON that is not to be cached. A
// client that went away meanwhile is not an error.
func (f Format) WriteJSON(w http.ResponseWriter, code int, v any) {
	contentType, escapeHTML := "application/json; charset=utf-8", true
	if f == Jupyter {
		contentType, escapeHTML = "application/json", false
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v)
}

// Write answers with code and JupyterHub's error shape, {"status": code,
// "message": msg}, as the Hub format writes it. msg is read by people: a
// sentence that leaks nothing of the hub's insides.
func Write(w http.ResponseWriter, code int, msg string) {
	Hub.WriteJSON(w, code, map[string]any{"status": code, "message": msg})
}

// Seconds is d in whole seconds, rounded up: what Retry-After says.
func Seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// SetRetryAfter tells the client to try again in d, rounded up to
// whole seconds.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(Seconds(d)))
}

// DatabaseRetry is when a client should try again after a 503 because
// the database did not answer.
const DatabaseRetry = 2 * time.Second

// SetDatabaseRetry tells the client of a 503 for a database that did not
// answer when to try again.
func SetDatabaseRetry(h http.Header) { SetRetryAfter(h, DatabaseRetry) }

// Shorten is s cut to at most n runes, with "…" when cut: what a
// sentence quotes of a name or path it was given, never split inside a
// character.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
