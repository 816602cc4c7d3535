//go:build !unix

package httppool

import (
	"crypto/tls"
	"net"
)

// livenessProbe has no portable non-blocking peek here: a close the server
// made while the connection was idle is caught by the retry policy, and
// bytes a server sent unasked are caught only once they reach the
// connection's buffers. Only a connection that is a peerStater is checked.
type livenessProbe struct{ state peerStater }

func newLivenessProbe(nc net.Conn) *livenessProbe {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if s, ok := nc.(peerStater); ok {
		return &livenessProbe{state: s}
	}
	return nil
}

func (p *livenessProbe) check() closeReason {
	if p == nil {
		return closeReasonNone
	}
	return checkState(p.state)
}
