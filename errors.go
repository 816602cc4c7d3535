package httppool

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by RoundTrip once the Transport is closed or shutting down.
var ErrClosed = errors.New("httppool: transport closed")

// ErrServerClosedIdle reports that a pooled connection had been closed by the
// server while it was idle: the request met end-of-file or a reset before any
// byte of the response. RoundTrip retries such requests when it is safe, so
// callers see it only when it was not (see ConnError).
var ErrServerClosedIdle = errors.New("httppool: server closed idle connection")

// ErrBodyClosed is returned by a response body's Read after Close.
var ErrBodyClosed = errors.New("httppool: read on closed response body")

// ErrResponseHeaderTimeout is returned when Config.ResponseHeaderTimeout
// passes before the response's header arrives. It is a net.Error whose
// Timeout method reports true.
var ErrResponseHeaderTimeout error = timeoutError{"httppool: timeout awaiting response headers"}

// ConnError describes a request that failed on its connection. It carries
// what a caller needs to decide whether to retry: whether the connection came
// from the pool, how long it had been idle, and whether any byte of the
// request reached it.
type ConnError struct {
	// Err is the underlying error.
	Err error
	// Reused reports whether the connection had served an earlier request.
	Reused bool
	// IdleTime is how long the connection had been idle in the pool, zero
	// for a new connection.
	IdleTime time.Duration
	// RequestWritten reports whether any byte of the request was written to
	// the connection; if not, the server cannot have acted on it.
	RequestWritten bool
	// ServerClosedIdle reports that the failure looks like the server having
	// closed the idle connection: end-of-file or a reset before any response byte.
	ServerClosedIdle bool
}

func (e *ConnError) Error() string {
	written := "not written"
	if e.RequestWritten {
		written = "written"
	}
	if !e.Reused {
		return fmt.Sprintf("httppool: new connection failed (request %s): %v", written, e.Err)
	}
	return fmt.Sprintf("httppool: reused connection (idle %v) failed (request %s): %v", e.IdleTime, written, e.Err)
}

// Unwrap returns the underlying error and, when the server closed the idle
// connection, ErrServerClosedIdle, so that errors.Is works with either.
func (e *ConnError) Unwrap() []error {
	if e.ServerClosedIdle {
		return []error{ErrServerClosedIdle, e.Err}
	}
	return []error{e.Err}
}

// timeoutError is a net.Error that reports a timeout.
type timeoutError struct{ msg string }

func (e timeoutError) Error() string   { return e.msg }
func (e timeoutError) Timeout() bool   { return true }
func (e timeoutError) Temporary() bool { return true }
