package spawner

import (
	"errors"
	"fmt"
	"time"
)

// State is where a server is in its lifecycle, as stored in hub_servers.
type State string

// The states. A server starts Stopped, goes to Spawning when started,
// Running once it answers, Stopping when asked to stop, and back to
// Stopped (with a reason). A spawn that fails or times out ends in
// Failed. Stopped and Failed servers may be started again.
const (
	Stopped  State = "stopped"
	Spawning State = "spawn-pending"
	Running  State = "running"
	Stopping State = "stop-pending"
	Failed   State = "failed"
)

// Live reports whether the state holds a server (or a claim to one).
func (s State) Live() bool { return s == Spawning || s == Running || s == Stopping }

// Pending is JupyterHub's "pending" field: "spawn", "stop" or "" (null).
func (s State) Pending() string {
	switch s {
	case Spawning:
		return "spawn"
	case Stopping:
		return "stop"
	}
	return ""
}

// Model is one user's default server as the REST API and pages show it.
type Model struct {
	User    string
	State   State
	Ready   bool   // Running and answering: JupyterHub's "ready"
	Pending string // "spawn", "stop" or "" (JSON null)
	URL     string // "/user/{name}/"
	Profile string
	// Started is when the last start was requested; nil if never.
	Started *time.Time
	// LastActivity is the last proxied request or busy kernel seen; nil
	// if none yet.
	LastActivity *time.Time
	// Stopped is when the server last stopped or failed, StopReason why,
	// as a sentence for the user ("Your server was stopped after 1h0m0s
	// without activity."). Both are kept until the next start.
	Stopped    *time.Time
	StopReason string
	// BusyKernels is how many of the server's kernels the relay last saw
	// busy (iopub status) and still counts (see KernelBusyTrust), from
	// memory.
	BusyKernels int
	// Spark is the Spark application running in the server as last read
	// (ReadSpark), nil when none: for the pages and metrics.
	Spark *SparkApp
	// LogTail is the server's last lines of output: for admins only. Set
	// by Server (live for a running server, as kept for a failed or
	// stopped one); Servers leaves it empty.
	LogTail []string
}

// Event is one progress event in JupyterHub's shape, sent as
// "data: <json>" on /hub/api/users/{name}/server/progress. The stream
// ends after an event with Ready or Failed set.
type Event struct {
	Progress    int    `json:"progress"`
	Message     string `json:"message"`
	HTMLMessage string `json:"html_message,omitempty"`
	Ready       bool   `json:"ready,omitempty"`
	Failed      bool   `json:"failed,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Errors the manager returns; the hub maps them to status codes.
var (
	// ErrNoUser: no user of that name (404).
	ErrNoUser = errors.New("no such user")
	// ErrAlreadyRunning: start asked while the server runs (400).
	ErrAlreadyRunning = errors.New("server is already running")
	// ErrPending: start asked while a start or stop is under way (400).
	ErrPending = errors.New("server has a start or stop pending")
	// ErrNotRunning: stop asked while nothing runs (400); also Progress
	// for a server that is neither starting, ready nor just failed.
	ErrNotRunning = errors.New("server is not running")
	// ErrNoServer is activity reported for a server the user never had.
	ErrNoServer = errors.New("no such server")
	// ErrTooManySpawns: ConcurrentSpawnLimit servers are starting (429
	// with Retry-After; see LimitError).
	ErrTooManySpawns = errors.New("too many servers are starting; try again in a minute")
	// ErrActiveLimit: ActiveServerLimit servers are active (429 with
	// Retry-After; see LimitError).
	ErrActiveLimit = errors.New("the hub is running as many servers as it may; try again in a few minutes")
	// ErrSpawnFailed: the start failed while the caller waited; the
	// error is a SpawnError whose Reason is a sentence for the user.
	ErrSpawnFailed = errors.New("server failed to start")
	// ErrClosed: the manager was closed.
	ErrClosed = errors.New("spawner manager is closed")
)

// LimitError is returned when a limit refuses a start. It matches
// ErrTooManySpawns or ErrActiveLimit with errors.Is; RetryAfter is what
// to put in the Retry-After header.
type LimitError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *LimitError) Error() string { return e.Err.Error() }
func (e *LimitError) Unwrap() error { return e.Err }

// SpawnError is returned by Start when the spawn failed while the caller
// waited. Reason is a plain sentence for the user; Refused, that the
// backend will not run the server as the hub is set up (Failure.Refused).
type SpawnError struct {
	Reason  string
	Refused bool
}

func (e *SpawnError) Error() string        { return fmt.Sprintf("%v: %s", ErrSpawnFailed, e.Reason) }
func (e *SpawnError) Is(target error) bool { return target == ErrSpawnFailed }
