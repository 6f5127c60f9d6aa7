package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// labWait is how long Lab gets for anything: it is heavy on two CPUs.
const labWait = 180 * time.Second

// startFrontEnd is a hub whose servers run tool (jupyter-lab,
// jupyter-notebook) from the test virtualenv. When the virtualenv's
// interpreter is out of the servers' accounts' reach (a pyenv under
// /root), its servers run as the hub's own account.
func startFrontEnd(t *testing.T, tool string) *hub {
	t.Helper()
	needtest.Tool(t, "chromium", "apt-get install chromium")
	bin, shared := needtest.VenvToolForServers(t, tool)
	var args []string
	if shared {
		args = append(args, "--local-shared-account")
	}
	return startHubWith(t, args, bin)
}

// current is the notebook panel in front, in Lab and Notebook 7 alike.
const current = `document.querySelector(".jp-NotebookPanel:not(.lm-mod-hidden)")`

// cellText is the first cell's source and output, "source|output".
const cellText = `(() => { const p = ` + current + `; if (!p) return "";
	const src = p.querySelector(".jp-Cell .cm-content"), out = p.querySelector(".jp-Cell .jp-OutputArea-output");
	return (src ? src.innerText.trim() : "") + "|" + (out ? out.innerText.trim() : ""); })()`

// runCell types source into the first cell of the notebook in front as
// a person does, and runs it with Shift+Enter.
func (b *browser) runCell(source string) {
	b.t.Helper()
	b.waitAcross("the notebook's cell", current+` && `+current+`.querySelector(".jp-Cell .cm-content")`, labWait)
	// A cell run before the kernel is connected is lost.
	b.waitJS("the idle kernel", current+`.querySelector(".jp-Notebook-ExecutionIndicator[data-status=idle]") !== null && (!document.querySelector("#jp-main-statusbar") || /\| Idle/.test(document.querySelector("#jp-main-statusbar").innerText))`, labWait)
	b.do("type a cell",
		chromedp.Click(chromedp.CSS(`.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content`)),
		chromedp.KeyEvent(source),
	)
	b.waitJS("the typed cell", cellText+`.startsWith(`+jsString(source+"|")+`)`, 30*time.Second)
	b.do("run the cell", chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)))
}

// revertToCheckpoint edits the first cell of the notebook in front
// without saving, then reverts it with File > Revert Notebook to
// Checkpoint: the front end asks which checkpoint (the hub keeps
// several; the newest is offered first), then to confirm, and the cell
// is as saved: saved, "source|output".
func (b *browser) revertToCheckpoint(saved string) {
	b.t.Helper()
	b.waitAcross("the notebook's cell", current+` && `+current+`.querySelector(".jp-Cell .cm-content")`, labWait)
	b.do("edit the cell",
		chromedp.Click(chromedp.CSS(`.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content`)),
		chromedp.KeyEvent(kb.End, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent("\n# an edit not saved"),
	)
	b.waitJS("the edited cell", cellText+`.includes("# an edit not saved")`, 30*time.Second)
	b.menu("File", "Revert Notebook to Checkpoint")
	b.waitJS("the checkpoint dialog", `document.querySelector(".jp-Dialog .jp-mod-accept") !== null`, 30*time.Second)
	if eval[bool](b, `document.querySelector(".jp-Dialog select") !== null`) {
		b.shot("lab-revert-choose")
		b.do("take the newest checkpoint", chromedp.Click(chromedp.CSS(`.jp-Dialog .jp-mod-accept`)))
		b.waitJS("the confirmation", `document.querySelector(".jp-Dialog select") === null && document.querySelector(".jp-Dialog .jp-mod-accept") !== null`, 30*time.Second)
	}
	b.shot("lab-revert-confirm")
	b.do("revert", chromedp.Click(chromedp.CSS(`.jp-Dialog .jp-mod-accept`)))
	b.waitJS("the notebook as saved", cellText+` === `+jsString(saved), labWait)
}

// save presses Ctrl-S and waits until the contents API has the
// notebook at path with want in it.
func (b *browser) save(path, want string) {
	b.t.Helper()
	b.do("save", chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitSaved(path, want)
}

// waitSaved waits until the contents API has the notebook at path with
// want in it.
func (b *browser) waitSaved(path, want string) {
	b.t.Helper()
	deadline := time.Now().Add(labWait)
	for {
		got := b.contents(path)
		if strings.HasPrefix(got, "200|") && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-save")
			b.t.Fatalf("after Ctrl-S the contents API has %.300s, want %q in it", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// menu opens a menu of Lab's menu bar and picks an item by the start
// of its label.
func (b *browser) menu(top, item string) {
	b.t.Helper()
	b.pointAt("menu "+top, `//div[contains(@class,"lm-MenuBar-itemLabel")][text()="`+top+`"]`, false)
	b.pointAt("menu "+top+" > "+item, menuItem(item), false)
}

// menuItem is the item of the open menu whose label starts with label
// (mnemonics are marked up inside it).
func menuItem(label string) string {
	return `//li[contains(@class,"lm-Menu-item")][starts-with(normalize-space(.),"` + label + `")]`
}

// contextMenu right-clicks what xpath finds and picks an item of its menu.
func (b *browser) contextMenu(what, xpath, item string) {
	b.t.Helper()
	b.pointAt(what, xpath, true)
	b.pointAt(what+" > "+item, menuItem(item), false)
}

// pointAt moves the mouse onto the first visible element xpath finds,
// as a person does before clicking (Lumino's menus pick the item under
// the pointer), and clicks it, with the right button if right.
func (b *browser) pointAt(what, xpath string, right bool) {
	b.t.Helper()
	js := `(() => { const r = document.evaluate(` + jsString(xpath) + `, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
		for (let i = 0; i < r.snapshotLength; i++) { const e = r.snapshotItem(i), b = e.getBoundingClientRect();
			if (b.width > 0 && b.height > 0) return [b.x + b.width / 2, b.y + b.height / 2]; }
		return null; })()`
	b.waitJS(what, js+` !== null`, 30*time.Second)
	xy := eval[[]float64](b, js)
	opts := []chromedp.MouseOption{}
	if right {
		opts = append(opts, chromedp.ButtonRight)
	}
	b.do(what, chromedp.MouseEvent(chromedp.MouseMoved, xy[0]-2, xy[1]), chromedp.MouseEvent(chromedp.MouseMoved, xy[0], xy[1]), chromedp.MouseClickXY(xy[0], xy[1], opts...))
}

// listed is the item of the file browser called name.
func listed(name string) string {
	return `//li[contains(@class,"jp-DirListing-item")]//span[contains(@class,"jp-DirListing-itemText")]/span[text()="` + name + `"]`
}

// contents is the answer of alice's contents API for path, "status|model".
func (b *browser) contents(path string) string {
	b.t.Helper()
	return eval[string](b, `(async () => { const r = await fetch("/user/alice/api/contents/`+path+`?content=1", {headers: {Accept: "application/json"}}); return r.status + "|" + await r.text(); })()`, chromedp.EvalAwaitPromise)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return "\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + "\""
}

// TestJupyterLab: alice follows a shared link while logged out, logs
// in, her stopped server starts and she lands in JupyterLab 4 in that
// notebook; she makes a notebook from the launcher, runs a cell, saves
// with Ctrl-S (a checkpoint), reloads and sees the output, reverts an
// unsaved edit to the checkpoint (File > Revert), renames it
// and moves it into a folder in the file browser; File > Hub Control
// Panel opens the hub's home; File > Log Out logs out of the hub.
func TestJupyterLab(t *testing.T) {
	h := startFrontEnd(t, "jupyter-lab")
	b := newBrowser(t, h.base)

	// A notebook saved while her server is stopped: the hub keeps it.
	b.open("/hub/login")
	b.login("alice", "alice's password")
	// The hub's contents service answers under /user/alice/ while the
	// server is stopped, and gives the page there Jupyter's _xsrf cookie.
	b.open("/user/alice/api/contents")
	b.createNotebook("x.ipynb", "print('shared')")
	b.open("/hub/home")
	b.click("log out", `header form[action="/hub/logout"] button`)

	// The shared link, logged out: the login page, then her server
	// starts and Lab opens the notebook.
	b.open("/hub/user-redirect/lab/tree/x.ipynb")
	if p := b.path(); p != "/hub/login" {
		t.Fatalf("logged out, the shared link went to %s", b.location())
	}
	b.login("alice", "alice's password")
	b.waitAcross("Lab with x.ipynb", `location.pathname === "/user/alice/lab/tree/x.ipynb" && `+current+` && `+cellText+`.startsWith("print('shared')|")`, labWait)
	b.shot("lab-user-redirect")

	// A new notebook from the launcher.
	b.do("a new launcher", chromedp.Click(chromedp.CSS(`[data-command="launcher:create"]`)))
	b.do("a new notebook", chromedp.Click(chromedp.CSS(`.lm-Widget:not(.lm-mod-hidden) > .jp-Launcher .jp-LauncherCard[title="Python 3 (ipykernel)"]`)))
	b.waitAcross("Untitled.ipynb", `document.querySelector(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").innerText === "Untitled.ipynb"`, labWait)
	b.runCell("print(6*7)")
	b.waitJS("the cell's output", cellText+` === "print(6*7)|42"`, labWait)
	// Lab's first save of an untitled notebook offers to rename it; the
	// name stays, and the save makes a checkpoint.
	b.do("save", chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitJS("the rename-on-save dialog", `document.querySelector(".jp-Dialog .jp-mod-accept") !== null`, 30*time.Second)
	b.do("keep the name", chromedp.Click(chromedp.CSS(`.jp-Dialog .jp-mod-accept`)))
	b.waitSaved("Untitled.ipynb", `42\n`)
	b.waitJS("the checkpoint", `fetch("/user/alice/api/contents/Untitled.ipynb/checkpoints").then(r => r.json()).then(l => window.__checkpoints = l.length), window.__checkpoints >= 2`, 60*time.Second)
	b.shot("lab-notebook")
	b.do("reload", chromedp.Reload())
	b.waitAcross("the notebook after the reload", cellText+` === "print(6*7)|42"`, labWait)

	// An edit not saved, then File > Revert Notebook to Checkpoint.
	b.revertToCheckpoint("print(6*7)|42")

	// Rename in the file browser (F2), then a folder, then cut and paste.
	b.pointAt("select Untitled.ipynb", listed("Untitled.ipynb"), false)
	b.do("rename", chromedp.KeyEvent(kb.F2))
	b.waitJS("the name field", `document.querySelector(".jp-DirListing-editor") !== null`, 30*time.Second)
	b.do("type the new name", chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent("analysis.ipynb\r"))
	b.waitJS("the renamed notebook", `document.querySelector(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").innerText === "analysis.ipynb"`, labWait)
	b.do("a new folder", chromedp.Click(chromedp.CSS(`[data-command="filebrowser:create-new-directory"]`)))
	b.waitJS("the folder's name field", `document.querySelector(".jp-DirListing-editor") !== null`, 30*time.Second)
	b.do("name the folder", chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent("reports\r"))
	b.waitJS("the folder", `document.querySelector(".jp-DirListing-editor") === null && document.evaluate(`+jsString(listed("reports"))+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null`, 30*time.Second)
	b.pointAt("select analysis.ipynb", listed("analysis.ipynb"), false)
	b.waitJS("analysis.ipynb alone selected", `Array.from(document.querySelectorAll(".jp-FileBrowser .jp-DirListing-item.jp-mod-selected")).map(e => e.innerText.split("\n")[0].trim()).join() === "analysis.ipynb"`, 30*time.Second)
	b.contextMenu("cut analysis.ipynb", listed("analysis.ipynb"), "Cut")
	b.do("open reports", chromedp.DoubleClick(chromedp.Search(listed("reports"))))
	b.waitJS("inside reports", `(document.querySelector(".jp-FileBrowser .jp-BreadCrumbs") || {innerText: ""}).innerText.includes("reports")`, 30*time.Second)
	b.contextMenu("paste into reports", `//*[contains(@class,"jp-DirListing-content")]`, "Paste")
	b.waitJS("the moved notebook", `document.querySelector(".jp-FileBrowser .jp-DirListing-content").innerText.includes("analysis.ipynb")`, labWait)
	if got := b.contents("reports/analysis.ipynb"); !strings.HasPrefix(got, "200|") || !strings.Contains(got, `42\n`) {
		t.Fatalf("after the move the contents API has %.300s", got)
	}
	if got := b.contents("analysis.ipynb"); !strings.HasPrefix(got, "404|") {
		t.Errorf("analysis.ipynb is still at the top: %.100s", got)
	}
	b.shot("lab-moved")

	// File > Hub Control Panel opens the hub's home in a new tab.
	newTab := chromedp.WaitNewTarget(b.ctx, func(i *target.Info) bool { return i.Type == "page" })
	b.menu("File", "Hub Control Panel")
	select {
	case id := <-newTab:
		tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
		defer cancel()
		tb := &browser{t: t, ctx: tctx, base: b.base, shots: b.shots}
		tb.waitAcross("the hub's home", `location.pathname === "/hub/home" && document.querySelector(".state-line .badge") !== null`, 60*time.Second)
		cancel() // closes the tab
		if _, err := chromedp.Call(b.ctx, page.BringToFront, cdp.Empty{}); err != nil {
			t.Fatalf("back to Lab's tab: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("File > Hub Control Panel opened no tab")
	}

	// File > Log Out logs out of the hub: the login page, and the
	// hub's API no longer knows the browser.
	b.menu("File", "Log Out")
	b.waitAcross("the login page after Lab's Log Out", `location.pathname === "/hub/login"`, 60*time.Second)
	if status := eval[int](b, `fetch("/hub/api/user").then(r => r.status)`, chromedp.EvalAwaitPromise); status != 401 {
		t.Errorf("the hub's API after Lab's Log Out = %d, want 401", status)
	}
	b.shot("lab-logged-out")

	if out := b.outside(); len(out) > 0 {
		t.Logf("requests that left the hub: %v", out)
	}
}

// TestNotebook7: Notebook 7.6 through the hub: alice lands in its file
// list, opens a notebook, runs a cell, saves with Ctrl-S, reloads and
// sees the output, and reverts an unsaved edit to the checkpoint.
func TestNotebook7(t *testing.T) {
	h := startFrontEnd(t, "jupyter-notebook")
	b := newBrowser(t, h.base)
	b.open("/hub/login")
	b.login("alice", "alice's password")
	b.open("/hub/spawn")
	b.waitAcross("Notebook 7's file list", `location.pathname.startsWith("/user/alice/tree") && document.querySelector(".jp-DirListing-content") !== null`, labWait)
	b.shot("notebook7-tree")
	b.createNotebook("seven.ipynb", "")
	b.open("/user/alice/notebooks/seven.ipynb")
	b.runCell("print(6*7)")
	b.waitJS("the cell's output", cellText+` === "print(6*7)|42"`, labWait)
	b.save("seven.ipynb", `42\n`)
	b.shot("notebook7-notebook")
	b.do("reload", chromedp.Reload())
	b.waitAcross("the notebook after the reload", cellText+` === "print(6*7)|42"`, labWait)

	// An edit not saved, then File > Revert Notebook to Checkpoint.
	b.revertToCheckpoint("print(6*7)|42")
}
