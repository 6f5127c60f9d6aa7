// Package spawner starts, watches, stops, culls and recovers users' Jupyter
// servers. A Backend runs the servers (as local processes, or as Mesos
// tasks); the Manager owns their lifecycle: one goroutine per server, its
// state persisted in hub_servers, readiness by polling the server's API,
// limits, progress events, the idle culler, and recovery after a hub
// restart. Stopping the hub never stops a server.
package spawner

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// A Handle names one started server to its backend. It is saved in the
// database right after Start returns, and given back to the backend's
// Recover, Status and Stop, possibly by another hub process after a
// restart, so State must hold everything the backend needs (a pid and its
// start time, a Mesos task id, ...). It must hold no secret: it is stored
// in clear.
type Handle struct {
	Backend string // the Name of the backend that made it
	ID      string // unique within the backend
	State   []byte // backend-private, opaque to the manager
}

// StartRequest is what a backend needs to start one user's server.
type StartRequest struct {
	User string // the user's name
	// Profile names the profile the user picked ("" for the default): a
	// label for the server (Mesos counts a profile's servers as one group
	// for its constraints), never looked up. What the profile gives is
	// Spec.
	Profile string
	// Spec is the profile, resolved by the manager.
	Spec    Spec
	BaseURL string // "/user/{name}/": the server serves everything under it
	// Token is the server's own token, given to it as JUPYTER_TOKEN and
	// never on a command line or in a log. A Bootstrapper gets none:
	// its server fetches it (see Bootstrapper).
	Token string
	// Env is extra environment for the server (SPARKHUB_CONTENTS_URL,
	// SPARKHUB_CONTENTS_TOKEN, ...; for a Bootstrapper, only
	// BootstrapURLEnv and BootstrapCredentialEnv).
	Env map[string]string
	// Progress, when not nil, receives short sentences for the user while
	// the backend works ("Waiting for a machine with 8 GiB free").
	Progress func(message string)
}

// Report sends message to r.Progress if there is one.
func (r StartRequest) Report(message string) {
	if r.Progress != nil {
		r.Progress(message)
	}
}

// Started is what Start returns: the handle to persist and the address
// the proxy forwards to (scheme and host only; request paths, which begin
// with the base URL, are kept whole).
type Started struct {
	Handle Handle
	Target *url.URL
}

// Status is what a backend knows about a server.
type Status struct {
	Running bool
	// When not running: the exit code (-1 when unknown or killed by a
	// signal) and a phrase its user understands, starting with "it" or
	// "the" ("it exited with status 1", "it ran out of memory", "the
	// machine running it was lost"); the manager writes the sentence.
	ExitCode int
	Reason   string
}

// Backend runs Jupyter servers. Start returns once the server was launched
// and its address is known, without waiting for it to answer (the manager
// polls it). Recover checks that the server behind a handle saved by an
// earlier hub is still running and is the one that was started, and takes
// it over without restarting it; it returns ErrGone when it is not. Stop
// stops the server, waiting at most grace before forcing it, and returns
// once it is gone; stopping a server that is already gone is no error.
// Status reports whether it runs.
//
// A backend must never stop servers on its own when the hub exits, and
// must be safe for concurrent use. The context of Start bounds only the
// start itself: a server started successfully outlives it.
type Backend interface {
	Name() string
	Start(ctx context.Context, req StartRequest) (Started, error)
	Recover(ctx context.Context, h Handle) error
	Status(ctx context.Context, h Handle) (Status, error)
	Stop(ctx context.Context, h Handle, grace time.Duration) error
}

// Waiter is an optional ability of a backend: Wait returns a channel closed
// when the server exits (or ctx ends), so the manager notices exits at once
// instead of at its next Status poll.
type Waiter interface {
	Wait(ctx context.Context, h Handle) <-chan struct{}
}

// Runner is an optional ability of a backend with work of its own in the
// background (the Mesos framework's subscription): Run does it until ctx
// ends, then returns, leaving the servers running. The hub runs it
// alongside the manager, from before recovery until shutdown; a backend
// that is a Runner may not get far in Start, Recover, Status or Stop
// without it.
type Runner interface {
	Run(ctx context.Context) error
}

// LogTailer is an optional ability of a backend: the last n lines the
// server wrote, for admins.
type LogTailer interface {
	LogTail(ctx context.Context, h Handle, n int) ([]string, error)
}

// Known answers which servers the hub holds of a backend: the handles
// hub_servers keeps for it. The Manager is one.
type Known interface {
	Handles(ctx context.Context, backend string) ([]Handle, error)
}

// Reconciler is an optional ability of a backend that hears of servers
// on its own (a Mesos framework, of every task it ever launched) and
// must tell the hub's from strangers before it ends any: New hands it
// the manager to ask.
type Reconciler interface {
	SetKnown(k Known)
}

// ErrGone is returned by Recover (and may be by Status) when the server
// behind a handle no longer exists or is not the one that was started.
var ErrGone = errors.New("server is gone")

// Jupyter names the classes of the hub's Python package a server starts
// with, on any backend: what makes a Jupyter server part of the hub.
type Jupyter struct {
	// ContentsManagerClass keeps the server's files in the hub
	// ("sparkhub_contents.HubContentsManager"); empty keeps Jupyter's.
	ContentsManagerClass string
	// LogoutHandlerClass answers the server's {base_url}logout
	// ("sparkhub_contents.HubLogoutHandler" sends the browser on to the
	// hub's logout); empty keeps Jupyter's.
	LogoutHandlerClass string
	// NotebookExtensions are notebook 6 server extensions the server
	// loads ("sparkhub_contents.notebook6_hub" links every page to the
	// hub's home and answers the hub's proof); jupyter_server does not
	// read them.
	NotebookExtensions []string
	// ServerExtensions are jupyter_server extensions the server loads
	// ("sparkhub_contents.server_hub" answers the hub's proof under
	// JupyterLab and Notebook 7); notebook 6 does not read them.
	ServerExtensions []string
}

// Args are Jupyter's options for the server's base URL and these
// classes. Both the NotebookApp (notebook 6) and ServerApp
// (jupyter_server: lab, notebook 7) spellings are given; each ignores the
// other's, except that JupyterLab and Notebook 7 move NotebookApp options
// they do not know to ServerApp, so a class named in both must import
// under either Jupyter (sparkhub_contents' classes resolve to the running
// one's). The logout handler also goes to IdentityProvider, where
// jupyter_server 2 reads it (its ServerApp option only counts with a
// custom login handler).
//
// Remote access is allowed: the hub's proxy passes on the Host the
// browser asked for (the hub's public name, or the user's own origin
// under --user-subdomains), which a Jupyter listening on a loopback
// address would otherwise refuse as not local. What that check guards
// against, a web page reaching a loopback server through a name it
// controls, gains nothing here: the server answers only with its token,
// which only the hub's proxy holds.
func (j Jupyter) Args(baseURL string) []string {
	args := []string{
		"--NotebookApp.base_url=" + baseURL, "--ServerApp.base_url=" + baseURL,
		"--NotebookApp.allow_remote_access=True", "--ServerApp.allow_remote_access=True",
	}
	if c := j.ContentsManagerClass; c != "" {
		args = append(args, "--NotebookApp.contents_manager_class="+c, "--ServerApp.contents_manager_class="+c)
	}
	if c := j.LogoutHandlerClass; c != "" {
		args = append(args, "--NotebookApp.logout_handler_class="+c, "--ServerApp.logout_handler_class="+c, "--IdentityProvider.logout_handler_class="+c)
	}
	for _, e := range j.NotebookExtensions {
		args = append(args, "--NotebookApp.nbserver_extensions="+e+"=True")
	}
	for _, e := range j.ServerExtensions {
		args = append(args, "--ServerApp.jpserver_extensions="+e+"=True")
	}
	return args
}

// DefaultURLArgs are Jupyter's options, in both spellings, for the page
// a server opens on (Spec.DefaultURL); none for "".
func DefaultURLArgs(u string) []string {
	if u == "" {
		return nil
	}
	return []string{"--NotebookApp.default_url=" + u, "--ServerApp.default_url=" + u}
}

// HubEnv is what a server's single-user side (sparkhub_contents) reads,
// under JupyterHub's names, to lead its pages back to the hub: its
// owner, its name ("": the user's one server) and where the hub is
// served ("/": the hub's pages under /hub/). Every backend gives it;
// none of it is secret.
func HubEnv(user string) map[string]string {
	return map[string]string{
		"JUPYTERHUB_USER":        user,
		"JUPYTERHUB_SERVER_NAME": "",
		"JUPYTERHUB_BASE_URL":    "/",
	}
}

// Failure is an error whose Message is a plain sentence meant for the
// user (what went wrong and what to do), such as "No machine in the
// cluster has 64 GiB free; pick a smaller profile." Backends return it
// for failures the user can act on; other errors are shown as a generic
// sentence and logged.
type Failure struct {
	Message string
	Err     error // the detail, for logs; may be nil
	// Refused says the hub will not run this server at all, as set up
	// (not something that went wrong): the caller gets a 403.
	Refused bool
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return f.Message + ": " + f.Err.Error()
	}
	return f.Message
}

func (f *Failure) Unwrap() error { return f.Err }

// Sweeper is a backend that can end a user's servers it holds no handle
// for: what a hub killed between starting a server and saving its handle
// left running. The manager calls it when it recovers such a start.
type Sweeper interface {
	Sweep(ctx context.Context, user string) error
}
