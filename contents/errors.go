package contents

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"gorm.io/gorm"

	"github.com/sparkhub/sparkhub/db"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Kinds of failure a caller can cause. Every error the service returns
// for a client's mistake wraps one of them; statusOf turns them into HTTP
// status codes, here and nowhere else.
var (
	ErrNotFound   = errors.New("not found")
	ErrBadRequest = errors.New("bad request")
	ErrConflict   = errors.New("conflict")
	ErrTooLarge   = errors.New("too large")
	ErrUnreadable = errors.New("unreadable stored content")
)

// clientError is an error with a sentence for the person who caused it.
type clientError struct {
	kind   error
	msg    string
	reason string // Jupyter's "reason" field, e.g. "bad format"
}

func (e *clientError) Error() string { return e.msg }
func (e *clientError) Unwrap() error { return e.kind }

func notFound(format string, a ...any) error {
	return &clientError{kind: ErrNotFound, msg: fmt.Sprintf(format, a...)}
}

func badRequest(format string, a ...any) error {
	return &clientError{kind: ErrBadRequest, msg: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) error {
	return &clientError{kind: ErrConflict, msg: fmt.Sprintf(format, a...)}
}

// wrongType says a request's field holds the wrong kind of JSON value
// (encoding/json's names: string, number, bool, array, object).
func wrongType(field, kind string) error {
	return badRequest("The field %q has the wrong type: %s is not allowed there.", field, kind)
}

func tooLarge(path string) error {
	return &clientError{kind: ErrTooLarge, msg: fmt.Sprintf("File is too large to save: [%s]", path)}
}

func unreadable(path string) error {
	return &clientError{kind: ErrUnreadable, msg: fmt.Sprintf("Unable to read stored content at path '%s'.", path)}
}

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict), errors.Is(err, gorm.ErrDuplicatedKey):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, httperr.ErrSlowBody):
		return http.StatusRequestTimeout
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, context.Canceled):
		return 499 // the client went away; nobody reads this
	case db.Unavailable(err):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Status  int     `json:"status"`
	Message string  `json:"message"`
	Reason  *string `json:"reason"`
}

// writeError answers with Jupyter's error shape. Errors the client did
// not cause are logged and answered with a sentence that leaks nothing.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	body := errorBody{Status: status, Message: err.Error()}
	var ce *clientError
	if errors.As(err, &ce) && ce.reason != "" {
		body.Reason = &ce.reason
	}
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		body.Message = "Someone else changed this path at the same moment; try again."
	case errors.Is(err, ErrUnreadable):
		s.log.ErrorContext(r.Context(), "contents: unreadable row", "user", r.PathValue("name"), "error", err)
	case status == 499:
		return
	case status == http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), "contents: the database does not answer",
			"method", r.Method, "user", r.PathValue("name"), "error", err)
		body.Message = "The database does not answer right now; try again in a moment."
		httperr.SetDatabaseRetry(w.Header())
	case status == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "contents: request failed",
			"method", r.Method, "user", r.PathValue("name"), "error", err)
		body.Message = "The contents service failed to do this; the error is logged. Nothing was changed."
	}
	httperr.Jupyter.WriteJSON(w, status, body)
}
