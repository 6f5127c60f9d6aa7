package browsertest

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sparkhub/sparkhub/hub/hubtest"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// TestPerUserOrigins runs the hub with --user-subdomains localhost
// (Chromium takes every *.localhost to this machine): alice logs in at
// localhost:PORT, starts her server and lands on it at
// alice.localhost:PORT, and runs 1+1 over the kernel's websocket through
// the proxy. Then script on bob's origin, in the same browser, tries to
// read her server's pages and the hub's API, to write with her cookies
// (a token on the hub, a file on her server), and to open her kernel's
// websocket, and gets nothing. (Chromium counts each *.localhost as a
// site of its own, so it sends no SameSite cookie across them at all;
// hosts under a real domain are one site, and the hub's Go tests,
// TestHandoffAttacks, send those cookies cross-origin to show the
// Origin and XSRF checks refuse them.)
func TestPerUserOrigins(t *testing.T) {
	needtest.Tool(t, "chromium", "apt-get install chromium")
	jupyter := needtest.Tool(t, "jupyter-notebook", "apt-get install jupyter-notebook python3-notebook python3-ipykernel")
	h := startHubWith(t, []string{"--user-subdomains", "localhost"}, jupyter)
	hubtest.MustRun(t, binary, "bob's password\n", nil, "user", "add", "bob", "--password-stdin", "--data-dir", h.dataDir, "--bcrypt-cost", "4")
	u, err := url.Parse(h.base)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	hubOrigin := "http://localhost:" + port
	aliceOrigin := "http://alice.localhost:" + port
	bobOrigin := "http://bob.localhost:" + port
	b := newBrowser(t, hubOrigin)

	b.open("/hub/login")
	b.login("alice", "alice's password")
	b.open("/hub/spawn") // one profile: it starts at once
	b.waitAcross("Jupyter on alice's origin", `location.origin === "`+aliceOrigin+`" && document.querySelector("#notebook_list") !== null`, 120*time.Second)
	if p := b.path(); p != "/user/alice/" && p != "/user/alice/tree" {
		t.Errorf("landed at %s", b.location())
	}
	b.shot("origins-jupyter-tree")
	if c := eval[string](b, `document.cookie`); strings.Contains(c, "sparkhub") {
		t.Errorf("script on alice's origin reads the hub's cookies: %q", c)
	}

	// The home page opens her server on its origin.
	b.open("/hub/home")
	if href := eval[string](b, `document.getElementById("open").href`); href != aliceOrigin+"/user/alice/" {
		t.Errorf("Open Jupyter links to %q, want %q", href, aliceOrigin+"/user/alice/")
	}
	b.click("open Jupyter", "#open")
	b.waitAcross("Jupyter again", `location.origin === "`+aliceOrigin+`" && document.querySelector("#notebook_list") !== null`, 30*time.Second)

	// A notebook, run over the kernel's websocket.
	b.createNotebook("sums.ipynb", "1+1")
	b.do("open the notebook", chromedp.Navigate(aliceOrigin+"/user/alice/notebooks/sums.ipynb"))
	b.waitJS("the kernel", `window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.get_cells().length > 0`, 60*time.Second)
	if ws := eval[string](b, `Jupyter.notebook.kernel.ws_url`); ws != "" && !strings.HasPrefix(ws, "ws://alice.localhost:"+port) {
		t.Errorf("the kernel's websocket goes to %q", ws)
	}
	b.do("run 1+1", chromedp.Evaluate[chromedp.Void](`Jupyter.notebook.get_cell(0).execute()`))
	b.waitJS("1+1", `(document.querySelector(".output_subarea") || {innerText: ""}).innerText.trim() === "2"`, 60*time.Second)
	b.shot("origins-notebook")
	kernel := eval[string](b, `Jupyter.notebook.kernel.id`)

	// A page on bob's origin, with no Content-Security-Policy of the
	// hub's that could be what stops the script: the answer bob's
	// origin gives for a path of someone else's. Script here stands for
	// script of bob's server (which alice would run by opening it, or an
	// admin with --admin-access).
	b.do("open a page of bob's origin", chromedp.Navigate(bobOrigin+"/user/alice/"))
	if o := eval[string](b, `location.origin`); o != bobOrigin {
		t.Fatalf("the page is on %q, want bob's origin", o)
	}
	attack := `(async () => {
		const out = {};
		const csp = await fetch(location.href);
		out.csp = csp.headers.get("content-security-policy") || "";
		const read = async (name, u) => {
			try { const r = await fetch(u, {credentials: "include"}); out[name] = "read " + r.status + ": " + (await r.text()).slice(0, 80); }
			catch (e) { out[name] = "blocked"; }
		};
		await read("alicePage", "` + aliceOrigin + `/user/alice/tree");
		await read("aliceContents", "` + aliceOrigin + `/user/alice/api/contents");
		await read("hubAPI", "` + hubOrigin + `/hub/api/user");
		await read("hubTokenPage", "` + hubOrigin + `/hub/token");
		const same = await fetch("/hub/api/user", {credentials: "include"});
		out.hubAPIHere = same.status;
		const frame = document.createElement("iframe");
		await new Promise(res => { frame.onload = res; frame.src = "` + aliceOrigin + `/user/alice/tree"; document.body.appendChild(frame); setTimeout(res, 5000); });
		try { out.frame = frame.contentDocument ? "read: " + frame.contentDocument.title : "blocked"; } catch (e) { out.frame = "blocked"; }
		for (const [u, body] of [
			["` + hubOrigin + `/hub/api/users/alice/tokens", '{"note": "from bob"}'],
			["` + aliceOrigin + `/user/alice/api/contents/evil.txt", '{"type": "file", "format": "text", "content": "from bob"}'],
		]) {
			for (const method of ["POST", "PUT"]) {
				try { await fetch(u, {method, mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body}); } catch (e) {}
			}
		}
		out.websocket = await new Promise(res => {
			const ws = new WebSocket("ws://alice.localhost:` + port + `/user/alice/api/kernels/` + kernel + `/channels");
			ws.onopen = () => { ws.close(); res("opened"); };
			ws.onerror = () => res("refused");
			ws.onclose = () => res("refused");
		});
		out.cookies = document.cookie;
		return JSON.stringify(out);
	})()`
	var got map[string]any
	if err := json.Unmarshal([]byte(eval[string](b, attack, chromedp.EvalAwaitPromise)), &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("script on bob's origin: %v", got)
	if got["csp"] != "" {
		t.Fatalf("the page on bob's origin has a CSP (%v): the test would not show what origins alone stop", got["csp"])
	}
	for _, k := range []string{"alicePage", "aliceContents", "hubAPI", "hubTokenPage", "frame"} {
		if got[k] != "blocked" {
			t.Errorf("script on bob's origin: %s = %v, want blocked", k, got[k])
		}
	}
	if got["hubAPIHere"] != float64(404) {
		t.Errorf("the hub's API on bob's origin answered %v, want 404", got["hubAPIHere"])
	}
	if got["websocket"] != "refused" {
		t.Errorf("bob's origin opened alice's kernel websocket")
	}
	if c, _ := got["cookies"].(string); strings.Contains(c, "sparkhub") || strings.Contains(c, "_xsrf") {
		t.Errorf("bob's origin reads cookies %q", c)
	}

	// The writes changed nothing: no token from bob, no file.
	b.open("/hub/home")
	tokens := eval[string](b, `(async () => (await (await fetch("/hub/api/users/alice/tokens", {headers: {Accept: "application/json"}})).text()))()`, chromedp.EvalAwaitPromise)
	if strings.Contains(tokens, "from bob") || !strings.Contains(tokens, "api_tokens") {
		t.Errorf("alice's tokens after bob's script: %s", tokens)
	}
	b.do("back to alice's origin", chromedp.Navigate(aliceOrigin+"/user/alice/tree"))
	b.waitAcross("Jupyter", `location.origin === "`+aliceOrigin+`"`, 30*time.Second)
	if s := eval[int](b, `(async () => (await fetch("/user/alice/api/contents/evil.txt")).status)()`, chromedp.EvalAwaitPromise); s != 404 {
		t.Errorf("evil.txt on alice's server: %d, want 404", s)
	}
}

// waitAcross waits until the expression is truthy, through navigations
// to other sites: Chromium moves such a page to another process, and an
// evaluation meanwhile fails.
func (b *browser) waitAcross(what, js string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("waiting for %s: %v (at %s)", what, err, b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
