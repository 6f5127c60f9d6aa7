package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// needJupyter skips (or, with CI=true, fails) when Debian's Jupyter is
// not installed.
func needJupyter(t *testing.T) {
	t.Helper()
	needtest.Tool(t, "jupyter-notebook", "apt-get install jupyter-notebook python3-ipykernel")
}

// jupyterUsers prepares a data folder for a hub whose users' servers run
// Jupyter, with alice and bob in it: it needs Jupyter, and kills the
// servers a test leaves behind.
func jupyterUsers(t *testing.T) (dataDir string, common []string) {
	t.Helper()
	needJupyter(t)
	dataDir = t.TempDir()
	t.Cleanup(func() { hubtest.KillServersUnder(dataDir) })
	common = []string{"--data-dir", dataDir, "--bcrypt-cost", "4"}
	if os.Geteuid() != 0 {
		// Not root, the hub runs servers for one user unless told the
		// users trust each other; as root (CI) each gets an account.
		common = append(common, "--local-shared-account")
	}
	mustRun(t, "alice's password\n", append([]string{"user", "add", "alice", "--password-stdin"}, common...)...)
	mustRun(t, "bob's password!\n", append([]string{"user", "add", "bob", "--password-stdin"}, common...)...)
	return dataDir, common
}

// onePlusOne starts a kernel on name's server through c (with its
// cookie), runs 1+1 on it over the relayed websocket, and returns the
// kernel's id.
func onePlusOne(t *testing.T, c *client, name string) string {
	t.Helper()
	var kernel struct{ ID string }
	if code := c.api("POST", "/user/"+name+"/api/kernels", "cookie", map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}
	conn := dialKernel(t, c, name, kernel.ID)
	if got := execute(t, conn, "1+1"); got != "2" {
		t.Fatalf("1+1 = %q", got)
	}
	conn.Close()
	return kernel.ID
}

// startServer starts name's server with c's cookie and waits, through
// its progress events, until it is ready.
func (c *client) startServer(name string) {
	c.t.Helper()
	if code := c.api("POST", "/hub/api/users/"+name+"/server", "cookie", map[string]any{}, nil); code != http.StatusCreated && code != http.StatusAccepted {
		c.t.Fatalf("start %s = %d", name, code)
	}
	if ev := c.progress(name); len(ev) == 0 || ev[len(ev)-1]["ready"] != true {
		c.t.Fatalf("the server of %s did not start; progress = %v", name, ev)
	}
}

// progress reads the SSE stream to its end and returns the events.
func (c *client) progress(name string) []map[string]any {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/hub/api/users/" + name + "/server/progress")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		c.t.Fatalf("progress = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			c.t.Fatalf("progress event %q: %v", line, err)
		}
		events = append(events, ev)
	}
	return events
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sendExecute sends an execute_request on the shell channel in Jupyter's
// JSON websocket protocol and returns its msg_id.
func sendExecute(t *testing.T, conn *websocket.Conn, code string) string {
	t.Helper()
	msgID := randomID()
	msg := map[string]any{
		"header":        map[string]any{"msg_id": msgID, "username": "test", "session": randomID(), "msg_type": "execute_request", "version": "5.3"},
		"parent_header": map[string]any{},
		"metadata":      map[string]any{},
		"content":       map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
		"channel":       "shell",
		"buffers":       []any{},
	}
	if err := conn.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	return msgID
}

// kernelMessage is what the tests read of a kernel's message.
type kernelMessage struct {
	Channel string `json:"channel"`
	Header  struct {
		MsgType string `json:"msg_type"`
	}
	ParentHeader struct {
		MsgID string `json:"msg_id"`
	} `json:"parent_header"`
	Content struct {
		Data           map[string]any `json:"data"`
		Text           string         `json:"text"`
		ExecutionState string         `json:"execution_state"`
		Ename          string         `json:"ename"`
	} `json:"content"`
}

// execute runs code on a kernel over the relayed websocket and returns
// the text/plain of its execute_result (or stream output).
func execute(t *testing.T, conn *websocket.Conn, code string) string {
	t.Helper()
	return executeWithin(t, conn, code, time.Minute)
}

// executeWithin is execute for code that may take up to d.
func executeWithin(t *testing.T, conn *websocket.Conn, code string, d time.Duration) string {
	t.Helper()
	return readOutput(t, conn, sendExecute(t, conn, code), d)
}

// readOutput reads the output of the execute request msgID (the
// text/plain of its execute_result, or its streams) until the kernel is
// idle again, waiting at most d.
func readOutput(t *testing.T, conn *websocket.Conn, msgID string, d time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(d))
	defer conn.SetReadDeadline(time.Time{})
	out := ""
	for {
		var reply kernelMessage
		if err := conn.ReadJSON(&reply); err != nil {
			t.Fatalf("reading the kernel's reply: %v", err)
		}
		if reply.ParentHeader.MsgID != msgID {
			continue
		}
		switch reply.Header.MsgType {
		case "execute_result":
			s, _ := reply.Content.Data["text/plain"].(string)
			out += s
		case "stream":
			out += reply.Content.Text
		case "error":
			t.Fatalf("kernel error %s", reply.Content.Ename)
		case "status":
			if reply.Content.ExecutionState == "idle" {
				return out
			}
		}
	}
}

func dialKernel(t *testing.T, c *client, name, kernelID string) *websocket.Conn {
	t.Helper()
	return dialKernelWith(t, c, name, kernelID, http.Header{})
}

// dialKernelWith opens a kernel's websocket with c's cookies and hdr.
func dialKernelWith(t *testing.T, c *client, name, kernelID string, hdr http.Header) *websocket.Conn {
	t.Helper()
	u, _ := url.Parse(c.base)
	hdr.Set("Origin", c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/user/"+name+"/api/kernels/"+kernelID+"/channels?session_id="+randomID(), hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("kernel websocket: %v (status %d)", err, status)
	}
	return conn
}

// TestJupyterEndToEnd is the analyst's path with the real Jupyter from
// Debian, through the built hub: log in, start, watch progress, create a
// notebook through the contents API, start a kernel, run 1+1 over the
// relayed websocket, open the notebook's own page, find the hub's home in
// Jupyter's header and log out of the hub with Jupyter's Logout, restart
// the hub with the server kept, stop; and another user refused at every
// path.
func TestJupyterEndToEnd(t *testing.T) {
	dataDir, common := jupyterUsers(t)
	aliceToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "alice"}, common...)...))
	bobToken := strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", "bob"}, common...)...))

	hub1 := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0")
	alice := newClient(t, hub1.URL)
	if resp := alice.login("alice", "alice's password"); resp.StatusCode != http.StatusFound {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	// Not running yet: the API says 503, a browser is offered to start.
	if code := alice.api("GET", "/user/alice/api/status", aliceToken, nil, nil); code != http.StatusServiceUnavailable {
		t.Errorf("before start = %d, want 503", code)
	}
	code := alice.api("POST", "/hub/api/users/alice/server", "cookie", map[string]any{}, nil)
	if code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("start = %d", code)
	}
	if code := alice.api("POST", "/hub/api/users/alice/server", "cookie", map[string]any{}, nil); code != http.StatusBadRequest {
		t.Errorf("second start = %d, want 400", code)
	}
	events := alice.progress("alice")
	last := events[len(events)-1]
	if last["ready"] != true || last["url"] != "/user/alice/" || last["progress"] != float64(100) {
		t.Fatalf("progress events = %v", events)
	}
	var model struct {
		Server  *string `json:"server"`
		Servers map[string]struct {
			Ready   bool   `json:"ready"`
			Started string `json:"started"`
		} `json:"servers"`
	}
	alice.api("GET", "/hub/api/users/alice", aliceToken, nil, &model)
	if model.Server == nil || !model.Servers[""].Ready {
		t.Fatalf("user model after start: %+v", model)
	}
	started := model.Servers[""].Started

	// A notebook through the contents API (the cookie, and the _xsrf
	// cookie the contents service sets on the first GET).
	if code := alice.api("GET", "/user/alice/api/contents", "cookie", nil, nil); code != 200 {
		t.Fatalf("list contents = %d", code)
	}
	var nb struct{ Path string }
	if code := alice.api("POST", "/user/alice/api/contents", "cookie", map[string]any{"type": "notebook"}, &nb); code != http.StatusCreated {
		t.Fatalf("new notebook = %d", code)
	}
	// A kernel, and 1+1 over the relayed websocket.
	kernelID := onePlusOne(t, alice, "alice")
	// The notebook's own page, served by Jupyter from the hub's database.
	resp, err := alice.http.Get(hub1.URL + "/user/alice/notebooks/" + url.PathEscape(nb.Path))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), nb.Path) {
		t.Fatalf("notebook page = %d", resp.StatusCode)
	}

	// bob is refused at every path of alice's.
	bob := newClient(t, hub1.URL)
	bob.login("bob", "bob's password!")
	for _, path := range []string{"/user/alice/", "/user/alice/api/status", "/user/alice/api/contents", "/user/alice/files/" + nb.Path, "/user/alice/notebooks/" + nb.Path, "/user/alice/api/kernels", "/hub/api/users/alice", "/hub/api/users/alice/server/progress"} {
		for _, authz := range []string{"cookie", bobToken} {
			if code := bob.api("GET", path, authz, nil, nil); code != 403 && code != 404 {
				t.Errorf("bob GET %s with %s = %d, want 403 or 404", path, authz[:min(6, len(authz))], code)
			}
		}
	}
	for _, rq := range [][2]string{{"POST", "/hub/api/users/alice/server"}, {"DELETE", "/hub/api/users/alice/server"}, {"POST", "/user/alice/api/kernels"}, {"DELETE", "/user/alice/api/kernels/" + kernelID}, {"PUT", "/user/alice/api/contents/x.txt"}} {
		if code := bob.api(rq[0], rq[1], bobToken, map[string]any{}, nil); code != 403 && code != 404 {
			t.Errorf("bob %s %s = %d, want 403 or 404", rq[0], rq[1], code)
		}
	}
	u, _ := url.Parse(hub1.URL)
	_, wsResp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/user/alice/api/kernels/"+kernelID+"/channels", http.Header{"Authorization": {"token " + bobToken}})
	if err == nil || wsResp == nil || wsResp.StatusCode != 404 {
		t.Errorf("bob's websocket to alice's kernel: %v", err)
	}

	// Jupyter's pages lead back to the hub: the header links to the
	// hub's home, and Jupyter's Logout logs out of the hub while the
	// server keeps running.
	resp, err = alice.http.Get(hub1.URL + "/user/alice/tree")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `href="/hub/home"`) {
		t.Errorf("Jupyter's tree page = %d, link to /hub/home: %v", resp.StatusCode, strings.Contains(string(page), `href="/hub/home"`))
	}
	// Jupyter's Logout leads to the hub's Log out page (a GET there
	// changes nothing, so another site cannot log alice out through
	// it), whose button posts the form.
	var hops []string
	var logoutPage []byte
	for next := "/user/alice/logout"; next != "" && len(hops) < 5; {
		resp, err := alice.http.Get(hub1.URL + next)
		if err != nil {
			t.Fatal(err)
		}
		logoutPage, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		next = resp.Header.Get("Location")
		if next != "" {
			hops = append(hops, next)
		}
	}
	if want := []string{"/hub/logout"}; strings.Join(hops, " ") != strings.Join(want, " ") {
		t.Errorf("Jupyter's logout went to %q, want %q", hops, want)
	}
	if code := alice.api("GET", "/hub/api/user", "cookie", nil, nil); code != http.StatusOK {
		t.Errorf("the hub after Jupyter's logout link, before the button = %d, want 200", code)
	}
	m := xsrfField.FindSubmatch(logoutPage)
	if m == nil {
		t.Fatalf("the hub's Log out page has no form:\n%s", logoutPage)
	}
	resp, err = alice.http.PostForm(hub1.URL+"/hub/logout", url.Values{"_xsrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/hub/login" {
		t.Errorf("the Log out button = %d to %q, want 303 to /hub/login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := alice.api("GET", "/hub/api/user", "cookie", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the hub after Jupyter's logout = %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", hub1.URL+"/user/alice/tree", nil)
	req.Header.Set("Accept", "text/html") // a browser's page request
	resp, err = alice.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/hub/login?") {
		t.Errorf("alice's tree page after Jupyter's logout = %d to %q, want a redirect to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := alice.api("GET", "/user/alice/api/status", aliceToken, nil, nil); code != 200 {
		t.Errorf("alice's server after Jupyter's logout = %d, want it running", code)
	}

	// Restart the hub: the server is kept and answers without a new start.
	hub1.Stop()
	hub2 := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "0")
	alice2 := newClient(t, hub2.URL)
	if code := alice2.api("GET", "/user/alice/api/status", aliceToken, nil, nil); code != 200 {
		t.Fatalf("after the hub restarted, alice's server = %d", code)
	}
	alice2.api("GET", "/hub/api/users/alice", aliceToken, nil, &model)
	if model.Servers[""].Started != started {
		t.Errorf("the server was started again: started %s, was %s", model.Servers[""].Started, started)
	}
	var k2 []struct{ ID string }
	if alice2.api("GET", "/user/alice/api/kernels", aliceToken, nil, &k2); len(k2) != 1 || k2[0].ID != kernelID {
		t.Errorf("kernels after the restart = %v, want the same kernel", k2)
	}

	// Stop.
	if code := alice2.api("DELETE", "/hub/api/users/alice/server", aliceToken, nil, nil); code != http.StatusNoContent && code != http.StatusAccepted {
		t.Fatalf("stop = %d", code)
	}
	hubtest.WaitFor(t, "the server to stop", 30*time.Second, func() bool {
		return alice2.api("GET", "/user/alice/api/status", aliceToken, nil, nil) == http.StatusServiceUnavailable
	})
	// The notebook outlives the server.
	if code := alice2.api("GET", "/user/alice/api/contents/"+url.PathEscape(nb.Path), aliceToken, nil, nil); code != 200 {
		t.Errorf("the notebook after the server stopped = %d", code)
	}
}

// cullingHub starts a hub that culls servers idle for 4 s, with alice's
// and bob's servers running; tokens are theirs.
func cullingHub(t *testing.T) (*hubtest.Hub, map[string]string) {
	t.Helper()
	dataDir, common := jupyterUsers(t)
	h := startHub(t, nil, "--data-dir", dataDir, "--idle-timeout", "4s", "--cull-interval", "1s")
	tokens := map[string]string{}
	for _, name := range []string{"alice", "bob"} {
		tokens[name] = strings.TrimSpace(mustRun(t, "", append([]string{"token", "create", name}, common...)...))
	}
	c := newClient(t, h.URL)
	for _, name := range []string{"alice", "bob"} {
		if code := c.api("POST", "/hub/api/users/"+name+"/server", tokens[name], map[string]any{}, nil); code != 201 && code != 202 {
			t.Fatalf("start %s = %d", name, code)
		}
	}
	hubtest.WaitFor(t, "both servers ready", 60*time.Second, func() bool {
		return c.api("GET", "/user/bob/api/status", tokens["bob"], nil, nil) == 200 &&
			c.api("GET", "/user/alice/api/status", tokens["alice"], nil, nil) == 200
	})
	return h, tokens
}

// TestCullIdleSpareBusy: an idle server is culled, one with a busy kernel
// is spared.
func TestCullIdleSpareBusy(t *testing.T) {
	h, tokens := cullingHub(t)
	bob := newClient(t, h.URL)
	bob.login("bob", "bob's password!")
	var kernel struct{ ID string }
	bob.api("POST", "/user/bob/api/kernels", tokens["bob"], map[string]any{"name": "python3"}, &kernel)
	conn := dialKernel(t, bob, "bob", kernel.ID)
	defer conn.Close()
	execute(t, conn, "1")
	// Keep bob's kernel busy well past the idle timeout.
	sendExecute(t, conn, "import time; time.sleep(120)")
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	aliceCulledBobSpared(t, bob, tokens, "his busy kernel", nil)
}

// aliceCulledBobSpared waits for the hub to cull alice's server, calling
// meanwhile (if not nil) on every look, then checks that bob's, kept
// by why, still runs, and stops it.
func aliceCulledBobSpared(t *testing.T, c *client, tokens map[string]string, why string, meanwhile func()) {
	t.Helper()
	var model struct {
		Servers map[string]any `json:"servers"`
	}
	hubtest.WaitFor(t, "alice's idle server to be culled", 90*time.Second, func() bool {
		if meanwhile != nil {
			meanwhile()
		}
		model.Servers = nil
		c.api("GET", "/hub/api/users/alice", tokens["alice"], nil, &model)
		return len(model.Servers) == 0
	})
	if code := c.api("GET", "/user/bob/api/status", tokens["bob"], nil, nil); code != 200 {
		t.Errorf("bob's server = %d after alice's was culled; %s must keep it running", code, why)
	}
	if code := c.api("DELETE", "/hub/api/users/bob/server", tokens["bob"], nil, nil); code != 204 && code != 202 {
		t.Errorf("stop bob = %d", code)
	}
}

// busyThenGone starts a kernel on name's server, has it sleep for
// seconds, and closes the websocket once the kernel says it is busy,
// before it is idle again: the relay never sees the idle status.
func busyThenGone(t *testing.T, c *client, name, token string, seconds int) {
	t.Helper()
	var kernel struct{ ID string }
	if code := c.api("POST", "/user/"+name+"/api/kernels", token, map[string]any{"name": "python3"}, &kernel); code != http.StatusCreated {
		t.Fatalf("start kernel = %d", code)
	}
	conn := dialKernelWith(t, c, name, kernel.ID, http.Header{"Authorization": {"token " + token}})
	defer conn.Close()
	msgID := sendExecute(t, conn, fmt.Sprintf("import time; time.sleep(%d)", seconds))
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var m kernelMessage
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("reading the kernel's status: %v", err)
		}
		if m.ParentHeader.MsgID == msgID && m.Header.MsgType == "status" && m.Content.ExecutionState == "busy" {
			return
		}
	}
}

// TestCullSeesRealActivity: with the real Jupyter, a server whose only
// traffic is contents saves through the hub is not culled, while one
// whose kernel was busy when its websocket went away is, once the
// server says the kernel is idle; the other user's refused saves to it
// do not keep it alive.
func TestCullSeesRealActivity(t *testing.T) {
	h, tokens := cullingHub(t)
	alice := newClient(t, h.URL)
	alice.login("alice", "alice's password")
	bob := newClient(t, h.URL)

	// Alice's kernel goes busy, and her client goes away before it is
	// idle again: the relay never sees the idle status.
	busyThenGone(t, alice, "alice", tokens["alice"], 5)

	// Meanwhile bob only saves a notebook through the hub's contents
	// service, and tries to save into alice's, refused.
	nb := map[string]any{"type": "file", "format": "text", "content": "autosave"}
	polls := 0
	aliceCulledBobSpared(t, bob, tokens, "his saves", func() {
		if polls++; polls%10 != 1 {
			return
		}
		if code := bob.api("PUT", "/user/bob/api/contents/notes.txt", tokens["bob"], nb, nil); code != 200 && code != 201 {
			t.Fatalf("bob's save = %d", code)
		}
		if code := bob.api("PUT", "/user/alice/api/contents/notes.txt", tokens["bob"], nb, nil); code != 404 {
			t.Fatalf("bob's save into alice's contents = %d, want 404", code)
		}
	})
}
