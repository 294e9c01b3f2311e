//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqldb

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peek tells, without reading anything, whether the server has closed c or
// has sent something on it. On an idle PostgreSQL connection nothing
// arrives unasked but a notice, or the error that ends a session (then the
// close).
func peek(c net.Conn) sockState {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return sockUnknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return sockUnknown
	}
	state := sockUnknown
	// Control, not Read: Read would first wait for the descriptor's read
	// lock, which a reader of pgx's may hold while it waits for data that
	// never comes on an idle connection (seen: the pool hung). Control
	// waits for nothing, and MSG_DONTWAIT makes recv answer at once
	// whatever the descriptor's mode.
	err = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0:
			state = sockPending
		case err == nil:
			state = sockClosed // end of stream
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
			state = sockIdle
		case errors.Is(err, syscall.EINTR):
			state = sockUnknown
		default:
			state = sockClosed // reset, or otherwise broken
		}
	})
	if err != nil {
		return sockClosed // the socket itself is closed
	}
	return state
}
