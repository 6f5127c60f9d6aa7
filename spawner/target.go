package spawner

import (
	"context"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// socketHostSuffix ends the host of a target that is a Unix socket: the
// reserved top-level domain .invalid, which no resolver answers, so such
// a host can never reach the network by mistake.
const socketHostSuffix = ".sock.invalid"

// SocketTarget is the target of a server listening on the Unix socket at
// path (absolute): an http URL whose host encodes the path. Each socket
// has a host of its own, so pooled connections never mix servers;
// Dial (and Transport) reach it.
func SocketTarget(path string) *url.URL {
	return &url.URL{Scheme: "http", Host: hex.EncodeToString([]byte(path)) + socketHostSuffix}
}

// SocketPath is the Unix socket a target's host (with or without a port)
// names, and whether it names one.
func SocketPath(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	enc, ok := strings.CutSuffix(host, socketHostSuffix)
	if !ok {
		return "", false
	}
	raw, err := hex.DecodeString(enc)
	if err != nil || len(raw) == 0 || raw[0] != '/' {
		return "", false
	}
	return string(raw), true
}

// dialTimeout bounds connecting to a server; a server that does not
// accept within it is not answering.
const dialTimeout = 10 * time.Second

// maxSocketPath is the longest path a Unix socket address holds.
const maxSocketPath = 107

// Dial connects to a server's address: the Unix socket a SocketTarget's
// host names, else over TCP. It is the DialContext of every client that
// reaches servers (the readiness probe, the proxy, the websocket relay).
func Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	path, ok := SocketPath(addr)
	if !ok {
		return d.DialContext(ctx, network, addr)
	}
	// A socket's address holds at most maxSocketPath bytes.
	if len(path) <= maxSocketPath {
		return d.DialContext(ctx, "unix", path)
	}
	return dialLongSocket(ctx, &d, path)
}

// ServerListener listens where the hub told a server it started to: on
// the Unix socket SPARKHUB_SOCKET (a local server), else on
// 127.0.0.1:SPARKHUB_PORT. The socket's path is taken relative to the
// working folder, as Jupyter is told: a socket's address holds at most
// 107 bytes, and the relative path always fits. For the stand-ins of
// Jupyter that tests and benchmarks run.
func ServerListener() (net.Listener, error) {
	network, addr := "tcp", "127.0.0.1:"+os.Getenv("SPARKHUB_PORT")
	if sock := os.Getenv("SPARKHUB_SOCKET"); sock != "" {
		network, addr = "unix", sock
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, sock); err == nil {
				addr = rel
			}
		}
		os.Remove(addr)
	}
	return net.Listen(network, addr)
}
