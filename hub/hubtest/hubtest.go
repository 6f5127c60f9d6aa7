// Package hubtest runs the built sparkhub binary for tests that need the
// whole thing: build it once, run its commands, start `serve` on a free
// loopback port, stop or kill it, and read what it logged.
package hubtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// Build compiles sparkhub into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "sparkhub")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/sparkhub/sparkhub").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Buffer is a buffer a process writes to while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Run runs a sparkhub command to completion and returns its stdout and
// stderr.
func Run(binary, stdin string, env []string, args ...string) (string, string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// MustRun is Run that fails the test on an error and returns stdout.
func MustRun(t testing.TB, binary, stdin string, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := Run(binary, stdin, env, args...)
	if err != nil {
		t.Fatalf("sparkhub %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// servingURL finds the hub's address in its "sparkhub serving" line.
var servingURL = regexp.MustCompile(`url=(http://[^ ]+)/hub/`)

// Hub is a running `sparkhub serve`.
type Hub struct {
	// URL is where it serves, "http://127.0.0.1:PORT".
	URL string
	// Stdout is what it printed (the first admin's password); Logs its
	// log lines.
	Stdout, Logs *Buffer

	t      testing.TB
	cmd    *exec.Cmd
	exited chan error
	once   sync.Once
}

// openDataDir lets accounts other than the test's pass through to the
// data folder named in args (--data-dir) or env (SPARKHUB_DATA_DIR) and
// to the test's folder above it (t.TempDir makes both 0700): run as
// root, as CI runs, the hub starts each user's server as an account of
// its own, whose home is in the data folder.
func openDataDir(env, args []string) {
	var dirs []string
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			dirs = append(dirs, args[i+1])
		}
	}
	for _, kv := range env {
		if d, ok := strings.CutPrefix(kv, "SPARKHUB_DATA_DIR="); ok {
			dirs = append(dirs, d)
		}
	}
	for _, dir := range dirs {
		spawnertest.OpenForAccounts(dir) // a data folder yet to be made is the hub's to make
	}
}

// accountPrefix begins the OS accounts of the servers this test
// package's hubs start as root: the package's own, since the packages'
// tests run at once and a hub ends every process of a user's account
// when that user's server stops (make run's sh- is left to TestMakeRun).
func accountPrefix() string {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	var b strings.Builder
	for _, c := range name {
		if b.Len() < 5 && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return "t" + b.String() + "-"
}

// Start runs `sparkhub serve --listen 127.0.0.1:0 --bcrypt-cost 4` with
// args, waits until it says where it serves, and stops it (SIGTERM) when
// the test ends; a test that failed then prints what the hub logged.
func Start(t testing.TB, binary string, env []string, args ...string) *Hub {
	t.Helper()
	openDataDir(env, args)
	if !slices.Contains(args, "--local-account-prefix") {
		args = append(args, "--local-account-prefix", accountPrefix())
	}
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0", "--bcrypt-cost", "4"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	h := &Hub{t: t, cmd: cmd, Stdout: &Buffer{}, Logs: &Buffer{}, exited: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = h.Stdout, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			h.Logs.Write([]byte(sc.Text() + "\n"))
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { h.exited <- cmd.Wait(); pw.Close() }()
	select {
	case h.URL = <-found:
	case err := <-h.exited:
		t.Fatalf("serve exited: %v\n%s", err, h.Logs.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not start in 60s:\n%s", h.Logs.String())
	}
	t.Cleanup(func() {
		h.Stop()
		if t.Failed() {
			t.Logf("sparkhub serve at %s logged:\n%s", h.URL, h.Logs.String())
		}
	})
	return h
}

// Memory is the hub process's resident memory now and at its peak so
// far, in bytes: VmRSS and VmHWM of /proc/PID/status (Linux).
func (h *Hub) Memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		name, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case name != "VmRSS" && name != "VmHWM":
			continue
		case err != nil:
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %w", h.cmd.Process.Pid, name, err)
		case name == "VmRSS":
			rss = kb << 10
		default:
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS or VmHWM", h.cmd.Process.Pid)
	}
	return rss, peak, nil
}

// Stop sends SIGTERM and waits for a clean exit.
func (h *Hub) Stop() {
	h.once.Do(func() {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-h.exited:
			if err != nil {
				h.t.Errorf("serve exited with %v after SIGTERM\n%s", err, h.Logs.String())
			}
		case <-time.After(20 * time.Second):
			h.cmd.Process.Kill()
			h.t.Error("serve did not stop within 20s of SIGTERM")
		}
	})
}

// Kill ends the hub with SIGKILL, as a crash or an OOM kill would.
func (h *Hub) Kill() {
	h.once.Do(func() {
		h.cmd.Process.Kill()
		<-h.exited
	})
}

// WaitFor polls cond until it holds, failing the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// KillServersUnder ends every process working under dataDir (users'
// servers a failed test may leave behind).
func KillServersUnder(dataDir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dataDir+string(filepath.Separator)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Main is a TestMain for tests of the binary: it builds sparkhub into a
// temporary folder, sets *binary, runs the tests, removes the folder and
// exits with the tests' code.
func Main(m *testing.M, binary *string) {
	dir, err := os.MkdirTemp("", "sparkhub-test")
	if err != nil {
		panic(err)
	}
	if *binary, err = Build(dir); err != nil {
		os.RemoveAll(dir)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
