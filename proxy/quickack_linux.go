package proxy

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge what arrives on c at once rather
// than after the delayed-ACK timer (up to 40 ms). Jupyter's server
// (tornado) writes a websocket reply in more than one small segment with
// Nagle's algorithm on, so the second segment waits for the ACK of the
// first: without this every kernel round trip costs ~40 ms. Linux drops
// quick-ack mode on its own, so it is set again before every read.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
