package faultproxy

import "time"

// Action is what a fault does to a connection.
type Action int

const (
	// None forwards everything: the connection is not broken.
	None Action = iota
	// Reset aborts the connection with an RST to the client (SetLinger(0)
	// then Close) and closes the server's side. On an in-memory connection,
	// which has no RST, it is a Close.
	Reset
	// Close ends the connection with a FIN to the client after everything
	// before the fault was forwarded, and closes the server's side.
	Close
	// Stall forwards nothing more to the client; the connection stays open
	// and the client's bytes still reach the server.
	Stall
	// HalfClose sends a FIN to the client (CloseWrite) as a server that
	// half-closes does: the client reads end-of-file, while what it sends
	// still reaches the server. Nothing more is forwarded to the client. On
	// an in-memory connection, which cannot half-close, it is a Close.
	HalfClose
)

var actionNames = [...]string{None: "none", Reset: "reset", Close: "close", Stall: "stall", HalfClose: "half-close"}

func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return "unknown"
	}
	return actionNames[a]
}

// Phase locates a fault within one response.
type Phase int

const (
	// Head is the response's status line and header, with any informational
	// (1xx) responses before it.
	Head Phase = iota
	// Body is the response's body as sent, chunk framing included.
	Body
	// End is the moment after the response's last byte was forwarded.
	End
)

var phaseNames = [...]string{Head: "head", Body: "body", End: "end"}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return "unknown"
	}
	return phaseNames[p]
}

// Fault says where a connection breaks and how. It strikes at the first
// point of the server's byte stream at or after Offset bytes into Phase of
// the response numbered Response (from 0): Fault{Reset, 0, Head, 0} resets
// the connection before the first response's first byte, and
// Fault{Close, 1, Body, 100} closes it after the second response's header
// and 100 bytes of its body (or at its end, if the body is shorter).
//
// The proxy frames responses by Content-Length, chunked encoding, or the
// connection's end, as RFC 9112 says, assuming no request is a HEAD. On a
// stream that is not HTTP/1.1 (TLS, say) the whole stream is the first
// response's head, so Fault{Action, 0, Head, n} strikes after n bytes.
type Fault struct {
	Action   Action
	Response int
	Phase    Phase
	Offset   int64
}

// Plan is what the proxy does to one connection.
type Plan struct {
	// Fault breaks the connection; the zero Fault breaks nothing.
	Fault Fault
	// Latency delays every chunk of bytes forwarded, in both directions.
	Latency time.Duration
	// Bandwidth limits each direction to this many bytes per second;
	// zero means no limit.
	Bandwidth int
}

// Script chooses the plan of each connection the proxy accepts, numbered
// from 1 in the order they arrive. It may be called from several goroutines.
type Script func(conn int) Plan

// Always returns a Script that gives every connection the same plan.
func Always(p Plan) Script { return func(int) Plan { return p } }

// First returns a Script that gives the first connection plan p and every
// later one the zero Plan, for a test in which one connection breaks and the
// next ones must work.
func First(p Plan) Script {
	return func(n int) Plan {
		if n == 1 {
			return p
		}
		return Plan{}
	}
}
