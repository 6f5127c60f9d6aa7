package local

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkhub/sparkhub/internal/needtest"
	"github.com/sparkhub/sparkhub/spawner"
	"github.com/sparkhub/sparkhub/spawner/spawnertest"
)

// testAccountPrefix begins the accounts of this package's servers: the
// tests of other packages run at the same time, with users of the same
// names, and stopping a server ends every process of its account.
const testAccountPrefix = "tlocal-"

// attackEnv makes the test binary run attackMain: what code in bob's
// server would try against alice's, as bob's account.
const attackEnv = "SPARKHUB_TEST_ATTACK"

// attack is one try and how it went ("" when it worked).
type attack struct {
	What string
	Err  string
}

// attackMain tries, as whatever account runs it, to reach what the JSON
// in attackEnv names of another user's server, and prints one attack
// per try as JSON.
func attackMain() {
	var v struct {
		PID                  int
		Home, Socket, Secret string
	}
	json.Unmarshal([]byte(os.Getenv(attackEnv)), &v)
	try := func(what string, fn func() error) attack {
		if err := fn(); err != nil {
			return attack{what, err.Error()}
		}
		return attack{What: what}
	}
	read := func(p string) func() error {
		return func() error { _, err := os.ReadFile(p); return err }
	}
	out := []attack{
		try("read the server's environment", read("/proc/"+strconv.Itoa(v.PID)+"/environ")),
		try("list the server's home", func() error { _, err := os.ReadDir(v.Home); return err }),
		try("read Jupyter's runtime files", func() error {
			_, err := os.ReadDir(filepath.Join(v.Home, ".local", "share", "jupyter", "runtime"))
			return err
		}),
		try("plant custom.js", func() error {
			return os.WriteFile(filepath.Join(v.Home, ".jupyter", "custom", "custom.js"), []byte("alert(1)"), 0o644)
		}),
		try("connect to the server's socket", func() error {
			c, err := net.Dial("unix", v.Socket)
			if err == nil {
				c.Close()
			}
			return err
		}),
		try("listen in the server's place", func() error {
			os.Remove(v.Socket)
			l, err := net.Listen("unix", v.Socket)
			if err == nil {
				l.Close()
			}
			return err
		}),
		try("read the hub's private file", read(v.Secret)),
		try("signal the server", func() error { return syscall.Kill(v.PID, syscall.SIGTERM) }),
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// accountsOptions run a copy of the test binary as every user's server,
// each as an account of its own: the copy sits where those accounts can
// run it.
func accountsOptions(t *testing.T) Options {
	t.Helper()
	needtest.Root(t, "running servers as accounts of their own")
	needtest.Tool(t, "useradd", "apt-get install passwd")
	bin := filepath.Join(spawnertest.TempDirForAccounts(t), "jupyter")
	self, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	f, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err == nil {
		_, err = io.Copy(f, self)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		DataDir:       spawnertest.TempDirForAccounts(t),
		Cmd:           []string{bin},
		Env:           map[string]string{spawnertest.FakeJupyterEnv: "1"},
		AccountPrefix: testAccountPrefix,
	}
}

func lookupAccount(t *testing.T, name string) account {
	t.Helper()
	u, err := user.Lookup(AccountName(testAccountPrefix, name))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := checkAccount(u, name)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

// TestServersRunAsAccountsOfTheirOwn: with the hub as root, alice's and
// bob's servers run as sh-alice and sh-bob, each in a home only its
// account can enter, listening on a socket in it; and code in bob's
// server, as bob's account, cannot read alice's environment, home,
// runtime files or the hub's files, plant script in her Jupyter, reach
// or take her socket, or signal her server. The same tries as the hub's
// account show that each would work were the accounts the same.
func TestServersRunAsAccountsOfTheirOwn(t *testing.T) {
	opts := accountsOptions(t)
	b := newBackend(t, opts)
	alice, aliceToken := startFake(t, b, "alice", nil)
	bob, bobToken := startFake(t, b, "bob", nil)
	aliceEnv := serverEnv(t, alice, aliceToken, "alice")
	serverEnv(t, bob, bobToken, "bob")
	aliceAcct, bobAcct := lookupAccount(t, "alice"), lookupAccount(t, "bob")
	if aliceEnv["UID"] != strconv.Itoa(int(aliceAcct.UID)) || aliceAcct.UID == bobAcct.UID {
		t.Fatalf("alice's server runs as uid %s; want sh-alice's %d (sh-bob: %d)", aliceEnv["UID"], aliceAcct.UID, bobAcct.UID)
	}
	home := filepath.Join(opts.DataDir, "users", "alice")
	for _, d := range []string{home, filepath.Join(home, ".sparkhub")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != aliceAcct.UID || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: owner %d, mode %04o; want sh-alice's (%d), 0700", d, st.Uid, fi.Mode().Perm(), aliceAcct.UID)
		}
	}
	sock, ok := spawner.SocketPath(alice.Target.Host)
	if !ok || sock != filepath.Join(home, socketName) {
		t.Fatalf("alice's target %v is not the socket in her home", alice.Target)
	}
	// What alice's server left in her home, and a file of the hub's.
	for _, d := range []string{".jupyter/custom", ".local/share/jupyter/runtime"} {
		for p := d; p != "."; p = filepath.Dir(p) {
			os.MkdirAll(filepath.Join(home, p), 0o755)
			os.Chown(filepath.Join(home, p), int(aliceAcct.UID), int(aliceAcct.GID))
		}
	}
	secret := filepath.Join(opts.DataDir, "sparkhub.db")
	if err := os.WriteFile(secret, []byte("signing key"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(cred *syscall.Credential) []attack {
		t.Helper()
		arg, _ := json.Marshal(map[string]any{"PID": pidOf(t, alice.Handle), "Home": home, "Socket": sock, "Secret": secret})
		cmd := exec.Command(opts.Cmd[0])
		cmd.Env = []string{attackEnv + "=" + string(arg)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.Output()
		var got []attack
		if err != nil || json.Unmarshal(out, &got) != nil {
			t.Fatalf("attack: %v: %s", err, out)
		}
		return got
	}
	for _, a := range run(&syscall.Credential{Uid: bobAcct.UID, Gid: bobAcct.GID, Groups: []uint32{}}) {
		if a.Err == "" {
			t.Errorf("as bob's account: %s worked", a.What)
		} else if !strings.Contains(a.Err, "permission denied") && !strings.Contains(a.Err, "operation not permitted") {
			t.Errorf("as bob's account: %s failed, but not for want of permission: %s", a.What, a.Err)
		}
	}
	// The same as alice's own account: her server's code may do all of
	// it but read the hub's file (the tries themselves work).
	for _, a := range run(&syscall.Credential{Uid: aliceAcct.UID, Gid: aliceAcct.GID, Groups: []uint32{}}) {
		if (a.Err == "") == (a.What == "read the hub's private file") {
			t.Errorf("as alice's account: %s: %q", a.What, a.Err)
		}
	}
}

// TestStopEndsWhatTheAccountRuns: a process of alice's server that left
// its process group (as a kernel calling setsid does) ends with it.
func TestStopEndsWhatTheAccountRuns(t *testing.T) {
	opts := accountsOptions(t)
	b := newBackend(t, opts)
	st, token := startFake(t, b, "alice", nil)
	serverEnv(t, st, token, "alice")
	acct := lookupAccount(t, "alice")
	stray := exec.Command("sleep", "600")
	stray.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: []uint32{}}}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stray.Wait() }()
	if err := b.Stop(context.Background(), st.Handle, time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		stray.Process.Kill()
		t.Fatal("a process of alice's account outlived her server")
	}
}

// TestOneUserWithoutRoot: a hub that is not root, not told its users
// trust each other, runs servers for one user only, and says why.
func TestOneUserWithoutRoot(t *testing.T) {
	opts := fakeOptions(t)
	b := newBackend(t, opts)
	b.iso = oneUser // as New makes it when the hub is not root
	startFake(t, b, "alice", nil)
	_, err := b.Start(context.Background(), spawner.StartRequest{User: "bob", BaseURL: spawner.UserURL("bob"), Token: "t"})
	var f *spawner.Failure
	if !errors.As(err, &f) || !strings.Contains(f.Message, "only one person can have a server here") {
		t.Fatalf("bob's start = %v; want a failure saying only one person can", err)
	}
	if _, err := os.Stat(filepath.Join(opts.DataDir, "users", "bob")); err == nil {
		t.Error("bob's refused start made him a home")
	}
	startFake(t, b, "alice", nil) // alice again
}

func TestIsolationFor(t *testing.T) {
	for _, tt := range []struct {
		euid   int
		shared bool
		want   isolation
	}{{0, false, ownAccounts}, {1000, false, oneUser}, {0, true, sharedAccount}, {1000, true, sharedAccount}} {
		if got := isolationFor(tt.euid, tt.shared); got != tt.want {
			t.Errorf("isolationFor(%d, %v) = %v, want %v", tt.euid, tt.shared, got, tt.want)
		}
	}
}

func TestAccountName(t *testing.T) {
	long1, long2 := strings.Repeat("a", 29)+"b", strings.Repeat("a", 29)+"c"
	for _, tt := range []struct{ name, want string }{
		{"alice", "sh-alice"},
		{"first.last", "sh-first.last"},
		{strings.Repeat("x", 29), "sh-" + strings.Repeat("x", 29)},
	} {
		if got := AccountName("sh-", tt.name); got != tt.want {
			t.Errorf("AccountName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	a, b := AccountName("sh-", long1), AccountName("sh-", long2)
	if a == b || len(a) > maxAccountName || len(b) > maxAccountName {
		t.Errorf("long names: %q and %q", a, b)
	}
	for _, bad := range []string{"", "Sh-", "1x", "a/b", "waytoolongprefix"} {
		if checkPrefix(bad) == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

// TestAccountMadeBySomeoneElse: an existing account with the server's
// name that the hub did not make is never run as.
func TestAccountMadeBySomeoneElse(t *testing.T) {
	u := &user.User{Username: "sh-mallory", Uid: "1500", Gid: "1500", Name: "Mallory's own"}
	if _, err := checkAccount(u, "mallory"); err == nil || !strings.Contains(err.Error(), "was not made by sparkhub") {
		t.Errorf("checkAccount = %v", err)
	}
	u.Name, u.Uid = accountComment+"mallory", "0"
	if _, err := checkAccount(u, "mallory"); err == nil {
		t.Error("uid 0 accepted")
	}
}

// TestUnreachableDataDir: servers' accounts that could not reach their
// homes are refused at start, with what to do.
func TestUnreachableDataDir(t *testing.T) {
	needtest.Root(t, "running servers as accounts of their own")
	needtest.Tool(t, "useradd", "apt-get install passwd")
	_, err := New(Options{DataDir: t.TempDir()}) // its parent is 0700
	if err == nil || !strings.Contains(err.Error(), "chmod o+x") {
		t.Errorf("New = %v; want the folder named with what to do", err)
	}
}
