//go:build unix

package httppool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peekClosed reports whether an idle connection is no longer usable: the
// peer closed or reset it, or sent bytes nobody asked for. It peeks at the
// socket without blocking and without consuming anything.
func peekClosed(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false // not a socket (an in-memory connection, say): nothing to peek at
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		var buf [1]byte
		_, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	switch {
	case err != nil:
		return true
	case errors.Is(perr, syscall.EAGAIN) || errors.Is(perr, syscall.EWOULDBLOCK) || errors.Is(perr, syscall.EINTR):
		return false // nothing to read: alive
	default:
		return true // EOF, an error, or unsolicited data
	}
}
