//go:build unix

package httppool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// livenessProbe checks whether an idle connection is still usable by
// peeking at its socket without blocking and without consuming anything.
// It is made once per connection so that a check allocates nothing.
type livenessProbe struct {
	raw  syscall.RawConn
	peek func(fd uintptr) bool
	err  error
}

// newLivenessProbe returns a probe for nc's socket, or nil when nc is not a
// socket (an in-memory connection, say), which then counts as alive.
func newLivenessProbe(nc net.Conn) *livenessProbe {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &livenessProbe{raw: raw}
	p.peek = p.peekFD
	return p
}

func (p *livenessProbe) peekFD(fd uintptr) bool {
	var buf [1]byte
	_, _, p.err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return true // never wait for readability
}

// closed reports whether the peer closed or reset the connection, or sent
// bytes nobody asked for.
func (p *livenessProbe) closed() bool {
	if p == nil {
		return false
	}
	if err := p.raw.Read(p.peek); err != nil {
		return true
	}
	// EAGAIN: nothing to read, alive. A nil error is EOF or unsolicited data.
	return !errors.Is(p.err, syscall.EAGAIN) && !errors.Is(p.err, syscall.EWOULDBLOCK) && !errors.Is(p.err, syscall.EINTR)
}
