// Command compare measures sparkhub and JupyterHub 3 with
// configurable-http-proxy side by side on this machine, in the same run,
// and writes the "Side by side" section of BENCHMARKS.md.
//
//	make bench                                   # everything, ~15 minutes
//	go run ./bench/compare -only kernel,users    # a subset, printed only
//
// Both hubs run on loopback: sparkhub's built binary with SQLite and the
// local spawner, JupyterHub with the shared baseline config
// (/work/shared/bench/jupyterhub_config.py) adapted to a temp dir and
// free ports. Users' servers are Debian's jupyter-notebook; the proxy-only
// measures use a tiny Go echo server (bench/compare/standin) that sparkhub
// starts as user "echo" through --local-cmd and that CHP gets a route to.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	only         map[string]bool
	loader       string
	write        bool
	benchmarks   string
	config       string
	duration     time.Duration
	rounds       int
	kernelRounds int
	wsMany       int
	spawns       int
	startUsers   int
	startServers int
}

var allMeasures = []string{"memory", "http-jupyter", "http-echo", "ws", "kernel", "contents", "spawn", "users", "start"}

func main() {
	var o options
	only := flag.String("only", "", "comma-separated measures to run: "+strings.Join(allMeasures, ","))
	flag.BoolVar(&o.write, "write", false, "write the results into BENCHMARKS.md's \"Side by side\" section (only with every measure)")
	flag.StringVar(&o.benchmarks, "benchmarks", "BENCHMARKS.md", "the file to write")
	flag.StringVar(&o.config, "jupyterhub-config", "/work/shared/bench/jupyterhub_config.py", "JupyterHub's baseline config")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "how long each HTTP load runs")
	flag.StringVar(&o.loader, "loader", "wrk", "HTTP load generator: wrk (when installed) or go")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of each HTTP load per target, interleaved across targets")
	flag.IntVar(&o.kernelRounds, "kernel-rounds", 1000, "kernel round trips per target")
	flag.IntVar(&o.wsMany, "ws-many", 5000, "the larger count of idle websockets held open (0: only 100)")
	flag.IntVar(&o.spawns, "spawns", 5, "spawns per hub")
	flag.IntVar(&o.startUsers, "start-users", 10000, "users in the hub-start measure")
	flag.IntVar(&o.startServers, "start-servers", 2000, "running servers in the hub-start measure")
	timeout := flag.Duration("timeout", 20*time.Minute, "stop everything after this long")
	flag.Parse()
	o.only = map[string]bool{}
	if *only == "" {
		for _, m := range allMeasures {
			o.only[m] = true
		}
	} else {
		for _, m := range strings.Split(*only, ",") {
			o.only[strings.TrimSpace(m)] = true
		}
		o.write = false
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, *timeout)
	defer cancelT()
	e := &env{opts: o, rep: &report{}}
	err := e.run(ctx)
	e.cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	md := e.rep.markdown(e)
	fmt.Println(md)
	if o.write && err == nil {
		if werr := writeSection(o.benchmarks, md); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "bench: wrote the Side by side section of", o.benchmarks)
	}
	if err != nil {
		os.Exit(1)
	}
}

// env is the running setup: both hubs, the echo upstream, the report.
type env struct {
	opts     options
	rep      *report
	tmp      string
	bin      string
	standin  string
	sp, jh   *hub
	spProc   *sparkhubProc
	jhProc   *jupyterhubProc
	echoURL  string // the echo upstream, direct
	wrk      string // wrk's path, when it is used
	load0    string // /proc/loadavg when the run began
	cleanups []func()
	versions []string
}

func (e *env) say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func (e *env) run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "sparkhub-bench-compare")
	if err != nil {
		return err
	}
	e.tmp = tmp
	e.cleanups = append(e.cleanups, func() { os.RemoveAll(tmp) })
	e.bin, e.standin = filepath.Join(tmp, "sparkhub-bin"), filepath.Join(tmp, "standin")
	e.load0 = loadAvg()
	e.say("building sparkhub and the stand-in")
	for _, b := range [][]string{{"-o", e.bin, "."}, {"-o", e.standin, "./bench/compare/standin"}} {
		cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-trimpath"}, b...)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v %s", err, out)
		}
	}
	haveJH := e.ensurePackages(ctx)
	if e.opts.loader == "wrk" {
		if p, err := exec.LookPath("wrk"); err == nil {
			e.wrk = p
		} else {
			e.rep.note("wrk is not installed: HTTP loads used the Go client")
		}
	}
	e.collectVersions(haveJH)

	users := []string{"admin", "alice", "echo"}
	for i := range e.opts.spawns {
		users = append(users, fmt.Sprintf("spawn%d", i+1))
	}
	e.say("starting sparkhub")
	spDir := filepath.Join(tmp, "sparkhub")
	e.sp, e.spProc, err = startSparkhub(ctx, e.bin, e.standin, spDir, users)
	if err != nil {
		return err
	}
	e.cleanups = append(e.cleanups, func() {
		for _, u := range users {
			do("DELETE", e.sp.base+"/hub/api/users/"+u+"/server", e.sp.admin, nil)
		}
		// The hub leaves servers running when it exits: wait until they
		// are gone.
		waitFor(context.Background(), 20*time.Second, func() bool {
			for _, u := range []string{"alice", "echo"} {
				if base, _, err := e.sp.direct(u); err == nil {
					if _, _, err := do("GET", base+"/", "", nil); err == nil {
						return false
					}
				}
			}
			return true
		})
		e.spProc.kill()
	})
	for _, u := range []string{"alice", "echo"} {
		if err := e.startServer(ctx, e.sp, u); err != nil {
			return err
		}
	}
	echoDirect, _, err := e.sp.direct("echo")
	if err != nil {
		return err
	}
	e.echoURL = echoDirect
	if haveJH {
		e.say("starting JupyterHub")
		e.jh, e.jhProc, err = startJupyterHub(ctx, e.opts.config, filepath.Join(tmp, "jupyterhub"))
		if err != nil {
			e.rep.note("JupyterHub did not start, so its side is missing: %v", err)
			e.jh = nil
		} else {
			e.cleanups = append(e.cleanups, e.jhProc.kill)
			if err := e.jhProc.addRoute("/bench-echo", e.echoURL); err != nil {
				return err
			}
			if err := e.startServer(ctx, e.jh, "alice"); err != nil {
				return err
			}
		}
	}
	for _, m := range allMeasures {
		if !e.opts.only[m] {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.say("measuring %s", m)
		t0 := time.Now()
		if err := measures[m](ctx, e); err != nil {
			e.rep.note("%s: not measured: %v", m, err)
			e.say("%s failed: %v", m, err)
		}
		e.say("%s took %s", m, time.Since(t0).Round(time.Second))
	}
	return nil
}

func (e *env) cleanup() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// hubs are the hubs that run, sparkhub first.
func (e *env) hubs() []*hub {
	if e.jh == nil {
		return []*hub{e.sp}
	}
	return []*hub{e.sp, e.jh}
}

// startServer starts a user's default server and waits until it answers
// through the proxy.
func (e *env) startServer(ctx context.Context, h *hub, user string) error {
	if h.name == "JupyterHub" {
		do("POST", h.base+"/hub/api/users/"+user, h.admin, nil)
	}
	code, body, err := do("POST", h.base+"/hub/api/users/"+user+"/server", h.admin, nil)
	if err != nil {
		return err
	}
	if code != 201 && code != 202 {
		return fmt.Errorf("%s: start %s's server: %d %s", h.name, user, code, body)
	}
	if !waitFor(ctx, 90*time.Second, func() bool {
		c, _, err := do("GET", h.base+"/user/"+user+"/api/status", h.userAuth(user), nil)
		return err == nil && c == 200
	}) {
		return fmt.Errorf("%s: %s's server did not answer within 90 s", h.name, user)
	}
	return nil
}

// ensurePackages installs JupyterHub, CHP, Jupyter and wrk from Debian
// when missing and it can; it reports whether JupyterHub can run.
func (e *env) ensurePackages(ctx context.Context) bool {
	want := map[string]string{"jupyterhub": "jupyterhub", "configurable-http-proxy": "node-configurable-http-proxy",
		"jupyter-notebook": "jupyter-notebook", "wrk": "wrk"}
	var missing []string
	for cmd, pkg := range want {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) > 0 {
		if os.Geteuid() != 0 {
			e.rep.note("missing %s and not root, so not installed", strings.Join(missing, ", "))
		} else {
			e.say("installing %s", strings.Join(missing, " "))
			ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ictx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, missing...)...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				e.rep.note("apt-get install %s failed: %v (%s)", strings.Join(missing, " "), err, lastLine(string(out)))
			}
		}
	}
	_, errJH := exec.LookPath("jupyterhub")
	_, errCHP := exec.LookPath("configurable-http-proxy")
	if errJH != nil || errCHP != nil {
		e.rep.note("JupyterHub or configurable-http-proxy is not installed: every JupyterHub column is empty")
		return false
	}
	if _, err := os.Stat(e.opts.config); err != nil {
		e.rep.note("JupyterHub's config %s is missing: every JupyterHub column is empty", e.opts.config)
		return false
	}
	return true
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (e *env) collectVersions(haveJH bool) {
	out := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(lastLine(string(b)))
	}
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
	}
	osName := "?"
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		osName = "Debian " + strings.TrimSpace(string(b))
	}
	e.versions = append(e.versions,
		fmt.Sprintf("machine: %d vCPUs (%s), %s, %s, kernel %s", numCPU(), cpu, mem, osName, out("uname", "-r")),
		out(e.bin, "version")+" built from the working tree at "+out("git", "describe", "--always", "--dirty")+", "+out("go", "version"),
		"jupyter-notebook "+out("jupyter-notebook", "--version"))
	if p, err := exec.LookPath("wrk"); err == nil && e.opts.loader == "wrk" {
		e.versions = append(e.versions, "HTTP load: "+wrkVersion(p)+", one thread")
	} else {
		e.versions = append(e.versions, "HTTP load: the Go client in bench/compare")
	}
	if haveJH {
		e.versions = append(e.versions,
			"jupyterhub "+out("jupyterhub", "--version")+", configurable-http-proxy "+
				out("env", "NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs", "configurable-http-proxy", "--version")+
				" on node "+out("node", "--version"))
	}
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
