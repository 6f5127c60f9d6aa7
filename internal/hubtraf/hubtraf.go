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

// An Analyst is one simulated analyst's browser: its cookies and the
// headers hubtraf sends. Run plays a whole session; the steps are there
// for other runs (the Spark benchmark) to compose.
type Analyst struct {
	Options
	http    *http.Client
	jar     http.CookieJar
	headers http.Header
	kernel  string
}

// New is an analyst with no cookies yet.
func New(o Options) *Analyst {
	jar, _ := cookiejar.New(nil)
	if o.Step == nil {
		o.Step = func(string, time.Duration) {}
	}
	return &Analyst{Options: o, jar: jar, http: &http.Client{Jar: jar, Timeout: 60 * time.Second},
		headers: http.Header{"Referer": {o.Hub + "/hub/"}}}
}

// Run plays one session to its end.
func Run(ctx context.Context, o Options) Result {
	if o.SpawnRefresh == 0 {
		o.SpawnRefresh = 30 * time.Second
	}
	if o.SpawnTimeout == 0 {
		o.SpawnTimeout = 300 * time.Second
	}
	u := New(o)
	if err := u.Login(ctx); err != nil {
		return Result{Outcome: Login, Err: err}
	}
	if err := u.EnsureServer(ctx); err != nil {
		return Result{Outcome: StartServer, Err: err}
	}
	if err := u.StartKernel(ctx); err != nil {
		return Result{Outcome: StartKernel, Err: err}
	}
	res := Result{Outcome: Completed}
	if err := u.runCode(ctx, "5 * 4", "20"); err != nil {
		res = Result{Outcome: RunCode, Err: err}
	}
	// As hubtraf: once a kernel ran, stop it and the server, whatever
	// became of the code.
	res.StopErr = errors.Join(u.StopKernel(ctx), u.StopServer(ctx))
	res.Stopped = res.StopErr == nil
	return res
}

func (u *Analyst) timed(step string, f func() error) error {
	t := time.Now()
	err := f()
	if err == nil {
		u.Step(step, time.Since(t))
	}
	return err
}

func (u *Analyst) do(ctx context.Context, method, path string, body io.Reader, hdr http.Header, follow bool) (*http.Response, []byte, error) {
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
func (u *Analyst) cookie(path, name string) string {
	p, _ := url.Parse(u.Hub + path)
	for _, c := range u.jar.Cookies(p) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Login is hubtraf's login_dummy: get the login page (which should set
// the _xsrf cookie), post the form with that cookie's value, expect 302.
func (u *Analyst) Login(ctx context.Context) error {
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

// EnsureServer is hubtraf's ensure_server_simulate: open /hub/spawn,
// following redirects, until it lands on Jupyter's /tree or /lab, waiting
// a random time up to SpawnRefresh between tries. Then Jupyter's _xsrf
// cookie under /user/{name}/ goes into the X-XSRFToken header.
func (u *Analyst) EnsureServer(ctx context.Context) error {
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

// StartKernel posts to the server's api/kernels with no body.
func (u *Analyst) StartKernel(ctx context.Context) error {
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
func (u *Analyst) runCode(ctx context.Context, code, want string) error {
	conn, err := u.dialKernel(ctx)
	if err != nil {
		return err
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

func (u *Analyst) execute(conn *websocket.Conn, code, want string) error {
	msgID := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	if err := conn.WriteJSON(executeRequest(msgID, u.User, code)); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var m message
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

// dialKernel opens the kernel's channels websocket with the analyst's
// cookies and headers (no Origin, as hubtraf's HTTP library sends none).
func (u *Analyst) dialKernel(ctx context.Context) (*websocket.Conn, error) {
	ws := "ws" + strings.TrimPrefix(u.Hub, "http") + "/user/" + u.User + "/api/kernels/" + u.kernel + "/channels"
	d := websocket.Dialer{Jar: u.jar, HandshakeTimeout: 30 * time.Second}
	conn, resp, err := d.DialContext(ctx, ws, u.headers)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("kernel websocket: %w (%s)", err, resp.Status)
		}
		return nil, fmt.Errorf("kernel websocket: %w", err)
	}
	return conn, nil
}

// executeRequest is hubtraf's execute_request message.
func executeRequest(msgID, user, code string) map[string]any {
	return map[string]any{
		"header":   map[string]any{"msg_id": msgID, "username": user, "msg_type": "execute_request", "version": "5.2"},
		"metadata": map[string]any{},
		"content": map[string]any{"code": code, "silent": false, "store_history": true,
			"user_expressions": map[string]any{}, "allow_stdin": true, "stop_on_error": true},
		"buffers": []any{}, "parent_header": map[string]any{}, "channel": "shell",
	}
}

// message is what is read of a kernel's message.
type message struct {
	Channel      string `json:"channel"`
	MsgType      string `json:"msg_type"`
	ParentHeader struct {
		MsgID string `json:"msg_id"`
	} `json:"parent_header"`
	Content struct {
		Data           map[string]any `json:"data"`
		Text           string         `json:"text"`
		Ename          string         `json:"ename"`
		Evalue         string         `json:"evalue"`
		ExecutionState string         `json:"execution_state"`
	} `json:"content"`
}

// StopKernel deletes the kernel through the server's API.
func (u *Analyst) StopKernel(ctx context.Context) error {
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

// StopServer deletes the server through the hub's API with the session
// cookie and Jupyter's _xsrf in X-XSRFToken, as hubtraf does.
func (u *Analyst) StopServer(ctx context.Context) error {
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

// Output runs code on the analyst's kernel over a websocket of its own
// and returns what it printed (its streams, and its result's text/plain)
// once the kernel is idle again.
func (u *Analyst) Output(ctx context.Context, code string) (string, error) {
	conn, err := u.dialKernel(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	msgID := fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
	if err := conn.WriteJSON(executeRequest(msgID, u.User, code)); err != nil {
		return "", err
	}
	out := ""
	for {
		var m message
		if err := conn.ReadJSON(&m); err != nil {
			return out, fmt.Errorf("reading the kernel's answer: %w", err)
		}
		if m.ParentHeader.MsgID != msgID || m.Channel != "iopub" {
			continue
		}
		switch m.MsgType {
		case "execute_result":
			s, _ := m.Content.Data["text/plain"].(string)
			out += s
		case "stream":
			out += m.Content.Text
		case "error":
			return out, fmt.Errorf("%s: %s", m.Content.Ename, m.Content.Evalue)
		case "status":
			if m.Content.ExecutionState == "idle" {
				return out, nil
			}
		}
	}
}

// Get fetches path with the analyst's cookies, following redirects, and
// returns the final status.
func (u *Analyst) Get(ctx context.Context, path string) (int, error) {
	resp, _, err := u.do(ctx, "GET", path, nil, nil, true)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
