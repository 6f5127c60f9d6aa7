package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sparkhub/sparkhub/bench/notebook"
)

var measures = map[string]func(context.Context, *env) error{
	"memory":       measureMemory,
	"http-jupyter": measureHTTPJupyter,
	"http-echo":    measureHTTPEcho,
	"ws":           measureWS,
	"kernel":       measureKernel,
	"contents":     measureContents,
	"spawn":        measureSpawn,
	"users":        measureUsers,
	"start":        measureStart,
}

// target is one place load goes: a hub's proxy or an upstream directly.
type target struct{ name, url, auth string }

// interleaved runs fn for every target, round after round.
func interleaved(rounds int, ts []target, fn func(target) loadResult) map[string][]loadResult {
	out := map[string][]loadResult{}
	for range rounds {
		for _, t := range ts {
			out[t.name] = append(out[t.name], fn(t))
		}
	}
	return out
}

// pooled merges rounds: requests/s of each round; latency percentiles of
// all requests (Go client) or the median of the rounds' (wrk).
func pooled(rs []loadResult) (rps stat, lat stat, errs int) {
	var v, p50s, p99s []float64
	var all []time.Duration
	for _, r := range rs {
		v = append(v, r.rps)
		all = append(all, r.lat...)
		p50s, p99s = append(p50s, r.p50), append(p99s, r.p99)
		errs += r.errs
	}
	if len(all) > 0 {
		slices.Sort(all)
		return summarise(v), summarise(msOf(all)), errs
	}
	return summarise(v), stat{n: len(rs), med: summarise(p50s).med, p99: summarise(p99s).med}, errs
}

func rpsCell(s stat) string {
	return fmt.Sprintf("%.0f req/s (%.0f–%.0f)", s.med, s.min, s.max)
}

func measureHTTPJupyter(ctx context.Context, e *env) error {
	var ts []target
	for _, h := range e.hubs() {
		base, auth, err := h.direct("alice")
		if err != nil {
			return fmt.Errorf("%s: direct address: %w", h.name, err)
		}
		ts = append(ts, target{h.name + " direct", base + "/user/alice/api/status", auth},
			target{h.name, h.base + "/user/alice/api/status", h.userAuth("alice")})
	}
	res := interleaved(e.opts.rounds, ts, func(t target) loadResult { return e.load(t.url, t.auth, 1) })
	var rows [][]string
	ratios := map[string]float64{}
	added := map[string]float64{}
	for _, h := range e.hubs() {
		dr, dl, _ := pooled(res[h.name+" direct"])
		pr, pl, errs := pooled(res[h.name])
		ratios[h.name] = pr.med / dr.med
		added[h.name] = pl.med - dl.med
		rows = append(rows,
			[]string{h.name + " direct", rpsCell(dr), f2(dl.med), f2(dl.p99), ""},
			[]string{h.name + " proxied", rpsCell(pr), f2(pl.med), f2(pl.p99), strconv.Itoa(errs)})
	}
	e.rep.detail(fmt.Sprintf("HTTP through the proxy to a Jupyter server (notebook 6), `GET /user/alice/api/status` with a token, 1 connection, %d rounds of %s per target:", e.opts.rounds, e.opts.duration),
		[]string{"target", "requests/s (min–max of rounds)", "p50 ms", "p99 ms", "failed requests"}, rows)
	sp, jh := ratios["sparkhub"], ratios["JupyterHub"]
	e.rep.row("proxied/direct rps, Jupyter upstream, 1 connection; added p50", fmt.Sprintf("%s; +%s ms", f2(sp), f2(added["sparkhub"])),
		cellIf(e.jh != nil, fmt.Sprintf("%s; +%s ms", f2(jh), f2(added["JupyterHub"]))), ratioIf(e.jh != nil, sp, jh),
		"≥ 0.90; ≤ +0.15 ms", met(sp >= 0.9 && added["sparkhub"] <= 0.15))
	return nil
}

func cellIf(ok bool, s string) string {
	if !ok {
		return "–"
	}
	return s
}

func ratioIf(ok bool, a, b float64) string {
	if !ok {
		return "–"
	}
	return ratio(a, b) + "×"
}

func measureHTTPEcho(ctx context.Context, e *env) error {
	ts := []target{{"direct", e.echoURL + "/api/status", ""}, {"sparkhub", e.sp.echo + "/api/status", e.sp.echoAuth}}
	if e.jh != nil {
		ts = append(ts, target{"JupyterHub", e.jh.echo + "/api/status", ""})
	}
	var rows [][]string
	var summary []string
	var at64 float64
	for _, c := range []int{1, 16, 64} {
		res := interleaved(e.opts.rounds, ts, func(t target) loadResult { return e.load(t.url, t.auth, c) })
		meds := map[string]float64{}
		for _, t := range ts {
			r, l, errs := pooled(res[t.name])
			meds[t.name] = r.med
			rows = append(rows, []string{t.name, strconv.Itoa(c), rpsCell(r), f2(l.med), f2(l.p99), strconv.Itoa(errs)})
		}
		summary = append(summary, fmt.Sprintf("%.0f / %.0f", meds["sparkhub"], meds["JupyterHub"]))
		if c == 64 && meds["JupyterHub"] > 0 {
			at64 = meds["sparkhub"] / meds["JupyterHub"]
		}
	}
	e.rep.detail(fmt.Sprintf("HTTP through the proxy to a tiny Go echo server (the same process for both; CHP got a route to it through its REST API), %d rounds of %s per target and connection count:", e.opts.rounds, e.opts.duration),
		[]string{"target", "connections", "requests/s (min–max of rounds)", "p50 ms", "p99 ms", "failed requests"}, rows)
	var sp, jh []string
	for _, s := range summary {
		a, b, _ := strings.Cut(s, " / ")
		sp, jh = append(sp, a), append(jh, b)
	}
	e.rep.row("proxied rps, Go echo upstream, 1 / 16 / 64 connections", strings.Join(sp, " / "), cellIf(e.jh != nil, strings.Join(jh, " / ")),
		cellIf(e.jh != nil, f2(at64)+"× at 64"), "≥ 5× CHP at 64", met(at64 >= 5))
	return nil
}

func measureWS(ctx context.Context, e *env) error {
	ts := []target{{"direct", e.echoURL + "/ws", ""}, {"sparkhub", e.sp.echo + "/ws", e.sp.echoAuth}}
	if e.jh != nil {
		ts = append(ts, target{"JupyterHub", e.jh.echo + "/ws", ""})
	}
	got := map[string][]time.Duration{}
	for range e.opts.rounds {
		for _, t := range ts {
			d, err := wsEcho(t.url, t.auth, 64, 2000)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			got[t.name] = append(got[t.name], d...)
		}
	}
	var rows [][]string
	meds := map[string]stat{}
	for _, t := range ts {
		slices.Sort(got[t.name])
		s := summarise(msOf(got[t.name]))
		meds[t.name] = s
		rows = append(rows, []string{t.name, f3(s.med), f3(s.p99), f3(s.min), f3(s.max)})
	}
	e.rep.detail(fmt.Sprintf("Websocket echo, 64 B binary message there and back, %d rounds of 2,000 round trips per target:", e.opts.rounds),
		[]string{"target", "p50 ms", "p99 ms", "min ms", "max ms"}, rows)
	e.rep.row("websocket echo 64 B, proxied (direct)", fmt.Sprintf("%s ms (%s)", f3(meds["sparkhub"].med), f3(meds["direct"].med)),
		cellIf(e.jh != nil, fmt.Sprintf("%s ms (%s)", f3(meds["JupyterHub"].med), f3(meds["direct"].med))),
		ratioIf(e.jh != nil, meds["JupyterHub"].med, meds["sparkhub"].med)+" faster", "≤ 0.080 ms proxied", met(meds["sparkhub"].med <= 0.080))
	return nil
}

func measureKernel(ctx context.Context, e *env) error {
	var rows [][]string
	res := map[string]stat{}
	for _, h := range e.hubs() {
		base, auth, err := h.direct("alice")
		if err != nil {
			return err
		}
		for _, t := range []target{{h.name + " proxied", h.base, h.userAuth("alice")}, {h.name + " direct", base, auth}} {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d, err := kernelRoundTrips(ctx, t, e.opts.kernelRounds)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			s := summarise(msOf(d))
			res[t.name] = s
			rows = append(rows, []string{t.name, f2(s.med), f2(s.p99), f2(s.min), f2(s.max), fmt.Sprintf("%.0f", 1000/s.med)})
		}
	}
	e.rep.detail(fmt.Sprintf("Kernel round trip: `execute_request` of `1` over the kernel websocket until its `execute_reply`, %d times one after another (after 10 to warm up), stock notebook 6 servers:", e.opts.kernelRounds),
		[]string{"target", "p50 ms", "p99 ms", "min ms", "max ms", "executions/s"}, rows)
	sp := res["sparkhub proxied"].med
	e.rep.row("kernel round trip, execute `1`, proxied (direct)", fmt.Sprintf("%s ms (%s)", f2(sp), f2(res["sparkhub direct"].med)),
		cellIf(e.jh != nil, fmt.Sprintf("%s ms (%s)", f2(res["JupyterHub proxied"].med), f2(res["JupyterHub direct"].med))),
		ratioIf(e.jh != nil, res["JupyterHub proxied"].med, sp)+" faster", "≤ 10 ms", met(sp <= 10))
	return nil
}

func kernelRoundTrips(ctx context.Context, t target, rounds int) ([]time.Duration, error) {
	code, body, err := do("POST", t.url+"/user/alice/api/kernels", t.auth, []byte(`{"name":"python3"}`))
	if err != nil {
		return nil, err
	}
	if code != 201 {
		return nil, fmt.Errorf("start kernel: %d %s", code, body)
	}
	var k struct{ ID string }
	json.Unmarshal(body, &k)
	defer do("DELETE", t.url+"/user/alice/api/kernels/"+k.ID, t.auth, nil)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL(t.url)+"/user/alice/api/kernels/"+k.ID+"/channels?session_id=bench", http.Header{"Authorization": {t.auth}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []time.Duration
	for i := range rounds + 10 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		start := time.Now()
		id := randomToken()
		msg := map[string]any{
			"header":        map[string]any{"msg_id": id, "username": "bench", "session": "bench", "msg_type": "execute_request", "version": "5.3"},
			"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell", "buffers": []any{},
			"content": map[string]any{"code": "1", "silent": false, "store_history": false, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
		}
		if err := conn.WriteJSON(msg); err != nil {
			return nil, err
		}
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return nil, err
			}
			if bytes.Contains(data, []byte(`"execute_reply"`)) && bytes.Contains(data, []byte(id)) {
				break
			}
		}
		if i >= 10 {
			out = append(out, time.Since(start))
		}
	}
	slices.Sort(out)
	return out, nil
}

// measureMemory reads the resident memory of each hub's hub and proxy
// processes idle (one Jupyter server and the echo server running), then
// with 100 and wsMany idle websockets to the echo server held open
// through the proxy.
func measureMemory(ctx context.Context, e *env) error {
	counts := []int{100}
	if e.opts.wsMany > 100 {
		counts = append(counts, e.opts.wsMany)
	}
	var rows [][]string
	idle := map[string]int{}
	per := map[string]float64{}
	for _, h := range e.hubs() {
		time.Sleep(time.Second)
		base := rss(h)
		baseGo := goMetrics(h)
		idle[h.name] = sum(base)
		rows = append(rows, []string{h.name, "0", rssText(base), "", "", ""})
		for _, n := range counts {
			conns, err := openIdle(ctx, h, n)
			if err == nil {
				time.Sleep(2 * time.Second)
				with := rss(h)
				k := float64(sum(with)-sum(base)) / float64(n)
				if n == counts[len(counts)-1] || len(counts) == 1 {
					per[h.name] = k
				}
				goPer := ""
				if withGo := goMetrics(h); withGo != nil && baseGo != nil {
					d := func(k string) float64 { return (withGo[k] - baseGo[k]) / float64(n) }
					goPer = fmt.Sprintf("%.1f goroutines, stacks %.1f KiB, heap in use %.1f KiB, heap live %.1f KiB",
						d("go_goroutines"), d("go_memstats_stack_inuse_bytes")/1024, d("go_memstats_heap_inuse_bytes")/1024, d("go_memstats_heap_alloc_bytes")/1024)
				}
				rows = append(rows, []string{h.name, strconv.Itoa(n), rssText(with), fmt.Sprintf("%.1f", k), goPer, ""})
			} else {
				rows = append(rows, []string{h.name, strconv.Itoa(n), "", "", "", err.Error()})
			}
			for _, c := range conns {
				c.Close()
			}
			time.Sleep(2 * time.Second)
		}
	}
	e.rep.detail("Resident memory (VmRSS) of the hub and its proxy, with one Jupyter server and the echo server running; then with idle websockets to the echo server held open through the proxy (each dialled and one message echoed first). KiB per websocket = growth / count:",
		[]string{"hub", "websockets", "RSS MiB", "KiB per websocket", "per websocket, from sparkhub's Go runtime metrics", "error"}, rows)
	e.rep.row("memory: hub + proxy idle; per idle websocket", fmt.Sprintf("%.1f MiB; %.1f KiB", float64(idle["sparkhub"])/1024, per["sparkhub"]),
		cellIf(e.jh != nil, fmt.Sprintf("%.1f MiB; %.1f KiB", float64(idle["JupyterHub"])/1024, per["JupyterHub"])),
		ratioIf(e.jh != nil, float64(idle["JupyterHub"]), float64(idle["sparkhub"]))+" less idle", "≤ 40 MiB; ≤ 20 KiB",
		met(float64(idle["sparkhub"])/1024 <= 40 && per["sparkhub"] <= 20))
	return nil
}

// goMetrics reads the Go runtime's gauges from sparkhub's /hub/metrics
// (nil for JupyterHub).
func goMetrics(h *hub) map[string]float64 {
	if h.name != "sparkhub" {
		return nil
	}
	code, b, err := do("GET", h.base+"/hub/metrics", h.admin, nil)
	if err != nil || code != 200 {
		return nil
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(name, "go_") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

func rss(h *hub) map[string]int {
	out := map[string]int{}
	for k, pid := range h.pids() {
		out[k] = rssKiB(pid)
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func rssText(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(m[k])/1024))
	}
	return strings.Join(parts, " + ") + fmt.Sprintf(" = %.1f", float64(sum(m))/1024)
}

func openIdle(ctx context.Context, h *hub, n int) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, n)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				hd := http.Header{}
				if h.echoAuth != "" {
					hd.Set("Authorization", h.echoAuth)
				}
				c, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL(h.echo)+"/idle", hd)
				if err == nil {
					if err = c.WriteMessage(websocket.TextMessage, []byte("hi")); err == nil {
						c.SetReadDeadline(time.Now().Add(10 * time.Second))
						_, _, err = c.ReadMessage()
						c.SetReadDeadline(time.Time{})
					}
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				conns[i] = c
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var ok []*websocket.Conn
	for _, c := range conns {
		if c != nil {
			ok = append(ok, c)
		}
	}
	if first != nil {
		return ok, fmt.Errorf("%d of %d opened: %v", len(ok), n, first)
	}
	return ok, nil
}

func measureContents(ctx context.Context, e *env) error {
	const reps = 5
	var rows [][]string
	res := map[string]stat{}
	for _, size := range []int{1 << 20, 10 << 20} {
		body := notebook.PutBody(size)
		name := fmt.Sprintf("bench-%dmb.ipynb", size>>20)
		put, get := map[string][]float64{}, map[string][]float64{}
		for range reps {
			for _, h := range e.hubs() {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				u := h.base + "/user/alice/api/contents/" + name
				t0 := time.Now()
				code, b, err := doDiscard("PUT", u, h.userAuth("alice"), body)
				if err != nil || code/100 != 2 {
					return fmt.Errorf("%s PUT: %d %v %.200s", h.name, code, err, b)
				}
				put[h.name] = append(put[h.name], float64(time.Since(t0).Microseconds())/1000)
				t0 = time.Now()
				code, b, err = doDiscard("GET", u+"?content=1", h.userAuth("alice"), nil)
				if err != nil || code != 200 {
					return fmt.Errorf("%s GET: %d %v %.200s", h.name, code, err, b)
				}
				get[h.name] = append(get[h.name], float64(time.Since(t0).Microseconds())/1000)
			}
		}
		for _, h := range e.hubs() {
			p, g := summarise(put[h.name]), summarise(get[h.name])
			res[fmt.Sprintf("%s put %d", h.name, size>>20)] = p
			res[fmt.Sprintf("%s get %d", h.name, size>>20)] = g
			rows = append(rows, []string{h.name, fmt.Sprintf("%.1f MB", float64(len(body))/1e6), msCell(p, f1), msCell(g, f1)})
		}
	}
	e.rep.detail(fmt.Sprintf("Contents API through each hub, `PUT` then `GET ?content=1` of one notebook, %d times each, hubs interleaved, each answer read to its end and discarded (sparkhub: its contents service on SQLite; JupyterHub: CHP to notebook 6 on disk):", reps),
		[]string{"hub", "request", "PUT", "GET"}, rows)
	pair := func(n string, mb int) string {
		return fmt.Sprintf("%s / %s ms", f1(res[fmt.Sprintf("%s put %d", n, mb)].med), f1(res[fmt.Sprintf("%s get %d", n, mb)].med))
	}
	sp10 := res["sparkhub put 10"].med + res["sparkhub get 10"].med
	jh10 := res["JupyterHub put 10"].med + res["JupyterHub get 10"].med
	e.rep.row("contents PUT / GET, 1 MB and 10 MB", pair("sparkhub", 1)+"; "+pair("sparkhub", 10),
		cellIf(e.jh != nil, pair("JupyterHub", 1)+"; "+pair("JupyterHub", 10)), ratioIf(e.jh != nil, jh10, sp10)+" faster (10 MB)",
		"10 MB PUT + GET ≤ 150 ms", met(sp10 <= 150))
	return nil
}

// measureSpawn times POST .../server until /user/NAME/api/status answers
// 200 through the proxy, for both hubs and for jupyter-notebook started
// by hand (the same command line, no hub): the difference is the hub's
// overhead.
func measureSpawn(ctx context.Context, e *env) error {
	times := map[string][]float64{}
	for i := range e.opts.spawns {
		user := fmt.Sprintf("spawn%d", i+1)
		d, err := bareJupyter(ctx, e.tmp)
		if err != nil {
			return fmt.Errorf("jupyter alone: %w", err)
		}
		times["jupyter-notebook alone"] = append(times["jupyter-notebook alone"], d)
		for _, h := range e.hubs() {
			if h.name == "JupyterHub" {
				do("POST", h.base+"/hub/api/users/"+user, h.admin, nil)
			}
			t0 := time.Now()
			if err := e.startServer(ctx, h, user); err != nil {
				return err
			}
			times[h.name] = append(times[h.name], float64(time.Since(t0).Microseconds())/1000)
			do("DELETE", h.base+"/hub/api/users/"+user+"/server", h.admin, nil)
			waitFor(ctx, 30*time.Second, func() bool {
				_, b, err := do("GET", h.base+"/hub/api/users/"+user, h.admin, nil)
				var m struct {
					Server  *string `json:"server"`
					Pending *string `json:"pending"`
				}
				return err == nil && json.Unmarshal(b, &m) == nil && m.Server == nil && m.Pending == nil
			})
		}
	}
	var rows [][]string
	st := map[string]stat{}
	for _, k := range append([]string{"jupyter-notebook alone"}, names(e.hubs())...) {
		s := summarise(times[k])
		st[k] = s
		rows = append(rows, []string{k, msCell(s, f1)})
	}
	e.rep.detail(fmt.Sprintf("Spawn to ready: `POST /hub/api/users/NAME/server` until `GET /user/NAME/api/status` answers 200 through the proxy (polled every 10 ms), %d spawns per hub, interleaved with jupyter-notebook started alone with the same arguments (its own readiness, the floor); the overhead in the summary is the median of each round's difference with that round's bare start:", e.opts.spawns),
		[]string{"what", "time to ready"}, rows)
	// The overhead is the median of each round's difference with the
	// bare start of the same round (they ran back to back).
	over := func(n string) float64 {
		var d []float64
		for i, t := range times[n] {
			d = append(d, t-times["jupyter-notebook alone"][i])
		}
		return summarise(d).med
	}
	sp := st["sparkhub"].med
	e.rep.row("spawn to ready, local Jupyter (hub overhead)", fmt.Sprintf("%.2f s (+%.0f ms)", sp/1000, over("sparkhub")),
		cellIf(e.jh != nil, fmt.Sprintf("%.2f s (+%.0f ms)", st["JupyterHub"].med/1000, over("JupyterHub"))),
		ratioIf(e.jh != nil, st["JupyterHub"].med, sp)+" faster", "≤ 1.0 s; overhead ≤ 100 ms", met(sp <= 1000 && over("sparkhub") <= 100))
	return nil
}

func names(hs []*hub) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.name)
	}
	return out
}

// bareJupyter starts jupyter-notebook as the local spawner would and
// times it until /user/x/api/status answers.
func bareJupyter(ctx context.Context, tmp string) (float64, error) {
	dir, err := os.MkdirTemp(tmp, "bare")
	if err != nil {
		return 0, err
	}
	port, tok := freePort(), randomToken()
	t0 := time.Now()
	cmd := exec.Command("jupyter-notebook", "--ip=127.0.0.1", "--port="+strconv.Itoa(port), "--port-retries=0", "--no-browser",
		"--NotebookApp.base_url=/user/x/", "--allow-root")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JUPYTER_TOKEN="+tok, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}()
	ok := waitFor(ctx, 60*time.Second, func() bool {
		c, _, err := do("GET", fmt.Sprintf("http://127.0.0.1:%d/user/x/api/status", port), "token "+tok, nil)
		return err == nil && c == 200
	})
	if !ok {
		return 0, fmt.Errorf("did not answer")
	}
	return float64(time.Since(t0).Microseconds()) / 1000, nil
}

// measureUsers times GET /hub/api/users returning every user, at 1,063
// and 10,000 users. sparkhub's users are made with its bulk API;
// JupyterHub's are inserted into its SQLite database (its bulk API takes
// ~9 s per 1,000 users), which its API reads on each request.
func measureUsers(ctx context.Context, e *env) error {
	const reps = 10
	var rows [][]string
	res := map[string]stat{}
	for _, total := range []int{1063, 10000} {
		for _, h := range e.hubs() {
			if err := e.fillUsers(ctx, h, total); err != nil {
				return fmt.Errorf("%s: %w", h.name, err)
			}
		}
		var first []string
		for _, h := range e.hubs() {
			t0 := time.Now()
			do("GET", h.base+"/hub/api/users", h.admin, nil)
			first = append(first, fmt.Sprintf("%s %.0f ms", h.name, float64(time.Since(t0).Milliseconds())))
		}
		e.rep.note("Users API: the first, untimed `GET /hub/api/users` at %d users took %s (JupyterHub builds its per-user objects the first time it lists them).", total, strings.Join(first, ", "))
		times := map[string][]float64{}
		for range reps {
			for _, h := range e.hubs() {
				t0 := time.Now()
				code, b, err := do("GET", h.base+"/hub/api/users", h.admin, nil)
				d := float64(time.Since(t0).Microseconds()) / 1000
				if err != nil || code != 200 {
					return fmt.Errorf("%s: GET users: %d %v", h.name, code, err)
				}
				var list []json.RawMessage
				if err := json.Unmarshal(b, &list); err != nil || len(list) < total {
					return fmt.Errorf("%s: GET users gave %d users, want %d (%v)", h.name, len(list), total, err)
				}
				times[h.name] = append(times[h.name], d)
			}
		}
		for _, h := range e.hubs() {
			s := summarise(times[h.name])
			res[fmt.Sprintf("%s %d", h.name, total)] = s
			rows = append(rows, []string{h.name, strconv.Itoa(total), msCell(s, f1)})
		}
	}
	e.rep.detail(fmt.Sprintf("`GET /hub/api/users` with an admin token, every user in one answer (JupyterHub's `api_page_max_limit` and sparkhub's `--api-page-max-limit` raised to 10,000), %d times per hub, interleaved, through the proxy:", reps),
		[]string{"hub", "users", "time"}, rows)
	sp1, sp10 := res["sparkhub 1063"].med, res["sparkhub 10000"].med
	jh1, jh10 := res["JupyterHub 1063"].med, res["JupyterHub 10000"].med
	e.rep.row("`GET /hub/api/users`, 1,063 / 10,000 users", fmt.Sprintf("%s / %s ms", f1(sp1), f1(sp10)),
		cellIf(e.jh != nil, fmt.Sprintf("%s / %s ms", f1(jh1), f1(jh10))),
		cellIf(e.jh != nil, fmt.Sprintf("%s× / %s× faster", ratio(jh1, sp1), ratio(jh10, sp10))), "≥ 10× faster",
		met(e.jh != nil && jh1/sp1 >= 10 && jh10/sp10 >= 10))
	return nil
}

// fillUsers brings a hub to total users named u00001... (plus the ones it
// had).
func (e *env) fillUsers(ctx context.Context, h *hub, total int) error {
	_, b, err := do("GET", h.base+"/hub/api/users", h.admin, nil)
	if err != nil {
		return err
	}
	var list []struct{ Name string }
	json.Unmarshal(b, &list)
	have := map[string]bool{}
	for _, u := range list {
		have[u.Name] = true
	}
	var want []string
	for i := 1; len(have)+len(want) < total; i++ {
		n := fmt.Sprintf("u%05d", i)
		if !have[n] {
			want = append(want, n)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if h.name == "JupyterHub" {
		return e.jhProc.insertUsers(ctx, want)
	}
	body, _ := json.Marshal(map[string]any{"usernames": want})
	code, rb, err := do("POST", h.base+"/hub/api/users", h.admin, body)
	if err != nil || code != 201 {
		return fmt.Errorf("create users: %d %v %.200s", code, err, rb)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
