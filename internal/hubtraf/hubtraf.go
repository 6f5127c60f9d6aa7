// Package hubtraf plays the simulated analyst of JupyterHub's load tester
// hubtraf against a hub, making the same requests in the same order with
// the same headers: log in through the form, open /hub/spawn until it
// lands in Jupyter, start a kernel, run "5 * 4" over the kernel websocket
// until the session's time is up, then stop the kernel and the server.
// hubtraf itself is not published on PyPI, so the tests and the
// benchmarks run this instead; the requests follow hubtraf's user.py and
// auth/dummy.py.
package hubtraf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// The steps of a session, named as hubtraf names them; Run returns the
// one that failed, or Completed.
const (
	Login       = "login"
	StartServer = "start-server"
	StartKernel = "start-kernel"
	RunCode     = "run-code"
	Completed   = "completed"
)

// Options are one simulated analyst's.
type Options struct {
	Hub      string // the hub's URL, without a trailing /
	User     string
	Password string
	// Execute is how long the analyst keeps running code once the
	// kernel is up (hubtraf's session runtime); 0 runs it once.
	Execute time.Duration
	// SpawnRefresh bounds the random wait between two visits of
	// /hub/spawn while the server starts (hubtraf: 30 s).
	SpawnRefresh time.Duration
	// SpawnTimeout is how long the server may take to start (hubtraf:
	// 300 s).
	SpawnTimeout time.Duration
	// Step, when set, is told how long each step that succeeded took:
	// login, server-start, kernel-start, code-execute (once per run of
	// the code), kernel-stop, server-stop.
	Step func(step string, took time.Duration)
}

// Result is how a session went.
type Result struct {
	Outcome string // Completed, or the step that failed
	Err     error  // why it failed
	// Stopped is false when the kernel ran but stopping the kernel or
	// the server afterwards failed (StopErr says why).
	Stopped bool
	StopErr error
}

type user struct {
	Options
	http    *http.Client
	jar     http.CookieJar
	headers http.Header
	kernel  string
}

// Run plays one session to its end.
func Run(ctx context.Context, o Options) Result {
	if o.SpawnRefresh == 0 {
		o.SpawnRefresh = 30 * time.Second
	}
	if o.SpawnTimeout == 0 {
		o.SpawnTimeout = 300 * time.Second
	}
	if o.Step == nil {
		o.Step = func(string, time.Duration) {}
	}
	jar, _ := cookiejar.New(nil)
	u := &user{Options: o, jar: jar, http: &http.Client{Jar: jar, Timeout: 60 * time.Second},
		headers: http.Header{"Referer": {o.Hub + "/hub/"}}}
	if err := u.login(ctx); err != nil {
		return Result{Outcome: Login, Err: err}
	}
	if err := u.ensureServer(ctx); err != nil {
		return Result{Outcome: StartServer, Err: err}
	}
	if err := u.startKernel(ctx); err != nil {
		return Result{Outcome: StartKernel, Err: err}
	}
	res := Result{Outcome: Completed}
	if err := u.runCode(ctx, "5 * 4", "20"); err != nil {
		res = Result{Outcome: RunCode, Err: err}
	}
	// As hubtraf: once a kernel ran, stop it and the server, whatever
	// became of the code.
	res.StopErr = errors.Join(u.stopKernel(ctx), u.stopServer(ctx))
	res.Stopped = res.StopErr == nil
	return res
}

func (u *user) timed(step string, f func() error) error {
	t := time.Now()
	err := f()
	if err == nil {
		u.Step(step, time.Since(t))
	}
	return err
}

func (u *user) do(ctx context.Context, method, path string, body io.Reader, hdr http.Header, follow bool) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.Hub+path, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	c := u.http
	if !follow {
		c = &http.Client{Jar: u.jar, Timeout: u.http.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// cookie is the value of the cookie called name the jar would send to
// path, or "".
func (u *user) cookie(path, name string) string {
	p, _ := url.Parse(u.Hub + path)
	for _, c := range u.jar.Cookies(p) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// login is hubtraf's login_dummy: get the login page (which should set
// the _xsrf cookie), post the form with that cookie's value, expect 302.
func (u *user) login(ctx context.Context) error {
	return u.timed("login", func() error {
		resp, _, err := u.do(ctx, "GET", "/hub/login", nil, nil, true)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("login page: %s", resp.Status)
		}
		form := url.Values{"username": {u.User}, "password": {u.Password}, "_xsrf": {u.cookie("/hub/login", "_xsrf")}}
		resp, b, err := u.do(ctx, "POST", "/hub/login", strings.NewReader(form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, false)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusFound {
			return fmt.Errorf("login: %s: %.200s", resp.Status, b)
		}
		return nil
	})
}

// ensureServer is hubtraf's ensure_server_simulate: open /hub/spawn,
// following redirects, until it lands on Jupyter's /tree or /lab, waiting
// a random time up to SpawnRefresh between tries. Then Jupyter's _xsrf
// cookie under /user/{name}/ goes into the X-XSRFToken header.
func (u *user) ensureServer(ctx context.Context) error {
	base := "/user/" + u.User + "/"
	return u.timed("server-start", func() error {
		start := time.Now()
		for {
			resp, _, err := u.do(ctx, "GET", "/hub/spawn", nil, nil, true)
			if err == nil && (resp.Request.URL.Path == base+"tree" || resp.Request.URL.Path == base+"lab") {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Since(start) >= u.SpawnTimeout {
				last := fmt.Sprint(err)
				if err == nil {
					last = resp.Request.URL.Path + " " + resp.Status
				}
				return fmt.Errorf("the server did not start in %s (last: %s)", u.SpawnTimeout, last)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(rand.N(u.SpawnRefresh)):
			}
		}
		x := u.cookie(base, "_xsrf")
		if x == "" {
			return errors.New("jupyter left no _xsrf cookie under " + base)
		}
		u.headers.Set("X-XSRFToken", x)
		return nil
	})
}

// startKernel posts to the server's api/kernels with no body.
func (u *user) startKernel(ctx context.Context) error {
	return u.timed("kernel-start", func() error {
		resp, b, err := u.do(ctx, "POST", "/user/"+u.User+"/api/kernels", nil, u.headers, true)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("start kernel: %s: %.200s", resp.Status, b)
		}
		var k struct{ ID string }
		if err := json.Unmarshal(b, &k); err != nil || k.ID == "" {
			return fmt.Errorf("start kernel: no id in %.200s", b)
		}
		u.kernel = k.ID
		return nil
	})
}

// runCode is hubtraf's assert_code_output: over the kernel's channels
// websocket, send code and wait for its output until Execute is over.
func (u *user) runCode(ctx context.Context, code, want string) error {
	ws := "ws" + strings.TrimPrefix(u.Hub, "http") + "/user/" + u.User + "/api/kernels/" + u.kernel + "/channels"
	d := websocket.Dialer{Jar: u.jar, HandshakeTimeout: 30 * time.Second}
	conn, resp, err := d.DialContext(ctx, ws, u.headers)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("kernel websocket: %w (%s)", err, resp.Status)
		}
		return fmt.Errorf("kernel websocket: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	for {
		if err := u.timed("code-execute", func() error { return u.execute(conn, code, want) }); err != nil {
			return err
		}
		if time.Since(start) >= u.Execute {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rand.N(time.Second)):
		}
	}
}

func (u *user) execute(conn *websocket.Conn, code, want string) error {
	msgID := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	msg := map[string]any{
		"header":   map[string]any{"msg_id": msgID, "username": u.User, "msg_type": "execute_request", "version": "5.2"},
		"metadata": map[string]any{},
		"content": map[string]any{"code": code, "silent": false, "store_history": true,
			"user_expressions": map[string]any{}, "allow_stdin": true, "stop_on_error": true},
		"buffers": []any{}, "parent_header": map[string]any{}, "channel": "shell",
	}
	if err := conn.WriteJSON(msg); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var m struct {
			Channel      string `json:"channel"`
			MsgType      string `json:"msg_type"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Data map[string]any `json:"data"`
				Text string         `json:"text"`
			} `json:"content"`
		}
		if err := conn.ReadJSON(&m); err != nil {
			return fmt.Errorf("reading the kernel's answer: %w", err)
		}
		if m.ParentHeader.MsgID != msgID || m.Channel != "iopub" {
			continue
		}
		var got string
		switch m.MsgType {
		case "execute_result":
			got, _ = m.Content.Data["text/plain"].(string)
		case "stream":
			got = m.Content.Text
		}
		if got == "" {
			continue
		}
		if got != want {
			return fmt.Errorf("%s gave %q, want %q", code, got, want)
		}
		return nil
	}
}

func (u *user) stopKernel(ctx context.Context) error {
	return u.timed("kernel-stop", func() error {
		resp, b, err := u.do(ctx, "DELETE", "/user/"+u.User+"/api/kernels/"+u.kernel, nil, u.headers, true)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("stop kernel: %s: %.200s", resp.Status, b)
		}
		return nil
	})
}

// stopServer deletes the server through the hub's API with the session
// cookie and Jupyter's _xsrf in X-XSRFToken, as hubtraf does.
func (u *user) stopServer(ctx context.Context) error {
	return u.timed("server-stop", func() error {
		resp, b, err := u.do(ctx, "DELETE", "/hub/api/users/"+u.User+"/server", nil, u.headers, true)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("stop server: %s: %.200s", resp.Status, b)
		}
		return nil
	})
}
