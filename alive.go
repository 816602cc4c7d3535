package httppool

// peerStater is implemented by connections that are not sockets but can
// tell, without blocking or consuming anything, whether their peer closed
// or reset them and whether bytes wait to be read: the TCP-like in-memory
// connections of internal/memnet, so that tests in a testing/synctest
// bubble see the liveness check a socket gets. A connection that is
// neither a socket nor a peerStater is not checked.
type peerStater interface {
	PeerState() (closed, pending bool)
}

// checkState reports for s what the liveness probe reports for a socket.
func checkState(s peerStater) closeReason {
	switch closed, pending := s.PeerState(); {
	case pending:
		return closeReasonUnsolicited
	case closed:
		return closeReasonServerClosed
	}
	return closeReasonNone
}
