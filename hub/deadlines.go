package hub

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sparkhub/sparkhub/auth"
	"github.com/sparkhub/sparkhub/internal/httperr"
)

// Defaults of how long a client may take (Options.ClientTimeout,
// Options.ClientMinRate): 30 s, and a second more for every 16 KiB,
// which a phone's uplink sends many times over.
const (
	DefaultClientTimeout = 30 * time.Second
	DefaultClientMinRate = 16 << 10
)

// clientDeadlines bounds how long a client holds a connection and what
// the hub holds for it. A request body must arrive within ClientTimeout
// plus a second for every ClientMinRate bytes that came (Apache's
// mod_reqtimeout rule), so a large upload on a slow line goes through
// and a body that trickles a few bytes a second is cut after about
// ClientTimeout: the reader gets httperr.ErrSlowBody, the client a 408,
// and the connection is closed. Each write of an answer has as long for
// its bytes, so a client that stops reading is cut too, while a long
// download or an event stream that keeps moving is not. A hijacked
// connection (a websocket) is left to its new owner, with no deadline.
// An answer given before the body has all arrived (a refusal, or the
// 408) closes the connection after it rather than wait for the rest.
//
// One deadline for a whole request (http.Server's ReadTimeout and
// WriteTimeout) would cut a large notebook's upload on a slow line and
// every long stream; these are set per request, through
// http.ResponseController.
func (h *Hub) clientDeadlines(next http.Handler) http.Handler {
	timeout, rate := h.opts.ClientTimeout, h.opts.ClientMinRate
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A kept-alive connection still has the last answer's deadline.
		rc.SetWriteDeadline(time.Time{})
		dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: timeout, rate: rate}
		body := dw.body
		if r.Body != nil && r.Body != http.NoBody {
			body = &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), timeout: timeout, rate: rate}
			rc.SetReadDeadline(body.deadline())
			r.Body, dw.body = body, body
		}
		defer func() {
			if body != nil && body.cut(r) {
				// The proxy's transport sees the request's context end
				// with the connection's read, and leaves the answer.
				if !dw.answered && !dw.hijacked {
					if auth.IsBrowser(r) {
						h.ErrorPage(dw, r, http.StatusRequestTimeout, httperr.SlowBody)
					} else {
						h.writeError(dw, r, httperr.ErrSlowBody)
					}
				}
				h.log.InfoContext(r.Context(), "request body arrived too slowly; connection closed",
					"method", r.Method, "path", r.URL.Path, "client", h.auth.Proxies().ClientAddr(r).String(), "bytes", body.n.Load())
			}
			// What the handler left buffered goes out after it returns.
			if !dw.hijacked {
				rc.SetWriteDeadline(time.Now().Add(timeout))
			}
		}()
		next.ServeHTTP(dw, r)
	})
}

// allowance is how long a client may take to move n bytes: timeout,
// and a second for every rate bytes.
func allowance(n, rate int64, timeout time.Duration) time.Duration {
	return timeout + time.Duration(n/rate)*time.Second + time.Duration(n%rate)*time.Second/time.Duration(rate)
}

// deadlineBody is a request body whose connection's read deadline grows
// with what has arrived. It may be read from another goroutine than the
// handler's (the proxy's transport reads it), hence the atomics.
type deadlineBody struct {
	io.ReadCloser
	rc         *http.ResponseController
	start      time.Time
	timeout    time.Duration
	rate       int64
	n          atomic.Int64
	done, slow atomic.Bool
}

func (b *deadlineBody) deadline() time.Time {
	return b.start.Add(allowance(b.n.Load(), b.rate, b.timeout))
}

// cut reports whether the body was cut for arriving too slowly: its
// read ran out of time, or the connection's did (which ends the
// request's context) past the body's deadline, when the reader, in
// another goroutine, may not have returned yet.
func (b *deadlineBody) cut(r *http.Request) bool {
	return b.slow.Load() || !b.done.Load() && r.Context().Err() != nil && !time.Now().Before(b.deadline())
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	// After the end net/http reads the connection for the next request
	// itself; a deadline set then would cut the answer's stream.
	if b.done.Load() {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(b.deadline())
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	if err != nil {
		b.done.Store(true)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.slow.Store(true)
			return n, httperr.ErrSlowBody
		}
	}
	return n, err
}

// deadlineWriter gives each write of an answer its deadline. It passes
// Flush and Hijack on (gorilla/websocket asserts http.Hijacker), and
// Unwrap for http.ResponseController.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	rate     int64
	body     *deadlineBody // nil without one
	answered bool
	hijacked bool
}

// answer runs before the answer's first byte. An answer given while the
// body is still arriving closes the connection after it, as
// http.MaxBytesReader has net/http do for a body over its limit: it
// says Connection: close and lingers a moment before closing, so the
// client reads the answer instead of a reset. Otherwise net/http would
// go on reading up to 256 KiB of the body, for as long as the client
// takes.
func (d *deadlineWriter) answer() {
	if d.answered {
		return
	}
	d.answered = true
	if d.body != nil && !d.body.done.Load() {
		io.Copy(io.Discard, http.MaxBytesReader(d.ResponseWriter, io.NopCloser(strings.NewReader(" ")), 0))
	}
}

func (d *deadlineWriter) WriteHeader(code int) {
	if code >= 200 {
		d.answer()
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.answer()
	if !d.hijacked {
		d.rc.SetWriteDeadline(time.Now().Add(allowance(int64(len(p)), d.rate, d.timeout)))
	}
	return d.ResponseWriter.Write(p)
}

// Flush sends what is buffered now (event streams, streamed answers).
func (d *deadlineWriter) Flush() {
	d.answer()
	if !d.hijacked {
		d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	d.rc.Flush()
}

// Hijack hands the connection over, without the deadlines: net/http
// clears them, and none is set here after.
func (d *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := d.rc.Hijack()
	if err == nil {
		d.hijacked = true
	}
	return conn, rw, err
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
