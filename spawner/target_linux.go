package spawner

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
)

// dialLongSocket reaches a socket whose path is too long for a socket
// address through its folder, opened here and named by its descriptor
// under /proc/self/fd.
func dialLongSocket(ctx context.Context, d *net.Dialer, path string) (net.Conn, error) {
	dir, base := filepath.Split(path)
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the folder of the server's socket: %w", err)
	}
	defer syscall.Close(fd)
	short := "/proc/self/fd/" + strconv.Itoa(fd) + "/" + base
	if len(short) > maxSocketPath {
		return nil, fmt.Errorf("the server's socket name %q is too long", base)
	}
	return d.DialContext(ctx, "unix", short)
}
