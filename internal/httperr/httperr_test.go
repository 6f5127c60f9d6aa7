package httperr

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, 404, "No <such> user & no server.")
	if got, want := rec.Body.String(), `{"message":"No \u003csuch\u003e user \u0026 no server.","status":404}`+"\n"; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}
}

func TestJupyterFormat(t *testing.T) {
	rec := httptest.NewRecorder()
	Jupyter.WriteJSON(rec, 400, map[string]any{"message": "a<b"})
	if got, want := rec.Body.String(), `{"message":"a<b"}`+"\n"; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rec.Header())
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"}, {time.Nanosecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {90 * time.Second, "90"},
	} {
		rec := httptest.NewRecorder()
		SetRetryAfter(rec.Header(), tc.d)
		if got := rec.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("Retry-After for %v = %q, want %q", tc.d, got, tc.want)
		}
	}
}
