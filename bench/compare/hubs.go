package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hub is one of the two hubs under test, running on loopback.
type hub struct {
	name  string
	base  string // public URL: the proxy's
	admin string // Authorization value with admin rights on the hub's API
	// userAuth is the Authorization value that reaches a user's server
	// through the proxy.
	userAuth func(user string) string
	// echo is the URL prefix that reaches the echo upstream through the
	// proxy, with the Authorization value it needs.
	echo, echoAuth string
	pids           func() map[string]int // "hub", "proxy" -> pid
	stop           func()
	// direct returns the address and Authorization value of a user's
	// running Jupyter server, bypassing the proxy.
	direct func(user string) (string, string, error)
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sparkhub is a started sparkhub serve with SQLite.
type sparkhubProc struct {
	bin, dir string
	cmd      *exec.Cmd
	tokens   map[string]string
	logf     *os.File
}

// startSparkhub prepares a data dir with the users and their tokens, then
// serves. Every user's password is "bench password".
func startSparkhub(ctx context.Context, bin, standin, dir string, users []string, extra ...string) (*hub, *sparkhubProc, error) {
	p := &sparkhubProc{bin: bin, dir: dir, tokens: map[string]string{}}
	common := []string{"--data-dir", dir, "--bcrypt-cost", "4"}
	for i, u := range users {
		args := append([]string{"user", "add", u, "--password-stdin"}, common...)
		if i == 0 {
			args = append(args, "--admin")
		}
		add := exec.CommandContext(ctx, bin, args...)
		add.Stdin = strings.NewReader("bench password\n")
		if out, err := add.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("sparkhub user add %s: %v %s", u, err, out)
		}
		out, err := exec.CommandContext(ctx, bin, append([]string{"token", "create", u}, common...)...).Output()
		if err != nil {
			return nil, nil, fmt.Errorf("sparkhub token create %s: %w", u, err)
		}
		p.tokens[u] = strings.TrimSpace(string(out))
	}
	h, err := p.serve(ctx, standin, extra...)
	if err != nil {
		return nil, nil, err
	}
	return h, p, nil
}

var servingURL = regexp.MustCompile(`url=(http://[0-9.:]+)/hub/`)

func (p *sparkhubProc) serve(ctx context.Context, standin string, extra ...string) (*hub, error) {
	logf, err := os.OpenFile(filepath.Join(p.dir, "hub.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	p.logf = logf
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", p.dir, "--idle-timeout", "0",
		"--local-cmd", standin, "--api-page-max-limit", "10000", "--bcrypt-cost", "4"}, extra...)
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), "SPARKHUB_ADMIN_PASSWORD=bench password")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd
	base, err := waitLine(ctx, stderr, logf, servingURL)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("sparkhub: %w (log: %s)", err, logf.Name())
	}
	admin := ""
	for u, t := range p.tokens {
		if u == "admin" {
			admin = "token " + t
		}
	}
	return &hub{
		name:  "sparkhub",
		base:  base,
		admin: admin,
		userAuth: func(u string) string {
			return "token " + p.tokens[u]
		},
		echo:     base + "/user/echo",
		echoAuth: "token " + p.tokens["echo"],
		pids:     func() map[string]int { return map[string]int{"hub+proxy": cmd.Process.Pid} },
		stop:     p.kill,
		direct: func(u string) (string, string, error) {
			b, err := os.ReadFile(filepath.Join(p.dir, "users", u, ".bench-direct"))
			if err != nil {
				return "", "", err
			}
			var port, tok string
			fmt.Sscan(string(b), &port, &tok)
			return "http://127.0.0.1:" + port, "token " + tok, nil
		},
	}, nil
}

// kill stops the hub (servers it started keep running: stop them first).
func (p *sparkhubProc) kill() { stopProc(&p.cmd, p.logf, 15*time.Second) }

// stopProc sends SIGTERM, waits up to grace, then kills the process
// group; it closes the log and forgets the command.
func stopProc(cmd **exec.Cmd, logf *os.File, grace time.Duration) {
	c := *cmd
	if c == nil || c.Process == nil {
		return
	}
	c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
	}
	*cmd = nil
	if logf != nil {
		logf.Close()
	}
}

// waitLine copies r to log until a line matches re, and keeps copying
// afterwards.
func waitLine(ctx context.Context, r io.Reader, log io.Writer, re *regexp.Regexp) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if !sent {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[len(m)-1]
					sent = true
				}
			}
		}
		if !sent {
			close(found)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	select {
	case s, ok := <-found:
		if !ok {
			return "", fmt.Errorf("exited before serving")
		}
		return s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("not serving after 90 s")
	}
}

// jupyterhubProc is JupyterHub 3 with configurable-http-proxy, run with the
// shared baseline config adapted to a temp dir and free ports.
type jupyterhubProc struct {
	cmd                         *exec.Cmd
	run                         string
	proxyPort, hubPort, apiPort int
	chpToken, adminToken        string
	logf                        *os.File
}

// startJupyterHub writes the adapted config and starts JupyterHub.
func startJupyterHub(ctx context.Context, sharedConfig, run string) (*hub, *jupyterhubProc, error) {
	raw, err := os.ReadFile(sharedConfig)
	if err != nil {
		return nil, nil, err
	}
	p := &jupyterhubProc{run: run, proxyPort: freePort(), hubPort: freePort(), apiPort: freePort(),
		chpToken: randomToken(), adminToken: randomToken()}
	lo := 20000 + int(time.Now().UnixNano()%20000)
	cfg := string(raw)
	for old, new := range map[string]string{
		"127.0.0.1:18000":             "127.0.0.1:" + strconv.Itoa(p.proxyPort),
		"127.0.0.1:18001":             "127.0.0.1:" + strconv.Itoa(p.hubPort),
		"127.0.0.1:18002":             "127.0.0.1:" + strconv.Itoa(p.apiPort),
		"range(18010, 18090)":         fmt.Sprintf("range(%d, %d)", lo, lo+80),
		"no free port in 18010-18089": "no free port in the benchmark's range",
	} {
		if !strings.Contains(cfg, old) {
			return nil, nil, fmt.Errorf("the shared config changed: %q not found", old)
		}
		cfg = strings.ReplaceAll(cfg, old, new)
	}
	for _, d := range []string{filepath.Join(run, "config", "singleuser"), filepath.Join(run, "homes")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	cfgPath := filepath.Join(run, "jupyterhub_config.py")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, nil, err
	}
	h, err := p.serve(ctx)
	if err != nil {
		return nil, nil, err
	}
	return h, p, nil
}

var jhReady = regexp.MustCompile(`(JupyterHub is now running) at`)

func (p *jupyterhubProc) serve(ctx context.Context) (*hub, error) {
	logf, err := os.OpenFile(filepath.Join(p.run, "jupyterhub.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	p.logf = logf
	cmd := exec.Command("jupyterhub", "-f", filepath.Join(p.run, "jupyterhub_config.py"))
	cmd.Dir = p.run
	cmd.Env = append(os.Environ(), "BASE="+p.run, "RUN_DIR="+p.run, "CONFIGPROXY_AUTH_TOKEN="+p.chpToken,
		"BENCH_ADMIN_TOKEN="+p.adminToken, "NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd
	if _, err := waitLine(ctx, stderr, logf, jhReady); err != nil {
		p.kill()
		return nil, fmt.Errorf("jupyterhub: %w (log: %s)", err, logf.Name())
	}
	base := "http://127.0.0.1:" + strconv.Itoa(p.proxyPort)
	auth := "token " + p.adminToken
	return &hub{
		name:     "JupyterHub",
		base:     base,
		admin:    auth,
		userAuth: func(string) string { return auth },
		echo:     base + "/bench-echo",
		pids: func() map[string]int {
			m := map[string]int{"hub": cmd.Process.Pid}
			if b, err := os.ReadFile(filepath.Join(p.run, "jupyterhub-proxy.pid")); err == nil {
				if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					m["proxy"] = n
				}
			}
			return m
		},
		stop: p.kill,
		direct: func(u string) (string, string, error) {
			routes, err := p.routes()
			if err != nil {
				return "", "", err
			}
			t, ok := routes["/user/"+u+"/"]
			if !ok {
				t, ok = routes["/user/"+u]
			}
			if !ok {
				return "", "", fmt.Errorf("no route for %s", u)
			}
			return t, auth, nil
		},
	}, nil
}

// routes reads CHP's routing table: path prefix -> target.
func (p *jupyterhubProc) routes() (map[string]string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/api/routes", p.apiPort), nil)
	req.Header.Set("Authorization", "token "+p.chpToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]struct {
		Target string `json:"target"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.Target
	}
	return out, nil
}

// addRoute gives CHP a route to any upstream through its REST API, as the
// baseline did for the proxy-only tests.
func (p *jupyterhubProc) addRoute(path, target string) error {
	body, _ := json.Marshal(map[string]string{"target": target})
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/api/routes%s", p.apiPort, path), strings.NewReader(string(body)))
	req.Header.Set("Authorization", "token "+p.chpToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("CHP add route: %d", resp.StatusCode)
	}
	return nil
}

// kill stops JupyterHub, which stops its servers and CHP.
func (p *jupyterhubProc) kill() { stopProc(&p.cmd, p.logf, 20*time.Second) }
