// Package browsertest drives the built hub with Debian's Chromium: the
// analyst's path into a real Jupyter and back out, the admin's path
// through the admin page, a phone-size viewport, and no request leaving
// the hub. Screenshots of every page go to test-artifacts/browser/.
package browsertest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

var binary string

func TestMain(m *testing.M) {
	hubtest.Main(m, &binary)
}

const adminPassword = "admin-browser-password"

// hub is a running `sparkhub serve` over a fresh data directory.
type hub struct {
	base    string
	dataDir string
	logs    *hubtest.Buffer
}

func startHub(t *testing.T, localCmd ...string) *hub {
	t.Helper()
	return startHubWith(t, nil, localCmd...)
}

// startHubWith is startHub with more arguments for serve.
func startHubWith(t *testing.T, serveArgs []string, localCmd ...string) *hub {
	t.Helper()
	dataDir := t.TempDir()
	t.Cleanup(func() { hubtest.KillServersUnder(dataDir) })
	for _, u := range [][]string{{"admin", adminPassword, "--admin"}, {"alice", "alice's password"}} {
		hubtest.MustRun(t, binary, u[1]+"\n", nil, append([]string{"user", "add", u[0], "--password-stdin", "--data-dir", dataDir, "--bcrypt-cost", "4"}, u[2:]...)...)
	}
	// Jupyter starts in about a second here; on a cluster it takes
	// longer. A slower start lets the progress page show its steps.
	if len(localCmd) == 0 {
		jupyter, err := exec.LookPath("jupyter-notebook")
		if err != nil {
			t.Fatal(err)
		}
		// Where the servers' own accounts may run it.
		slow := filepath.Join(spawnertest.TempDirForAccounts(t), "slow-jupyter")
		if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 3\nexec "+jupyter+" \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		localCmd = []string{slow}
	}
	p := hubtest.Start(t, binary, nil, append([]string{"--data-dir", dataDir, "--idle-timeout", "0", "--local-cmd", strings.Join(localCmd, " ")}, serveArgs...)...)
	h := &hub{base: p.URL, dataDir: dataDir, logs: p.Logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub log:\n%s", h.logs.String())
		}
	})
	return h
}

// browser is one headless Chromium tab with every request it makes
// recorded.
type browser struct {
	t        *testing.T
	ctx      context.Context
	base     string
	shots    string
	mu       sync.Mutex
	requests []string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	chromium := needtest.Tool(t, "chromium", "apt-get install chromium")
	shots, err := filepath.Abs(filepath.Join("..", "test-artifacts", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, base: base, shots: shots}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	}))
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelA() })
	b.ctx = ctx
	// Leaving Jupyter's page asks "leave this page?"; a person says yes.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Logf("dialog %q: accepted", ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

// do runs actions with a time limit, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

// click clicks and waits for the page it leads to.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: click %s: %v (at %s)", what, sel, err, b.location())
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

func eval[T any](b *browser, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v (at %s)", js, err, b.location())
	}
	return v
}

// waitJS waits until the expression is truthy.
func (b *browser) waitJS(what, js string, d time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("waiting for %s: %v (at %s)", what, err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

func (b *browser) path() string {
	u, err := url.Parse(b.location())
	if err != nil {
		return ""
	}
	return u.Path
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v (at %s)", sel, err, b.location())
	}
	return s
}

// shot saves a full-page screenshot under test-artifacts/browser.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// focused is the id of the element that has the keyboard focus.
func (b *browser) focused() string {
	return eval[string](b, `document.activeElement ? document.activeElement.id : ""`)
}

// outside lists the requests that went anywhere but the hub.
func (b *browser) outside() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, _ := url.Parse(b.base)
	var out []string
	for _, r := range b.requests {
		switch {
		case strings.HasPrefix(r, b.base+"/"), strings.HasPrefix(r, "ws://"+u.Host+"/"),
			strings.HasPrefix(r, "data:"), strings.HasPrefix(r, "blob:"), strings.HasPrefix(r, "about:"):
			continue
		}
		out = append(out, r)
	}
	return out
}

// createNotebook saves a notebook of one code cell in alice's server as
// the page of her server does it (the contents API, with Jupyter's
// _xsrf cookie).
func (b *browser) createNotebook(path, source string) {
	b.t.Helper()
	status := eval[int](b, `(async () => {
		const m = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
		const r = await fetch("/user/alice/api/contents/`+path+`", {method: "PUT",
			headers: {"Content-Type": "application/json", "X-XSRFToken": m ? m[1] : ""},
			body: JSON.stringify({type: "notebook", format: "json", content: {nbformat: 4, nbformat_minor: 5,
				metadata: {kernelspec: {name: "python3", display_name: "Python 3", language: "python"}},
				cells: [{cell_type: "code", source: `+strconv.Quote(source)+`, metadata: {}, outputs: [], execution_count: null}]}})});
		return r.status;
	})()`, chromedp.EvalAwaitPromise)
	if status != 201 && status != 200 {
		b.t.Fatalf("creating the notebook %s at %s = %d", path, b.location(), status)
	}
}

func (b *browser) login(name, password string) {
	b.t.Helper()
	b.do("fill the login form",
		chromedp.Clear(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	b.click("log in", `form button[type=submit]`)
}

// TestAnalystPath: log in (a wrong password first), start a server from
// the page the proxy sends a stopped server's browser to, watch the
// progress bar to the end, land in Jupyter, run a cell in a notebook,
// save, reload and see it, and log out.
func TestAnalystPath(t *testing.T) {
	needtest.Tool(t, "chromium", "apt-get install chromium")
	needtest.Tool(t, "jupyter-notebook", "apt-get install jupyter-notebook python3-notebook python3-ipykernel")
	h := startHub(t)
	b := newBrowser(t, h.base)

	// Jupyter's address while logged out leads to the login page.
	b.open("/user/alice/tree")
	if p := b.path(); p != "/hub/login" {
		t.Fatalf("logged out, /user/alice/tree went to %s", b.location())
	}
	if f := b.focused(); f != "username" {
		t.Errorf("the login page focuses %q, want the username", f)
	}
	b.shot("login")
	b.login("alice", "not the password")
	if msg := b.text("#login-error"); !strings.Contains(msg, "Wrong username or password") {
		t.Fatalf("wrong password says %q", msg)
	}
	if f := b.focused(); f != "password" {
		t.Errorf("after a wrong password the focus is on %q, want the password", f)
	}
	b.shot("login-wrong-password")
	b.do("clear the password", chromedp.Clear(chromedp.ID("password")))
	b.login("alice", "alice's password")
	// next= took us back towards Jupyter: the server is not running,
	// and with one profile there is nothing to choose, so the spawn page
	// starts it at once (as JupyterHub's does) and shows its progress.
	if p := b.path(); p != "/hub/spawn-pending/alice" {
		t.Fatalf("after logging in, at %s; want the progress page", b.location())
	}

	// Watch the bar until Jupyter opens.
	var seen []int
	var messages string
	shot := false
	deadline := time.Now().Add(120 * time.Second)
	for {
		if time.Now().After(deadline) {
			b.shot("failed-progress")
			t.Fatalf("Jupyter did not open within 120 s; progress seen %v, at %s\n%s", seen, b.location(), messages)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + "|" + (document.getElementById("progress-bar") ? document.getElementById("progress-bar").value : "") + "|" + (document.getElementById("progress-log") ? document.getElementById("progress-log").innerText : "") + "|" + (document.getElementById("failure") && !document.getElementById("failure").hidden ? document.getElementById("failure").innerText : "")`))
		cancel()
		if err != nil { // between pages
			time.Sleep(50 * time.Millisecond)
			continue
		}
		parts := strings.SplitN(state, "|", 4)
		if strings.HasPrefix(parts[0], "/user/alice/") {
			break
		}
		if parts[3] != "" {
			b.shot("failed-spawn")
			t.Fatalf("the start failed: %s", parts[3])
		}
		if parts[0] == "/hub/spawn-pending/alice" && parts[1] != "" {
			messages = parts[2]
			if v, err := strconv.Atoi(parts[1]); err == nil && (len(seen) == 0 || seen[len(seen)-1] != v) {
				seen = append(seen, v)
			}
			if !shot && len(seen) > 0 && seen[len(seen)-1] > 0 {
				b.shot("spawn-pending")
				shot = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("progress bar went %v; messages:\n%s", seen, messages)
	if len(seen) == 0 || seen[len(seen)-1] != 100 {
		t.Errorf("the progress bar did not reach 100: %v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("the progress bar went backwards: %v", seen)
		}
	}
	if strings.TrimSpace(messages) == "" {
		t.Error("the progress page showed no messages")
	}
	if p := b.path(); p != "/user/alice/tree" {
		t.Errorf("landed at %s, want /user/alice/tree (next=)", p)
	}
	b.waitJS("the notebook list", `document.querySelector("#notebook_list") !== null`, 30*time.Second)
	b.shot("jupyter-tree")

	// A notebook with one empty cell, made the way Jupyter's own page
	// does (the contents API with Jupyter's _xsrf cookie).
	b.createNotebook("analysis.ipynb", "")
	b.open("/user/alice/notebooks/analysis.ipynb")
	kernelReady := `window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.get_cells().length > 0`
	b.waitJS("the kernel", kernelReady, 60*time.Second)
	// Type into the cell as a person does, and run it with Shift+Enter.
	b.do("type a cell",
		chromedp.Click(`.cell .CodeMirror`),
		chromedp.KeyEvent("print(6*7"),
	)
	if got := eval[string](b, `Jupyter.notebook.get_cell(0).get_text()`); got != "print(6*7)" {
		t.Fatalf("the cell holds %q after typing", got)
	}
	b.do("run the cell", chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)))
	b.waitJS("the cell's output", `(document.querySelector(".output_subarea") || {innerText: ""}).innerText.trim() === "42"`, 60*time.Second)
	b.do("save", chromedp.Click(`button[data-jupyter-action="jupyter-notebook:save-notebook"]`))
	b.waitJS("the save", `Jupyter.notebook.dirty === false && /saved|Checkpoint/i.test((document.querySelector("#notification_notebook") || {innerText: ""}).innerText + (document.querySelector(".autosave_status") || {innerText: ""}).innerText)`, 30*time.Second)
	b.shot("jupyter-notebook")
	b.do("reload", chromedp.Reload())
	b.waitJS("the notebook after the reload", kernelReady, 60*time.Second)
	if got := eval[string](b, `Jupyter.notebook.get_cell(0).get_text() + "|" + document.querySelector(".output_subarea").innerText.trim()`); got != "print(6*7)|42" {
		t.Fatalf("after the reload the notebook shows %q", got)
	}

	// Home says running, with Open and Stop; then log out from the top bar.
	b.open("/hub/home")
	if s := b.text(".state-line .badge"); s != "Running" {
		t.Errorf("home says %q while running", s)
	}
	b.shot("home-running")
	b.click("log out", `header form[action="/hub/logout"] button`)
	if p := b.path(); p != "/hub/login" {
		t.Errorf("after logging out, at %s", b.location())
	}
	b.open("/user/alice/notebooks/analysis.ipynb")
	if p := b.path(); p != "/hub/login" {
		t.Errorf("after logging out, the notebook is at %s", b.location())
	}
	if out := b.outside(); len(out) > 0 {
		t.Errorf("requests left the hub: %v", out)
	}
}

// TestAdminPath: add two users, start and stop one's server, make one
// an admin, log one out everywhere, delete one; every page at phone
// size without sideways scrolling, and nothing loaded from outside.
func TestAdminPath(t *testing.T) {
	needtest.Tool(t, "chromium", "apt-get install chromium")
	needtest.Tool(t, "jupyter-notebook", "apt-get install jupyter-notebook python3-notebook python3-ipykernel")
	h := startHub(t)
	b := newBrowser(t, h.base)
	b.open("/hub/login")
	b.login("admin", adminPassword)
	if p := b.path(); p != "/hub/home" {
		t.Fatalf("admin logged in to %s", b.location())
	}
	b.click("the admin link", `header a[href="/hub/admin"]`)
	if s := b.text("#summary"); !strings.Contains(s, "2 users") || !strings.Contains(s, "0 servers running") {
		t.Errorf("summary = %q", s)
	}
	b.shot("admin")

	b.do("type two names", chromedp.SendKeys(chromedp.ID("usernames"), "dora\nevan\n"))
	b.click("add users", "#add-users")
	if s := b.text("#notice"); !strings.Contains(s, "Added 2 users") {
		t.Fatalf("after adding: %q", s)
	}
	row := func(name string) string { return b.text("#user-" + name) }
	action := func(name, what, sel string) {
		t.Helper()
		b.do("open the actions of "+name, chromedp.Click("#user-"+name+" details.menu summary"))
		b.click(what, "#user-"+name+" "+sel)
	}

	action("dora", "start dora's server", `form[action$="/start"] button`)
	if s := b.text("#notice"); !strings.Contains(s, "dora") {
		t.Errorf("after start: %q", s)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(row("dora"), "Running") {
		if time.Now().After(deadline) {
			b.shot("failed-dora-start")
			t.Fatalf("dora's server is not running after 90 s: %q", row("dora"))
		}
		time.Sleep(time.Second)
		b.open("/hub/admin")
	}
	if s := b.text("#summary"); !strings.Contains(s, "1 server running") {
		t.Errorf("summary while dora runs = %q", s)
	}
	b.shot("admin-dora-running")
	action("dora", "stop dora's server", `form[action$="/stop"] button`)
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(row("dora"), "Not running") {
		if time.Now().After(deadline) {
			t.Fatalf("dora's server did not stop: %q", row("dora"))
		}
		time.Sleep(500 * time.Millisecond)
		b.open("/hub/admin")
	}

	action("evan", "make evan an admin", `form[action$="/admin"] button`)
	if s := b.text("#notice"); s != "evan is now an admin." {
		t.Errorf("after make admin: %q", s)
	}
	if !strings.Contains(row("evan"), "admin") {
		t.Errorf("evan's row: %q", row("evan"))
	}
	action("evan", "log evan out everywhere", `form[action$="/revoke"] button`)
	if s := b.text("#notice"); !strings.Contains(s, "evan has been logged out") {
		t.Errorf("after revoke: %q", s)
	}
	action("evan", "reset evan's password", `form[action$="/password"] button`)
	if v := eval[string](b, `document.getElementById("new-password").value`); len(v) < 12 {
		t.Errorf("new password %q", v)
	}
	b.shot("admin-new-password")

	// Delete asks for the name first; the browser will not send it empty.
	b.open("/hub/admin")
	b.do("open dora's actions", chromedp.Click("#user-dora details.menu summary"))
	b.do("press delete without confirming", chromedp.Click(`#user-dora form[action$="/delete"] button`), chromedp.Sleep(300*time.Millisecond))
	if !strings.Contains(row("dora"), "dora") || b.path() != "/hub/admin" {
		t.Fatalf("dora went without a confirmation: at %s, row %q", b.location(), row("dora"))
	}
	b.do("confirm", chromedp.SendKeys(chromedp.ID("confirm-dora"), "dora"))
	b.shot("admin-confirm-delete")
	b.click("delete dora", `#user-dora form[action$="/delete"] button`)
	if s := b.text("#notice"); !strings.Contains(s, "dora has been deleted") {
		t.Errorf("after delete: %q", s)
	}
	if n := eval[int](b, `document.querySelectorAll("#user-dora").length`); n != 0 {
		t.Error("dora is still listed")
	}
	if s := b.text("#summary"); !strings.Contains(s, "3 users") {
		t.Errorf("summary after delete = %q", s)
	}

	// Keyboard: the search field and the sort links are reachable, and
	// focus is visible.
	b.do("focus the search", chromedp.Focus(chromedp.ID("q")))
	if w := eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); w == "none" {
		t.Error("the focused search field shows no outline")
	}

	// The token page: a new token shown once, with a copy button.
	b.open("/hub/token")
	b.do("note", chromedp.SendKeys(chromedp.ID("note"), "report script"))
	b.click("create a token", "#create-token")
	if v := eval[string](b, `document.getElementById("new-token").value`); len(v) < 20 {
		t.Errorf("new token %q", v)
	}
	if vis := eval[bool](b, `!document.getElementById("copy-token").hidden`); !vis {
		t.Error("the copy button is hidden")
	}
	b.shot("token")

	// Every page at phone size: no sideways scrolling.
	pages := map[string]string{
		"home": "/hub/home", "token": "/hub/token", "admin": "/hub/admin", "spawn": "/hub/spawn",
		"not-found": "/hub/no-such-page", "forbidden-progress": "/hub/spawn-pending/nobody",
	}
	b.do("phone size", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	for name, path := range pages {
		b.open(path)
		if w := eval[string](b, `document.documentElement.scrollWidth + "/" + window.innerWidth`); func() bool {
			p := strings.SplitN(w, "/", 2)
			sw, _ := strconv.Atoi(p[0])
			iw, _ := strconv.Atoi(p[1])
			return sw > iw
		}() {
			t.Errorf("%s at phone size scrolls sideways: scrollWidth/innerWidth = %s", path, w)
		}
		b.shot("phone-" + name)
	}
	b.open("/hub/admin")
	b.do("open evan's actions", chromedp.Click("#user-evan details.menu summary"))
	b.shot("phone-admin-actions")
	b.click("log out", `header form[action="/hub/logout"] button`)
	b.shot("phone-login")
	if w := eval[string](b, `String(document.documentElement.scrollWidth > window.innerWidth)`); w != "false" {
		t.Error("the login page scrolls sideways at phone size")
	}
	b.do("desktop size", chromedp.ResetViewport())
	b.open("/hub/no-such-page")
	b.shot("not-found")
	if out := b.outside(); len(out) > 0 {
		t.Errorf("requests left the hub: %v", out)
	}
	b.mu.Lock()
	n := len(b.requests)
	b.mu.Unlock()
	if n < 10 {
		t.Errorf("only %d requests were recorded; the recorder is not working", n)
	}
}

// TestSpawnFailure: a server that cannot start says why on the progress
// page, with Retry focused, and Retry tries again; the home page says
// why too, and the admin page shows the server's last log lines.
func TestSpawnFailure(t *testing.T) {
	needtest.Tool(t, "chromium", "apt-get install chromium")
	jupyter := needtest.Tool(t, "jupyter-notebook", "apt-get install jupyter-notebook python3-notebook python3-ipykernel")
	script := func(body string) string {
		p := filepath.Join(spawnertest.TempDirForAccounts(t), "jupyter")
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		localCmd string
		why      string // what the user is told
		log      string // what the admin's log lines hold
	}{
		{"broken-command", script("echo 'jupyter: no such kernel' >&2\nexit 3\n"),
			"the last thing it wrote was “jupyter: no such kernel”", "jupyter: no such kernel"},
		{"missing-command", filepath.Join(spawnertest.TempDirForAccounts(t), "no-such-jupyter"),
			"The hub's command for Jupyter servers is wrong (it does not exist)", "no such file or directory"},
		// The real notebook 6 without the hub's package on its path:
		// what make run did with a relative data folder.
		{"python-import-error", script("unset PYTHONPATH\nexec " + jupyter + " \"$@\"\n"),
			"Python could not import sparkhub_contents", "ModuleNotFoundError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t, tt.localCmd)
			b := newBrowser(t, h.base)
			b.open("/hub/login")
			b.login("alice", "alice's password")
			b.click("start", "#start")
			b.waitJS("the failure", `!document.getElementById("failure").hidden`, 60*time.Second)
			if f := b.focused(); f != "retry" {
				t.Errorf("after the failure the focus is on %q, want Retry", f)
			}
			msg := b.text("#failure")
			t.Logf("failure says: %s", msg)
			if !strings.Contains(msg, "could not start") || !strings.Contains(msg, tt.why) || !strings.Contains(msg, "Retry") {
				t.Errorf("failure says %q, want it to say %q", msg, tt.why)
			}
			b.shot("spawn-failed-" + tt.name)
			b.click("retry", "#retry")
			if p := b.path(); p != "/hub/spawn-pending/alice" {
				t.Errorf("retry went to %s", b.location())
			}
			b.waitJS("the second failure", `!document.getElementById("failure").hidden`, 60*time.Second)
			b.open("/hub/home")
			if s := b.text(".state-line .badge"); s != "Failed to start" {
				t.Errorf("home says %q after a failed start", s)
			}
			if s := b.text("#stop-reason"); !strings.Contains(s, tt.why) || strings.Contains(s, "home page") {
				t.Errorf("home says %q, want %q and no sending the user to the page they are on", s, tt.why)
			}
			b.shot("home-failed-" + tt.name)
			if out := b.outside(); len(out) > 0 {
				t.Errorf("requests left the hub: %v", out)
			}

			// The admin reads the server's last lines behind a disclosure.
			b.click("log out", `header form[action="/hub/logout"] button`)
			b.login("admin", adminPassword)
			b.open("/hub/admin")
			if vis := eval[bool](b, `document.querySelector("#log-alice pre").checkVisibility()`); vis {
				t.Error("the log lines are shown before the admin asks for them")
			}
			b.do("open alice's log", chromedp.Click("#log-alice summary"))
			log := b.text("#log-alice pre")
			if !strings.Contains(log, tt.log) || !strings.Contains(log, "[sparkhub] start failed") {
				t.Errorf("alice's log on the admin page = %q, want %q", log, tt.log)
			}
			if n := strings.Count(strings.TrimSpace(log), "\n") + 1; n > 23 {
				t.Errorf("the admin page shows %d log lines, want the cause, the last 20 and the hub's own", n)
			}
			if s := b.text("#user-alice .stop-reason"); !strings.Contains(s, tt.why) {
				t.Errorf("alice's row says %q", s)
			}
			b.shot("admin-failed-log-" + tt.name)
			if !strings.Contains(h.logs.String(), "level=WARN msg=\"server start failed\"") || !strings.Contains(h.logs.String(), tt.log) {
				t.Errorf("the hub log lacks a warning with the server's last lines")
			}
		})
	}
}
