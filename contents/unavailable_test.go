package contents

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// A database that is away (restarting, the connection cut) is a 503
// that says to try again, not a 500; a client's mistake stays a 4xx even
// when a connection error hides inside it.
func TestStatusOfUnavailableDatabase(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"bad connection", fmt.Errorf("save: %w", driver.ErrBadConn), http.StatusServiceUnavailable},
		{"mysql invalid connection", gomysql.ErrInvalidConn, http.StatusServiceUnavailable},
		{"mysql shutting down", &gomysql.MySQLError{Number: 1053}, http.StatusServiceUnavailable},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, http.StatusServiceUnavailable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, http.StatusServiceUnavailable},
		{"cut mid-answer", fmt.Errorf("add contents user: %w", io.ErrUnexpectedEOF), http.StatusServiceUnavailable},
		{"pgx conn closed", pgconn.ErrConnClosed, http.StatusServiceUnavailable},
		{"postgres shutting down", &pgconn.PgError{Code: "57P01"}, http.StatusServiceUnavailable},
		{"postgres connection exception", &pgconn.PgError{Code: "08006"}, http.StatusServiceUnavailable},
		{"postgres other error", &pgconn.PgError{Code: "23502"}, http.StatusInternalServerError},
		{"mysql other error", &gomysql.MySQLError{Number: 1062}, http.StatusInternalServerError},
		{"anything else", errors.New("boom"), http.StatusInternalServerError},
		{"client went away", context.Canceled, 499},
		{"bad request", badRequest("bad"), http.StatusBadRequest},
		{"not found", notFound("no"), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusOf(tt.err); got != tt.want {
				t.Errorf("statusOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
