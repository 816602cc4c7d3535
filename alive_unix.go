//go:build unix

package httppool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// livenessProbe checks an idle connection's socket without blocking and
// without consuming anything. It is made once per connection so that a
// check allocates nothing.
type livenessProbe struct {
	state peerStater // instead of the socket, for a connection that is not one
	raw   syscall.RawConn
	peek  func(fd uintptr) bool
	n     int
	err   error
}

// newLivenessProbe returns a probe for nc's socket (under TLS, the TCP
// socket), or nil when nc is not a socket (an in-memory connection, say)
// nor a peerStater: nothing then reaches it unseen but what is already in
// its buffers.
func newLivenessProbe(nc net.Conn) *livenessProbe {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if s, ok := nc.(peerStater); ok {
		return &livenessProbe{state: s}
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
	p.n, _, p.err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return true // never wait for readability
}

// check reports closeReasonServerClosed when the peer closed or reset the
// connection, closeReasonUnsolicited when bytes wait in the socket that no
// request asked for, and closeReasonNone when the socket is quiet.
func (p *livenessProbe) check() closeReason {
	if p == nil {
		return closeReasonNone
	}
	if p.state != nil {
		return checkState(p.state)
	}
	if err := p.raw.Read(p.peek); err != nil {
		return closeReasonServerClosed
	}
	switch {
	case errors.Is(p.err, syscall.EAGAIN), errors.Is(p.err, syscall.EWOULDBLOCK), errors.Is(p.err, syscall.EINTR):
		return closeReasonNone
	case p.err == nil && p.n > 0:
		return closeReasonUnsolicited
	}
	return closeReasonServerClosed // EOF or a socket error
}
