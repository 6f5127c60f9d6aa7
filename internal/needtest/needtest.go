// Package needtest lets a test say what it needs from the machine (a
// command, a database, a Python module): when that is missing the test
// is skipped, saying why, and under CI=true it fails instead, so that a
// CI run never passes by skipping what it was meant to check.
package needtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Required reports whether a missing tool or service must fail the run:
// the environment has CI=true.
func Required() bool { return os.Getenv("CI") == "true" }

// Missing skips t saying msg, or under CI=true fails it so.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatal(msg + " (CI=true: a missing tool fails the run)")
		return
	}
	t.Skip(msg)
}

// Tool returns the path of the command name on PATH; when there is none
// it calls Missing, with how to get it (such as "apt-get install git").
func Tool(t testing.TB, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed ("+how+")")
	}
	return p
}

// Root calls Missing unless the test runs as root (CI does), saying
// what needs it.
func Root(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, what+" needs root")
	}
}

// VenvTool returns the path of a Python tool of .ci/requirements.txt in
// the virtualenv SPARKHUB_TEST_VENV names (.ci/run makes it with
// scripts/test-venv); without it, Missing.
func VenvTool(t testing.TB, name string) string {
	t.Helper()
	venv := os.Getenv("SPARKHUB_TEST_VENV")
	if venv == "" {
		Missing(t, name+" needs the test virtualenv: SPARKHUB_TEST_VENV=$(scripts/test-venv) make test")
		return ""
	}
	p := filepath.Join(venv, "bin", name)
	if _, err := os.Stat(p); err != nil {
		Missing(t, name+" is not in "+venv+" (scripts/test-venv installs .ci/requirements.txt)")
	}
	return p
}

// OthersMayRun reports whether an account other than root can run the
// script bin: every folder on the way to it and to its interpreter
// (links resolved) lets others pass. A virtualenv made from a pyenv
// under /root cannot be run by the servers' own accounts.
func OthersMayRun(bin string) bool {
	first, err := os.ReadFile(bin)
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(first), "\n")
	interp, _, _ := strings.Cut(strings.TrimPrefix(line, "#!"), " ")
	for _, p := range []string{bin, interp} {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return false
		}
		for d := filepath.Dir(real); ; d = filepath.Dir(d) {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm()&0o001 == 0 {
				return false
			}
			if d == "/" {
				break
			}
		}
	}
	return true
}

// VenvToolForServers is VenvTool for a tool the hub's local servers
// run. As root they run as accounts of their own, which must be able to
// run it; when they cannot (a virtualenv on a Python under /root),
// shared says the servers should run as the hub's account instead, and
// under CI=true (where scripts/test-venv builds on the system's Python)
// the test fails.
func VenvToolForServers(t testing.TB, name string) (path string, shared bool) {
	t.Helper()
	path = VenvTool(t, name)
	if os.Geteuid() != 0 || OthersMayRun(path) {
		return path, false
	}
	if Required() {
		t.Fatalf("%s cannot be run by other accounts (scripts/test-venv builds on /usr/bin/python3 for them)", path)
	}
	t.Logf("%s cannot be run by other accounts; servers run as the hub's", path)
	return path, true
}
