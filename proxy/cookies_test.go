package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/sparkhub/sparkhub/auth"
)

// A user's server shares the hub's origin: whatever cookies it sets pass
// on, except the hub's session cookie, which it could use to log the
// visitor out or in as someone else.
func TestServerCannotSetTheHubsSessionCookie(t *testing.T) {
	e := newEnv(t, false)
	planted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "_xsrf=fromjupyter; Path=/")
		w.Header().Add("Set-Cookie", auth.SessionCookie+"=planted; Path=/hub/")
		w.Header().Add("Set-Cookie", " "+auth.SessionCookie+"=planted2; Path=/hub/api/")
		w.Header().Add("Set-Cookie", auth.SecureSessionCookie+"=planted3; Path=/; Secure")
		w.Header().Add("Set-Cookie", "username-x=1; Path=/user/alice/")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(planted.Close)
	u, _ := url.Parse(planted.URL)
	e.routes.mu.Lock()
	e.routes.routes["alice"] = u
	e.routes.mu.Unlock()

	resp := e.get("GET", "/user/alice/tree", nil, e.session("alice"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %d", resp.StatusCode)
	}
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
	}
	if slices.ContainsFunc(names, auth.IsSessionCookie) {
		t.Errorf("the server set the hub's session cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	for _, want := range []string{"_xsrf", "username-x"} {
		if !slices.Contains(names, want) {
			t.Errorf("the server's own cookie %s was dropped: %q", want, resp.Header.Values("Set-Cookie"))
		}
	}
}
