//go:build !linux

package spawner

import (
	"context"
	"fmt"
	"net"
)

func dialLongSocket(_ context.Context, _ *net.Dialer, path string) (net.Conn, error) {
	return nil, fmt.Errorf("the server's socket path %q is longer than %d bytes", path, maxSocketPath)
}
