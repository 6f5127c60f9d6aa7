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
// visitor out or in as someone else, and _xsrf, which the hub keeps.
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
	e.routeAlice(planted)

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
	if !slices.Contains(names, "username-x") {
		t.Errorf("the server's own cookie username-x was dropped: %q", resp.Header.Values("Set-Cookie"))
	}
	if v := hubXSRF(resp); v == "" || slices.Contains(resp.Header.Values("Set-Cookie"), "_xsrf=fromjupyter; Path=/") {
		t.Errorf("_xsrf is not the hub's alone: %q", resp.Header.Values("Set-Cookie"))
	}
}

// hubXSRF is the _xsrf cookie the hub set under /user/alice/.
func hubXSRF(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == auth.XSRFCookie && c.Path == "/user/alice/" {
			return c.Value
		}
	}
	return ""
}

// Under --user-subdomains the hub keeps cookies of its own on a user's
// origin: the server cookie the hand-off gave the browser, and the
// hand-off's state. User code runs on the server, so it never sees them
// (a server cookie of an admin's would open the server as the admin),
// and cannot set them for its visitors.
func TestServerNeverSeesNorSetsTheHandoffCookies(t *testing.T) {
	e := newEnv(t, false)
	var seen string
	planted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Cookie")
		for _, name := range []string{auth.ServerCookie, "__Host-" + auth.ServerCookie, auth.StateCookie, "__Host-" + auth.StateCookie} {
			w.Header().Add("Set-Cookie", name+"=planted; Path=/")
		}
		w.Header().Add("Set-Cookie", "_xsrf=fromjupyter; Path=/")
		io.WriteString(w, "ok")
	}))
	e.routeAlice(planted)

	cookie := auth.ServerCookie + "=a; __Host-" + auth.ServerCookie + "=b; " + auth.StateCookie + "=c; __Host-" + auth.StateCookie + "=d; _xsrf=j"
	resp := e.get("GET", "/user/alice/tree", map[string]string{"Cookie": cookie}, e.session("alice"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET = %d", resp.StatusCode)
	}
	if v := hubXSRF(resp); v == "" || seen != "_xsrf="+v {
		t.Errorf("the server was sent the cookies %q, want only the hub's _xsrf %q", seen, v)
	}
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"_xsrf"}) {
		t.Errorf("the server set %q through the proxy, want only the hub's _xsrf", names)
	}
}

// routeAlice sends alice's server's requests to srv from now on.
func (e *env) routeAlice(srv *httptest.Server) {
	e.t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	e.routes.mu.Lock()
	e.routes.routes["alice"] = u
	e.routes.mu.Unlock()
}
