// Package e2e runs the built sparkhub binary, as users and admins run
// it: its commands, `serve` with the CLI's users and tokens, real
// Jupyter servers (local and on the emulated Mesos cluster), and the
// README's `make run` on a fresh clone. The binary is built once, for
// every test here (TestMain); in-process tests of the command line stay
// with package main.
package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/hub/hubtest"
)

var binary string

func TestMain(m *testing.M) {
	hubtest.Main(m, &binary)
}

// sparkhub runs the binary and returns its stdout and stderr.
func sparkhub(t *testing.T, stdin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	return hubtest.Run(binary, stdin, env, args...)
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return hubtest.MustRun(t, binary, stdin, nil, args...)
}

// startHub starts `sparkhub serve` on a free port; it is stopped with
// SIGTERM when the test ends.
func startHub(t *testing.T, env []string, args ...string) *hubtest.Hub {
	t.Helper()
	return hubtest.Start(t, binary, env, args...)
}

// serve is startHub for tests that need only the address and stdout.
func serve(t *testing.T, env []string, args ...string) (string, *hubtest.Buffer) {
	t.Helper()
	h := startHub(t, env, args...)
	return h.URL, h.Stdout
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

func (c *client) login(name, password string) *http.Response {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/hub/login")
	if err != nil {
		c.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(page)
	if m == nil {
		c.t.Fatalf("no _xsrf in the login page")
	}
	resp, err = c.http.PostForm(c.base+"/hub/login", url.Values{"username": {name}, "password": {password}, "_xsrf": {string(m[1])}})
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// xsrf is the _xsrf cookie the browser holds for a path: the hub's for
// /hub/, the one Jupyter or the contents service set for /user/{name}/.
func (c *client) xsrf(path string) string {
	u, _ := url.Parse(c.base + path)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "_xsrf" {
			return ck.Value
		}
	}
	return ""
}

// api sends a request; authz is a token, "cookie" (with the XSRF header
// a page under that path would send), or "".
func (c *client) api(method, path, authz string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	hc := http.DefaultClient
	switch authz {
	case "":
	case "cookie":
		hc = c.http
		scope := "/hub/"
		if parts := strings.SplitN(path, "/", 4); len(parts) > 2 && parts[1] == "user" {
			scope = "/user/" + parts[2] + "/"
		}
		req.Header.Set("X-XSRFToken", c.xsrf(scope))
	default:
		req.Header.Set("Authorization", "token "+authz)
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
