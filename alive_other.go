//go:build !unix

package httppool

import "net"

// livenessProbe has no portable non-blocking peek here: a close the server
// made while the connection was idle is caught by the retry policy, and
// bytes a server sent unasked are caught only once they reach the
// connection's buffers.
type livenessProbe struct{}

func newLivenessProbe(net.Conn) *livenessProbe { return nil }

func (*livenessProbe) check() closeReason { return closeReasonNone }
