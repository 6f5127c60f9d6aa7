package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sparkhub/sparkhub/internal/needtest"
)

// runInKernel starts a kernel in alice's server from the page, as
// JupyterLab does (the API with Jupyter's _xsrf cookie, then the
// channels websocket), and runs code in it; window.kernelReply is set to
// the reply's status once it ran.
const runInKernel = `(async (code) => {
	const m = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
	const r = await fetch("/user/alice/api/kernels", {method: "POST",
		headers: {"Content-Type": "application/json", "X-XSRFToken": m ? m[1] : ""}, body: "{}"});
	const k = await r.json();
	const ws = new WebSocket("ws://" + location.host + "/user/alice/api/kernels/" + k.id + "/channels");
	ws.onmessage = (e) => {
		const msg = JSON.parse(e.data);
		if (msg.msg_type === "execute_reply" || (msg.header && msg.header.msg_type === "execute_reply")) {
			window.kernelReply = msg.content.status + " " + (msg.content.evalue || "");
		}
	};
	ws.onopen = () => ws.send(JSON.stringify({channel: "shell", buffers: [], metadata: {}, parent_header: {},
		header: {msg_id: "spark-1", msg_type: "execute_request", username: "alice", session: "s-1", version: "5.3"},
		content: {code: code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true}}));
	return r.status;
})`

// failedLoads lists what the page loaded with an error status.
const failedLoads = `performance.getEntriesByType("resource").filter(e => e.responseStatus >= 400).map(e => e.responseStatus + " " + e.name)`

// TestSparkUIInChromium: alice, in JupyterLab from the test virtualenv,
// runs Spark; her home page links to her Spark UI, whose jobs, stages,
// executors (a table its own scripts fill from Spark's REST API) and
// environment pages work in the browser through the hub, nothing they
// load failing and nothing loaded from elsewhere.
func TestSparkUIInChromium(t *testing.T) {
	lab := needtest.VenvTool(t, "jupyter-lab")
	catalog := filepath.Join(t.TempDir(), "profiles.yaml")
	os.WriteFile(catalog, []byte("profiles:\n  - name: spark\n    display_name: PySpark 3.5\n    cpus: 1\n    mem: 2048\n"), 0o644)
	h := startHubWith(t, []string{"--profiles", catalog, "--spark-interval", "1s"}, lab)
	b := newBrowser(t, h.base)
	b.open("/hub/login")
	b.login("alice", "alice's password")
	b.open("/hub/spawn")
	b.waitAcross("JupyterLab", `location.pathname.startsWith("/user/alice/lab")`, 3*time.Minute)

	if status := eval[int](b, runInKernel+`("from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(10**5).selectExpr('sum(id)').collect()")`, chromedp.EvalAwaitPromise); status != 201 {
		t.Fatalf("starting a kernel from the page = %d", status)
	}
	b.waitJS("Spark to run in the kernel", `window.kernelReply`, 5*time.Minute)
	if got := eval[string](b, `window.kernelReply`); !strings.HasPrefix(got, "ok") {
		t.Fatalf("the Spark cell: %s", got)
	}

	b.open("/hub/home")
	b.waitAcross("the Spark application on the home page", `(() => { if (document.getElementById("spark-ui")) return true; setTimeout(() => location.reload(), 500); return false; })()`, 2*time.Minute)
	b.shot("spark-home")
	b.click("open the Spark UI", "#spark-ui")
	b.waitJS("the jobs page", `location.pathname === "/user/alice/spark/jobs/" && document.body.innerText.includes("Spark Jobs")`, time.Minute)
	b.shot("spark-jobs")
	for _, page := range []struct{ path, ready string }{
		{"/user/alice/spark/stages/", `document.body.innerText.includes("Stages for All Jobs")`},
		{"/user/alice/spark/executors/", `[...document.querySelectorAll("#active-executors-table tbody tr")].some(r => r.innerText.includes("driver"))`},
		{"/user/alice/spark/environment/", `document.body.innerText.includes("spark.master")`},
	} {
		b.open(page.path)
		b.waitJS(page.path, page.ready, time.Minute)
		b.shot("spark" + strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(page.path, "/user/alice/spark"), "/"), "/", "-"))
		if failed := eval[[]string](b, failedLoads); len(failed) > 0 {
			t.Errorf("%s loaded with errors: %v", page.path, failed)
		}
	}
	if out := b.outside(); len(out) > 0 {
		t.Errorf("requests left the hub: %v", out)
	}
}
