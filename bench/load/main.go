// Command load plays N analysts against a built hub for a bounded time:
// each logs in through the form, starts a server, opens a kernel over the
// relayed websocket, then executes code and saves and loads a notebook
// in a loop, and finally stops the server. It reports errors and latency
// percentiles per operation. Servers are a small Jupyter stand-in (this
// program, run by the hub's local spawner), so the load measures the hub.
//
//	go build -o /tmp/sparkhub . && go run ./bench/load -hub /tmp/sparkhub -analysts 50 -duration 60s
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "stand-in" {
		standIn()
		return
	}
	hubBin := flag.String("hub", "", "the sparkhub binary (go build -o /tmp/sparkhub .)")
	analysts := flag.Int("analysts", 50, "how many analysts at once")
	duration := flag.Duration("duration", 60*time.Second, "how long each analyst works after its server is up")
	dbURL := flag.String("db", "", "database URL (default: SQLite in a temporary folder)")
	cost := flag.Int("bcrypt-cost", 10, "bcrypt cost of the analysts' passwords")
	flag.Parse()
	if *hubBin == "" {
		fmt.Fprintln(os.Stderr, "give -hub PATH-TO-SPARKHUB")
		os.Exit(2)
	}
	if err := run(*hubBin, *analysts, *duration, *dbURL, *cost); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// stats collects durations and errors per operation.
type stats struct {
	mu   sync.Mutex
	ok   map[string][]time.Duration
	errs map[string]int
	last map[string]string
}

func (s *stats) add(op string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[op]++
		s.last[op] = err.Error()
		return
	}
	s.ok[op] = append(s.ok[op], d)
}

func run(hubBin string, n int, duration time.Duration, dbURL string, cost int) error {
	dir, err := os.MkdirTemp("", "sparkhub-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--bcrypt-cost", fmt.Sprint(cost),
		"--idle-timeout", "0", "--local-cmd", self + " stand-in"}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	hub := exec.Command(hubBin, args...)
	hub.Env = append(os.Environ(), "SPARKHUB_ADMIN_PASSWORD=load-admin-password")
	stderr, _ := hub.StderrPipe()
	hub.Stdout = io.Discard
	if err := hub.Start(); err != nil {
		return err
	}
	defer func() {
		hub.Process.Signal(syscall.SIGTERM)
		hub.Wait()
	}()
	base, err := waitServing(stderr)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, stderr)

	// The analysts, made by the admin over the API.
	tokArgs := []string{"token", "create", "admin", "--data-dir", dir}
	if dbURL != "" {
		tokArgs = append(tokArgs, "--db", dbURL)
	}
	out, err := exec.Command(hubBin, tokArgs...).Output()
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	admin := strings.TrimSpace(string(out))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("analyst%03d", i)
	}
	if code, body := call(http.DefaultClient, "POST", base+"/hub/api/users", "token "+admin, map[string]any{"usernames": names}); code != 201 {
		return fmt.Errorf("create users: %d %s", code, body)
	}
	for _, name := range names {
		if code, body := call(http.DefaultClient, "PATCH", base+"/hub/api/users/"+name, "token "+admin, map[string]any{"password": "password of " + name}); code != 200 {
			return fmt.Errorf("set password: %d %s", code, body)
		}
	}

	st := &stats{ok: map[string][]time.Duration{}, errs: map[string]int{}, last: map[string]string{}}
	var wg sync.WaitGroup
	start := time.Now()
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			analyst(base, name, duration, st)
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	fmt.Printf("%d analysts, %s of work each after their server was up; wall time %s\n\n", n, duration, wall.Round(time.Second))
	fmt.Println("| operation | done | errors | p50 | p95 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, op := range []string{"login", "start to ready", "open kernel", "execute", "save 16 KiB notebook", "load notebook", "stop"} {
		d := st.ok[op]
		slices.Sort(d)
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %s |\n", op, len(d), st.errs[op], ms(pct(d, 50)), ms(pct(d, 95)), ms(pct(d, 99)), ms(pct(d, 100)))
	}
	for op, e := range st.last {
		fmt.Printf("\nlast %s error: %s\n", op, e)
	}
	return nil
}

// analyst is one person's session.
func analyst(base, name string, duration time.Duration, st *stats) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t := time.Now()
	if err := login(c, base, name); err != nil {
		st.add("login", 0, err)
		return
	}
	st.add("login", time.Since(t), nil)

	t = time.Now()
	if code, body := callCookie(c, base, "POST", "/hub/api/users/"+name+"/server", nil); code != 201 && code != 202 {
		st.add("start to ready", 0, fmt.Errorf("start: %d %s", code, body))
		return
	}
	for {
		if code, _ := callCookie(c, base, "GET", "/user/"+name+"/api/status", nil); code == 200 {
			break
		}
		if time.Since(t) > 2*time.Minute {
			st.add("start to ready", 0, fmt.Errorf("not ready after 2 minutes"))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	st.add("start to ready", time.Since(t), nil)
	defer func() {
		t := time.Now()
		code, body := callCookie(c, base, "DELETE", "/hub/api/users/"+name+"/server", nil)
		var err error
		if code != 204 && code != 202 {
			err = fmt.Errorf("stop: %d %s", code, body)
		}
		st.add("stop", time.Since(t), err)
	}()

	// The contents service sets the _xsrf cookie Jupyter's pages use.
	callCookie(c, base, "GET", "/user/"+name+"/api/contents", nil)
	t = time.Now()
	var k struct{ ID string }
	code, body := callCookie(c, base, "POST", "/user/"+name+"/api/kernels", map[string]any{"name": "python3"})
	if code != 201 || json.Unmarshal(body, &k) != nil {
		st.add("open kernel", 0, fmt.Errorf("kernel: %d %s", code, body))
		return
	}
	u, _ := url.Parse(base)
	hdr := http.Header{"Origin": {base}}
	for _, ck := range jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/user/"+name+"/api/kernels/"+k.ID+"/channels?session_id="+randomHex(4), hdr)
	if err != nil {
		st.add("open kernel", 0, err)
		return
	}
	defer conn.Close()
	st.add("open kernel", time.Since(t), nil)

	notebook := notebookOf(16 << 10)
	path := "/user/" + name + "/api/contents/work.ipynb"
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		t = time.Now()
		err := execute(conn)
		st.add("execute", time.Since(t), err)
		t = time.Now()
		code, body := callCookie(c, base, "PUT", path, map[string]any{"type": "notebook", "content": notebook})
		err = nil
		if code != 200 && code != 201 {
			err = fmt.Errorf("save: %d %s", code, body)
		}
		st.add("save 16 KiB notebook", time.Since(t), err)
		t = time.Now()
		code, body = callCookie(c, base, "GET", path, nil)
		err = nil
		if code != 200 {
			err = fmt.Errorf("load: %d %s", code, body)
		}
		st.add("load notebook", time.Since(t), err)
		time.Sleep(200 * time.Millisecond) // a person's pace, roughly
	}
}

func execute(conn *websocket.Conn) error {
	id := randomHex(8)
	msg := map[string]any{
		"header":        map[string]any{"msg_id": id, "username": "load", "session": "load", "msg_type": "execute_request", "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
		"content": map[string]any{"code": "1+1", "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	if err := conn.WriteJSON(msg); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(`"execute_reply"`)) && bytes.Contains(data, []byte(id)) {
			return nil
		}
	}
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

func login(c *http.Client, base, name string) error {
	resp, err := c.Get(base + "/hub/login")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("no _xsrf on the login page")
	}
	resp, err = c.PostForm(base+"/hub/login", url.Values{"username": {name}, "password": {"password of " + name}, "_xsrf": {string(m[1])}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return fmt.Errorf("login: %d", resp.StatusCode)
	}
	return nil
}

// callCookie is a browser's request: the session cookie, and the XSRF
// header from the _xsrf cookie for the path's scope.
func callCookie(c *http.Client, base, method, path string, body any) (int, []byte) {
	scope := "/hub/"
	if strings.HasPrefix(path, "/user/") {
		parts := strings.SplitN(path, "/", 4)
		scope = "/user/" + parts[2] + "/"
	}
	u, _ := url.Parse(base + scope)
	xsrf := ""
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "_xsrf" {
			xsrf = ck.Value
		}
	}
	return do(c, method, base+path, map[string]string{"X-XSRFToken": xsrf}, body)
}

func call(c *http.Client, method, u, authz string, body any) (int, []byte) {
	return do(c, method, u, map[string]string{"Authorization": authz}, body)
}

func do(c *http.Client, method, u string, hdr map[string]string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out
}

// notebookOf is a notebook of about size bytes of code cells.
func notebookOf(size int) map[string]any {
	var cells []any
	line := strings.Repeat("x = 1 + 1  # some analysis\n", 4)
	for n := 0; n < size; n += len(line) {
		cells = append(cells, map[string]any{"cell_type": "code", "execution_count": nil, "metadata": map[string]any{}, "outputs": []any{}, "source": line})
	}
	return map[string]any{"cells": cells, "metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5}
}

var servingURL = regexp.MustCompile(`url=(http://[^ ]+)/hub/`)

func waitServing(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("the hub exited before serving")
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
