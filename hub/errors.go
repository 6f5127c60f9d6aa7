package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// httpError is an error with the status and the sentence the client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// maxBody caps every /hub/ request body.
const maxBody = 1 << 20

// status maps an error to its status code and the message a person
// reads. Anything unexpected is a 500 whose details go to the log only.
func status(err error) (int, string) {
	var he *httpError
	var re *retryError
	var ie *auth.InputError
	var te *auth.ThrottledError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &re):
		return re.status, re.msg
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &ie):
		return http.StatusBadRequest, ie.Msg
	case errors.As(err, &te):
		return http.StatusTooManyRequests, fmt.Sprintf("Too many attempts, try again in %d s.", te.Seconds())
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mb.Limit)
	case errors.Is(err, auth.ErrSessionClash):
		return http.StatusUnauthorized, httperr.SessionClash
	case errors.Is(err, httperr.ErrSlowBody):
		return http.StatusRequestTimeout, httperr.SlowBody
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, httperr.Unauthenticated
	case errors.Is(err, auth.ErrXSRF):
		return http.StatusForbidden, httperr.XSRF
	case errors.Is(err, auth.ErrNotFound):
		return http.StatusNotFound, "Not found."
	case errors.Is(err, auth.ErrExists):
		return http.StatusConflict, "It already exists."
	case db.Unavailable(err):
		return http.StatusServiceUnavailable, httperr.Unavailable
	}
	return http.StatusInternalServerError, httperr.Internal
}

// writeError answers with JupyterHub's error shape {"status", "message"}.
func (h *Hub) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := status(err)
	if code == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		httperr.SetRetryAfter(w.Header(), te.RetryAfter)
	}
	if code == http.StatusServiceUnavailable {
		httperr.SetDatabaseRetry(w.Header())
	}
	var re *retryError
	if errors.As(err, &re) {
		httperr.SetRetryAfter(w.Header(), re.after)
	}
	httperr.Write(w, code, msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) { httperr.Hub.WriteJSON(w, code, v) }

// writeRawJSON answers with JSON already written.
func writeRawJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// decode reads a JSON body into v. An empty body leaves v as it is when
// allowEmpty; anything malformed is a 400 saying what is wrong.
func decode(r *http.Request, v any, allowEmpty bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var mb *http.MaxBytesError
	var se *json.SyntaxError
	var ute *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) && allowEmpty:
		return nil
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "The request needs a JSON body.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "The request body is not valid JSON: it ends too early.")
	case errors.As(err, &mb), errors.Is(err, httperr.ErrSlowBody):
		return err
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "The request body is not valid JSON (at byte %d).", se.Offset)
	case errors.As(err, &ute) && ute.Field == "":
		return errorf(http.StatusBadRequest, "The request body must be a JSON object.")
	case errors.As(err, &ute):
		return errorf(http.StatusBadRequest, "In the request body, %q must be %s.", ute.Field, jsonKind(ute.Type.Kind().String()))
	default:
		return errorf(http.StatusBadRequest, "The request body is not what this endpoint takes: %s.", cleanJSONError(err))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "The request body has more than one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "The request body has data after its JSON value.")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "int", "int64", "float64":
		return "a number"
	}
	return "of another type"
}

func cleanJSONError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// logAttrsUser is the log attribute naming a principal, never a secret.
func logAttrsUser(p *auth.Principal) slog.Attr {
	if p == nil {
		return slog.String("user", "")
	}
	return slog.String("user", p.User.Name)
}
