//go:build !unix

package httppool

import "net"

// livenessProbe has no portable non-blocking peek here: stale connections
// are caught by the retry policy instead.
type livenessProbe struct{}

func newLivenessProbe(net.Conn) *livenessProbe { return nil }

func (*livenessProbe) closed() bool { return false }
