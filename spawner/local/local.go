// Package local runs users' Jupyter servers as processes on the hub's
// machine: the embedded default backend, used by `make run`.
//
// Each server runs the first of jupyter-lab, jupyter-notebook and
// jupyter-server found on PATH (or Options.Cmd), under the base URL
// /user/{name}/, in its own process group, with <data-dir>/users/{name}
// as its home and working folder, with its output appended to
// <data-dir>/logs/{name}.log. When the hub runs as root, the server runs
// as an unprivileged OS account of the user's own (sh-{name}, made on
// first start) and its home is that account's alone (0700); otherwise
// as the hub's account, for one user only unless the operator declares
// that the users trust each other (Options.SharedAccount).
//
// A server listens on a Unix socket in its home, <home>/.sparkhub/
// jupyter.sock, never on a TCP port: no other user's code can bind it
// first, so the readiness probe and the proxy reach only the process the
// hub started. Its token reaches it only through JUPYTER_TOKEN. The hub
// exiting does not stop it (no parent-death signal; its own process
// group keeps a terminal's Ctrl-C away), and a later hub recovers it by
// pid, checking through /proc that the pid is still the process that was
// started.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sparkhub/sparkhub/spawner"
)

var (
	_ spawner.Backend   = (*Backend)(nil)
	_ spawner.Waiter    = (*Backend)(nil)
	_ spawner.LogTailer = (*Backend)(nil)
)

// Name is the backend's name in handles.
const Name = "local"

// DefaultCommands are tried in order on PATH when Options.Cmd is empty.
var DefaultCommands = []string{"jupyter-lab", "jupyter-notebook", "jupyter-server"}

// DefaultEnvKeep is the hub's environment a server inherits (JupyterHub's
// env_keep, plus what a process needs to find its home and locale). The
// rest stays out: the hub's environment may hold its secrets.
var DefaultEnvKeep = []string{
	"PATH", "PYTHONPATH", "CONDA_ROOT", "CONDA_DEFAULT_ENV", "VIRTUAL_ENV",
	"LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL",
}

// socketName is where in its home a server listens: a folder of the
// home, so the socket is as private as the home.
const socketName = ".sparkhub/jupyter.sock"

// Options configure the local backend.
type Options struct {
	// DataDir holds users/{name} (working directories) and logs/{name}.log.
	DataDir string
	// Cmd is the server's command and first arguments (--local-cmd);
	// Jupyter's own arguments for address, port and base URL are
	// appended. Empty: the first of DefaultCommands on PATH.
	Cmd []string
	// PythonPath, when set, is put first on the server's PYTHONPATH: the
	// folder where the hub wrote the sparkhub_contents package.
	PythonPath string
	// Jupyter names the hub's classes the server starts with.
	Jupyter spawner.Jupyter
	// Env is extra environment for every server (TZ, proxies, ...).
	Env map[string]string
	// EnvKeep names the hub's variables servers inherit (nil:
	// DefaultEnvKeep).
	EnvKeep []string
	// MaxLogSize caps a server's log: past it the log is moved to
	// {name}.log.1 (copy and truncate, as the server keeps writing) so
	// at most about twice this is kept (0: 10 MiB).
	MaxLogSize int64
	// SharedAccount runs every user's server as the hub's own OS account
	// (--local-shared-account): each user's code can then read every
	// other user's files and the hub's database, so it is only for users
	// who trust each other. Without it, a hub running as root gives each
	// user an account of their own, and a hub that is not root runs
	// servers for one user only.
	SharedAccount bool
	// AccountPrefix begins the OS account names made for users' servers
	// (--local-account-prefix; "": DefaultAccountPrefix).
	AccountPrefix string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Backend runs servers as local processes. Safe for concurrent use.
type Backend struct {
	opts Options
	log  *slog.Logger
	iso  isolation
	// hubAccount is the hub's own account name: USER of a server that
	// runs as it.
	hubAccount string

	accountsMu sync.Mutex // one useradd at a time

	mu       sync.Mutex
	children map[string]*child // by handle id: processes this Backend started
	apps     map[string]app    // by executable and its mtime: which options it reads
}

// child is a process this Backend started and reaps.
type child struct {
	exited chan struct{}
	status spawner.Status // set before exited is closed
}

// state is what a handle carries: enough to find the process again and
// to tell it from another that got the same pid.
type state struct {
	PID        int     `json:"pid"`
	StartTicks uint64  `json:"start_ticks"` // /proc/<pid>/stat field 22
	BootID     string  `json:"boot_id"`
	Port       int     `json:"port,omitempty"`   // servers from before sockets
	Socket     string  `json:"socket,omitempty"` // the Unix socket it listens on
	UID        *uint32 `json:"uid,omitempty"`    // its own account's uid
	Log        string  `json:"log"`
}

// New returns a local backend.
func New(opts Options) (*Backend, error) {
	if opts.DataDir == "" {
		return nil, errors.New("local spawner: no data directory")
	}
	abs, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local spawner: data directory: %w", err)
	}
	opts.DataDir = abs
	// A server runs in a folder of its own: a relative path the hub
	// hands it would name another place there.
	if opts.PythonPath != "" {
		if opts.PythonPath, err = filepath.Abs(opts.PythonPath); err != nil {
			return nil, fmt.Errorf("local spawner: python path: %w", err)
		}
	}
	if len(opts.Cmd) > 0 && strings.ContainsRune(opts.Cmd[0], filepath.Separator) {
		cmd := append([]string{}, opts.Cmd...)
		if cmd[0], err = filepath.Abs(cmd[0]); err != nil {
			return nil, fmt.Errorf("local spawner: command: %w", err)
		}
		opts.Cmd = cmd
	}
	if opts.MaxLogSize <= 0 {
		opts.MaxLogSize = 10 << 20
	}
	if opts.EnvKeep == nil {
		opts.EnvKeep = DefaultEnvKeep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AccountPrefix == "" {
		opts.AccountPrefix = DefaultAccountPrefix
	}
	b := &Backend{opts: opts, log: opts.Logger, iso: isolationFor(os.Geteuid(), opts.SharedAccount), children: map[string]*child{}, apps: map[string]app{}}
	if u, err := user.Current(); err == nil {
		b.hubAccount = u.Username
	}
	if b.iso == ownAccounts {
		if err := b.prepareAccounts(); err != nil {
			return nil, fmt.Errorf("local spawner: %w", err)
		}
	}
	return b, nil
}

// prepareAccounts checks, when servers run as accounts of their own, that
// the hub can make them and that they can reach their homes.
func (b *Backend) prepareAccounts() error {
	if err := checkPrefix(b.opts.AccountPrefix); err != nil {
		return err
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		return errors.New("the hub runs as root and gives each user's server an OS account of its own, but useradd is not on PATH; install it (Debian: passwd) or pass --local-shared-account if the users trust each other")
	}
	users := filepath.Join(b.opts.DataDir, "users")
	if err := os.MkdirAll(users, 0o711); err != nil {
		return err
	}
	// Accounts pass through to their own homes, and list nothing.
	for _, d := range []string{b.opts.DataDir, users} {
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	return reachable(users)
}

// Name implements spawner.Backend.
func (b *Backend) Name() string { return Name }

// Command returns the command servers run: Options.Cmd, or the first of
// DefaultCommands found on PATH. The hub may call it at start to fail
// early with a clear message.
func (b *Backend) Command() ([]string, error) {
	if len(b.opts.Cmd) > 0 {
		return b.opts.Cmd, nil
	}
	for _, c := range DefaultCommands {
		if p, err := exec.LookPath(c); err == nil {
			return []string{p}, nil
		}
	}
	return nil, fmt.Errorf("none of %s is on PATH; install Jupyter (Debian: apt-get install jupyter-notebook python3-ipykernel) or give --local-cmd", strings.Join(DefaultCommands, ", "))
}

// Args are the arguments Jupyter understands for the base URL and the
// hub's classes (spawner.Jupyter.Args), appended to the command; Start
// adds the socket to listen on.
func (b *Backend) Args(baseURL string) []string {
	args := append([]string{"--no-browser"}, b.opts.Jupyter.Args(baseURL)...)
	if os.Geteuid() == 0 && b.iso != ownAccounts {
		// Jupyter refuses to run as root without it (containers, CI).
		args = append(args, "--allow-root")
	}
	return args
}

// An app is the Jupyter application class a command reads its options
// from.
type app int

const (
	// bothApps: a command the hub does not know (--local-cmd), given
	// both spellings. Each Jupyter ignores the other's, and JupyterLab
	// and Notebook 7 move NotebookApp options they do not know to
	// ServerApp.
	bothApps    app = iota
	notebookApp     // notebook 6: NotebookApp.*
	serverApp       // jupyter_server (JupyterLab, Notebook 7, jupyter-server): ServerApp.*
)

// appOf says which options cmd understands: jupyter-lab and
// jupyter-server are jupyter_server's; jupyter-notebook is notebook 6
// or Notebook 7, told apart by its --version (asked once per
// executable, as the hub's account); anything else gets both.
func (b *Backend) appOf(cmd []string) app {
	if len(cmd) != 1 {
		return bothApps
	}
	switch filepath.Base(cmd[0]) {
	case "jupyter-lab", "jupyter-server":
		return serverApp
	case "jupyter-notebook":
	default:
		return bothApps
	}
	fi, err := os.Stat(cmd[0])
	if err != nil {
		return bothApps
	}
	key := cmd[0] + "\x00" + fi.ModTime().String()
	b.mu.Lock()
	a, ok := b.apps[key]
	b.mu.Unlock()
	if ok {
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	version := exec.CommandContext(ctx, cmd[0], "--version")
	version.Env = b.versionEnv()
	out, err := version.Output()
	a = bothApps
	if err == nil {
		major, _, _ := strings.Cut(strings.TrimSpace(string(out)), ".")
		if n, err := strconv.Atoi(major); err == nil && n >= 7 {
			a = serverApp
		} else if err == nil {
			a = notebookApp
		}
	}
	b.mu.Lock()
	b.apps[key] = a
	b.mu.Unlock()
	return a
}

// versionEnv is the environment of a command asked its version: the
// kept part of the hub's, no more.
func (b *Backend) versionEnv() []string {
	var env []string
	for _, k := range b.opts.EnvKeep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// only keeps the arguments a reads: notebook 6 takes NotebookApp.*,
// jupyter_server ServerApp.* and IdentityProvider.*.
func only(a app, args []string) []string {
	if a == bothApps {
		return args
	}
	var kept []string
	for _, arg := range args {
		nb := strings.HasPrefix(arg, "--NotebookApp.")
		srv := strings.HasPrefix(arg, "--ServerApp.") || strings.HasPrefix(arg, "--IdentityProvider.")
		if (nb && a == serverApp) || (srv && a == notebookApp) {
			continue
		}
		kept = append(kept, arg)
	}
	return kept
}

// listenArgs make Jupyter listen on the socket (a path relative to its
// working folder: a socket's address holds at most 107 bytes, the
// relative path always fits).
func listenArgs(rel string) []string {
	return []string{"--NotebookApp.sock=" + rel, "--ServerApp.sock=" + rel, "--NotebookApp.sock_mode=0600", "--ServerApp.sock_mode=0600"}
}

// Start implements spawner.Backend.
func (b *Backend) Start(ctx context.Context, req spawner.StartRequest) (spawner.Started, error) {
	if err := checkName(req.User); err != nil {
		return spawner.Started{}, err
	}
	cmdline, err := b.Command()
	if err != nil {
		return spawner.Started{}, &spawner.Failure{Message: "Jupyter is not installed on the hub's machine; tell an admin.", Err: err}
	}
	home := filepath.Join(b.opts.DataDir, "users", req.User)
	logs := filepath.Join(b.opts.DataDir, "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return spawner.Started{}, fmt.Errorf("create %s: %w", logs, err)
	}
	var acct *account
	switch b.iso {
	case ownAccounts:
		a, err := b.ensureAccount(ctx, req.User, home)
		if err != nil {
			return spawner.Started{}, &spawner.Failure{Message: "The hub could not make the OS account your server runs as; tell an admin.", Err: err}
		}
		acct = &a
	case oneUser:
		if other := b.otherUser(req.User); other != "" {
			return spawner.Started{}, &spawner.Failure{
				Message: "This hub runs servers under its own OS account, so only one person can have a server here, and someone else has; an admin can run the hub as root to give everyone an account of their own.",
				Err:     fmt.Errorf("%s already ran a server here (not root, no --local-shared-account)", other),
				Refused: true,
			}
		}
	}
	if err := b.prepareHome(home, acct); err != nil {
		return spawner.Started{}, fmt.Errorf("prepare the home of %s: %w", req.User, err)
	}
	logPath := filepath.Join(logs, req.User+".log")
	b.capLog(logPath)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return spawner.Started{}, fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close()
	sock := filepath.Join(home, socketName)
	// A socket left by an earlier server would answer nothing; Jupyter
	// replaces it, and the probe waits for the new one.
	if note := notApplied(req.Spec); note != "" {
		req.Report(note)
	}
	req.Report("Starting Jupyter")
	jargs := append(append(b.Args(req.BaseURL), spawner.DefaultURLArgs(req.Spec.DefaultURL)...), listenArgs(socketName)...)
	args := append(append([]string{}, cmdline[1:]...), only(b.appOf(cmdline), jargs)...)
	cmd := exec.Command(cmdline[0], args...)
	cmd.Dir = home
	cmd.Env = b.environ(req, home, sock, acct)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, and deliberately no Pdeathsig: the hub
	// exiting must not take servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	runAs := "the hub's account"
	if acct != nil {
		// No supplementary groups; a uid other than 0 holds no
		// capabilities.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: []uint32{}}
		runAs = "account " + acct.Name
	}
	fmt.Fprintf(logf, "[sparkhub] %s starting %s for %s as %s\n", time.Now().UTC().Format(time.RFC3339), cmdline[0], req.User, runAs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "[sparkhub] could not start: %v\n", err)
		why := "it could not be run"
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound):
			why = "it does not exist"
		case errors.Is(err, fs.ErrPermission) && acct != nil:
			why = "the servers' accounts may not run it"
		case errors.Is(err, fs.ErrPermission):
			why = "it may not be run"
		}
		return spawner.Started{}, &spawner.Failure{
			Message: "The hub's command for Jupyter servers is wrong (" + why + "); tell an admin.",
			Err:     fmt.Errorf("start %s: %w", cmdline[0], err),
		}
	}
	pid := cmd.Process.Pid
	ticks, _ := startTicks(pid)
	st := state{PID: pid, StartTicks: ticks, BootID: bootID(), Socket: sock, Log: logPath}
	if acct != nil {
		st.UID = &acct.UID
	}
	id := fmt.Sprintf("local-%d-%d", pid, ticks)
	c := &child{exited: make(chan struct{})}
	b.mu.Lock()
	b.children[id] = c
	b.mu.Unlock()
	go b.reap(cmd, c)
	raw, _ := json.Marshal(st)
	h := spawner.Handle{Backend: Name, ID: id, State: raw}
	if ctx.Err() != nil {
		b.Stop(context.Background(), h, 0)
		return spawner.Started{}, ctx.Err()
	}
	b.log.Info("local server started", "user", req.User, "pid", pid, "as", runAs, "cmd", cmdline[0])
	return spawner.Started{Handle: h, Target: spawner.SocketTarget(sock)}, nil
}

// prepareHome makes the server's home: the account's alone when it has
// one, with the folder of its socket inside.
func (b *Backend) prepareHome(home string, acct *account) error {
	if err := os.MkdirAll(filepath.Dir(home), 0o711); err != nil {
		return err
	}
	if acct != nil {
		if err := ownHome(home, *acct); err != nil {
			return err
		}
	} else if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	dir := filepath.Join(home, filepath.Dir(socketName))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if acct != nil {
		// Through the home's root: the folder is the account's.
		root, err := os.OpenRoot(home)
		if err != nil {
			return err
		}
		defer root.Close()
		return root.Lchown(filepath.Dir(socketName), int(acct.UID), int(acct.GID))
	}
	return nil
}

// otherUser is a user other than name who has a home here: whoever ran
// a server on this hub before, when only one may.
func (b *Backend) otherUser(name string) string {
	entries, _ := os.ReadDir(filepath.Join(b.opts.DataDir, "users"))
	for _, e := range entries {
		if e.IsDir() && e.Name() != name {
			return e.Name()
		}
	}
	return ""
}

func (b *Backend) reap(cmd *exec.Cmd, c *child) {
	err := cmd.Wait()
	st := spawner.Status{ExitCode: cmd.ProcessState.ExitCode()}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		st.Reason = "it was killed (signal 9), most often because the machine ran out of memory"
	case ok && ws.Signaled():
		st.Reason = "it was ended by signal " + strconv.Itoa(int(ws.Signal())) + " (" + ws.Signal().String() + ")"
	case err != nil && st.ExitCode < 0:
		st.Reason = "it ended: " + err.Error()
	default:
		st.Reason = "it exited with status " + strconv.Itoa(st.ExitCode)
	}
	c.status = st
	close(c.exited)
}

// notApplied is the sentence a start reports when its spec asks for
// what a local process does not get (CPUs, memory, GPUs, an image, Spark
// settings), or "": the profile's environment is all a local server
// takes of it.
func notApplied(spec spawner.Spec) string {
	var unmet []string
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	if spec.CPUs > 0 {
		unmet = append(unmet, num(spec.CPUs)+" CPUs")
	}
	if spec.Mem > 0 {
		unmet = append(unmet, num(spec.Mem)+" MiB of memory")
	}
	if spec.GPUs > 0 {
		unmet = append(unmet, num(spec.GPUs)+" GPUs")
	}
	if spec.Image != "" {
		unmet = append(unmet, "the image "+spec.Image)
	}
	if len(spec.Spark) > 0 {
		unmet = append(unmet, "its Spark settings")
	}
	if len(unmet) == 0 {
		return ""
	}
	return "This hub runs servers as processes on its own machine, so the profile's " + strings.Join(unmet, ", ") + " are not applied; its environment is."
}

// environ is the server's environment: the kept part of the hub's, the
// configured extras, the profile's, the hook's, then sparkhub's own
// variables and the home with Jupyter's and IPython's folders in it.
func (b *Backend) environ(req spawner.StartRequest, home, sock string, acct *account) []string {
	env := map[string]string{}
	for _, k := range b.opts.EnvKeep {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range b.opts.Env {
		env[k] = v
	}
	for k, v := range req.Spec.Env {
		env[k] = v
	}
	for k, v := range req.Env {
		env[k] = v
	}
	if p := b.opts.PythonPath; p != "" {
		if old := env["PYTHONPATH"]; old != "" {
			p += string(os.PathListSeparator) + old
		}
		env["PYTHONPATH"] = p
	}
	env["HOME"] = home
	env["JUPYTER_CONFIG_DIR"] = filepath.Join(home, ".jupyter")
	env["JUPYTER_DATA_DIR"] = filepath.Join(home, ".local", "share", "jupyter")
	env["JUPYTER_RUNTIME_DIR"] = filepath.Join(home, ".local", "share", "jupyter", "runtime")
	env["IPYTHONDIR"] = filepath.Join(home, ".ipython")
	name := b.hubAccount
	if acct != nil {
		name = acct.Name
	}
	if name != "" {
		env["USER"], env["LOGNAME"] = name, name
	}
	for k, v := range spawner.HubEnv(req.User) {
		env[k] = v
	}
	env["SPARKHUB_USER"] = req.User
	env["SPARKHUB_SOCKET"] = sock
	env["SPARKHUB_BASE_URL"] = req.BaseURL
	env["JUPYTER_TOKEN"] = req.Token
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func checkName(user string) error {
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, "/\\\x00") {
		return fmt.Errorf("user name %q cannot name a folder", user)
	}
	return nil
}

func parseState(h spawner.Handle) (state, error) {
	var st state
	if h.Backend != Name {
		return st, spawner.ErrGone
	}
	if err := json.Unmarshal(h.State, &st); err != nil || st.PID <= 0 {
		return st, spawner.ErrGone
	}
	return st, nil
}

func (b *Backend) child(h spawner.Handle) *child {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.children[h.ID]
}

// alive reports whether the process behind the handle runs and is the
// one that was started.
func (b *Backend) alive(h spawner.Handle, st state) bool {
	if c := b.child(h); c != nil {
		select {
		case <-c.exited:
			return false
		default:
			return true
		}
	}
	return sameProcess(st)
}

// Recover implements spawner.Backend: the pid runs, was started at the
// recorded time since the same boot, and leads its own process group.
// Whether it answers is the manager's check.
func (b *Backend) Recover(_ context.Context, h spawner.Handle) error {
	st, err := parseState(h)
	if err != nil {
		return err
	}
	if !b.alive(h, st) {
		return spawner.ErrGone
	}
	if pgid, err := syscall.Getpgid(st.PID); err != nil || pgid != st.PID {
		return spawner.ErrGone
	}
	b.log.Info("local server recovered", "pid", st.PID)
	return nil
}

// Status implements spawner.Backend.
func (b *Backend) Status(_ context.Context, h spawner.Handle) (spawner.Status, error) {
	st, err := parseState(h)
	if err != nil {
		return spawner.Status{}, err
	}
	if c := b.child(h); c != nil {
		select {
		case <-c.exited:
			return c.status, nil
		default:
			return spawner.Status{Running: true}, nil
		}
	}
	if sameProcess(st) {
		return spawner.Status{Running: true}, nil
	}
	return spawner.Status{ExitCode: -1, Reason: "its process is gone"}, nil
}

// Stop implements spawner.Backend: SIGTERM to the process group, SIGKILL
// to it after the grace period (and to whatever of the group is left once
// the server exited: kernels).
func (b *Backend) Stop(ctx context.Context, h spawner.Handle, grace time.Duration) error {
	st, err := parseState(h)
	if err != nil {
		return nil
	}
	if !b.alive(h, st) {
		b.endAccount(st)
		return nil
	}
	// Signal the group the server leads; should it have left its group,
	// only the server itself.
	target := -st.PID
	if pgid, err := syscall.Getpgid(st.PID); err == nil && pgid != st.PID {
		target = st.PID
	}
	if err := syscall.Kill(target, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal server: %w", err)
	}
	b.waitGone(ctx, h, st, grace)
	syscall.Kill(target, syscall.SIGKILL)
	if !b.waitGone(ctx, h, st, 10*time.Second) {
		return fmt.Errorf("server process %d survived SIGKILL", st.PID)
	}
	b.endAccount(st)
	b.log.Info("local server stopped", "pid", st.PID)
	return nil
}

// endAccount ends whatever the server's own account still runs once the
// server is gone.
func (b *Backend) endAccount(st state) {
	if st.UID != nil && *st.UID != 0 && b.iso == ownAccounts {
		endAccount(*st.UID)
	}
}

// waitGone waits up to d for the process to go; it reports whether it went.
func (b *Backend) waitGone(ctx context.Context, h spawner.Handle, st state, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var exited <-chan struct{}
	if c := b.child(h); c != nil {
		exited = c.exited
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if !b.alive(h, st) {
			return true
		}
		select {
		case <-exited:
			return true
		case <-tick.C:
		case <-deadline.C:
			return !b.alive(h, st)
		case <-ctx.Done():
			return !b.alive(h, st)
		}
	}
}

// Wait implements spawner.Waiter. It also keeps the server's log under
// its cap while the server runs.
func (b *Backend) Wait(ctx context.Context, h spawner.Handle) <-chan struct{} {
	ch := make(chan struct{})
	st, err := parseState(h)
	go func() {
		defer close(ch)
		if err != nil {
			return
		}
		var exited <-chan struct{}
		if c := b.child(h); c != nil {
			exited = c.exited
		}
		poll := time.NewTicker(time.Second)
		defer poll.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-exited:
				return
			case <-poll.C:
			}
			if exited == nil && !sameProcess(st) {
				return
			}
			if n%10 == 0 {
				b.capLog(st.Log)
			}
		}
	}()
	return ch
}

// LogTail implements spawner.LogTailer.
func (b *Backend) LogTail(_ context.Context, h spawner.Handle, n int) ([]string, error) {
	st, err := parseState(h)
	if err != nil {
		return nil, err
	}
	return tail(st.Log, n)
}

// tail returns the last n lines of the file, reading at most its last
// 64 KiB.
func tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-window, 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil, err
	}
	text := strings.TrimRight(string(buf), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first may be cut
	}
	return lines[max(0, len(lines)-n):], nil
}

// capLog moves a log past MaxLogSize to .log.1 by copying and truncating
// it in place: the server holds it open in append mode and keeps writing
// at the new end.
func (b *Backend) capLog(path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() <= b.opts.MaxLogSize {
		return
	}
	src, err := os.Open(path)
	if err != nil {
		return
	}
	defer src.Close()
	dst, err := os.OpenFile(path+".1", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	// Keep the newest MaxLogSize bytes of what is there.
	if _, err := src.Seek(-b.opts.MaxLogSize, io.SeekEnd); err == nil {
		io.Copy(dst, src)
	}
	dst.Close()
	if err := os.Truncate(path, 0); err != nil {
		b.log.Warn("truncate server log", "path", path, "err", err)
	}
}
