//go:build !unix

package httppool

import "net"

// peekClosed has no portable non-blocking peek here; stale connections are
// caught by the retry policy instead.
func peekClosed(nc net.Conn) bool { return false }
