package httppool

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/httppool/httppool/internal/wire"
)

// The errors of the Transport are one vocabulary for every protocol: the
// same failure gives the same error over HTTP/1.1, HTTP/2 and HTTP/3.
//
//   - A request that failed on its connection returns a *ConnError, which
//     says whether the connection was reused and whether the request was
//     written, and wraps the cause.
//   - A response that breaks its protocol is a *ProtocolError (for example
//     a malformed HTTP/1.1 status line or an HTTP/2 frame that violates the
//     specification); an oversized header also matches ErrResponseHeaderTooLarge.
//   - A stream the server reset is a *StreamResetError with the server's
//     error code; a connection the server shut down with GOAWAY before it
//     processed the request is a *GoAwayError.
//   - Timeouts are net.Error values whose Timeout method reports true.
//   - A response body read after Close returns ErrBodyClosed.

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

// ErrResponseHeaderTooLarge is the cause, inside a *ProtocolError, of a
// response whose header (or trailer) exceeds Config.MaxResponseHeaderBytes,
// counted as the header is read: over HTTP/2, the size of the decoded
// fields, so that a small compressed block cannot expand without bound.
var ErrResponseHeaderTooLarge = wire.ErrHeaderTooLarge

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

// Timeout reports whether the underlying error is a timeout, so that a
// *url.Error wrapping a ConnError says so too.
func (e *ConnError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// ProtocolError reports a response that breaks the rules of its protocol:
// over HTTP/1.1 a malformed status line, header or body framing; over HTTP/2
// a frame, header block or flow-control window the specification forbids,
// or a peer that exceeds the limits the Transport sets (a header over
// Config.MaxResponseHeaderBytes, a flood of control frames). The connection
// it arrived on is closed, never reused.
type ProtocolError struct {
	// Proto is the protocol of the connection: "HTTP/1.1", "HTTP/2.0" or
	// "HTTP/3.0".
	Proto string
	// Code is the HTTP/2 or HTTP/3 error code that the client sent the
	// server as it closed the connection or the stream (HTTP/2's
	// PROTOCOL_ERROR is 1, HTTP/3's codes start at 0x100), or zero.
	Code uint64
	// Err describes the violation; errors.Is reaches its cause, such as
	// ErrResponseHeaderTooLarge or io.ErrUnexpectedEOF.
	Err error
}

func (e *ProtocolError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "httppool: ")
	if e.Code != 0 {
		return fmt.Sprintf("httppool: %s protocol error (%s): %s", e.Proto, errCodeName(e.Code), msg)
	}
	return fmt.Sprintf("httppool: %s protocol error: %s", e.Proto, msg)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// StreamResetError reports that the server reset the request's stream
// (HTTP/2 RST_STREAM, HTTP/3 RESET_STREAM or STOP_SENDING) with an error
// code. A request whose stream the server refused (HTTP/2 REFUSED_STREAM,
// HTTP/3 H3_REQUEST_REJECTED) was not processed and is sent again by
// RoundTrip when Config.MaxRetries allows.
type StreamResetError struct {
	// Proto is the protocol of the connection: "HTTP/2.0" or "HTTP/3.0".
	Proto string
	// Code is the error code the server sent, such as 7 (REFUSED_STREAM)
	// or 8 (CANCEL), or over HTTP/3 0x10b (H3_REQUEST_REJECTED).
	Code uint64
}

func (e *StreamResetError) Error() string {
	return fmt.Sprintf("httppool: server reset the %s stream: %s", e.Proto, errCodeName(e.Code))
}

// GoAwayError reports that the server shut the connection down with GOAWAY
// before it processed the request, or closed it after a GOAWAY with an
// error code while the request was in flight. A request the server did not
// process is sent again by RoundTrip on another connection when its body
// can be replayed; this error is returned when it could not be.
type GoAwayError struct {
	// Proto is the protocol of the connection: "HTTP/2.0" or "HTTP/3.0".
	Proto string
	// Code is the GOAWAY's error code; zero (NO_ERROR) is a graceful
	// shutdown. An HTTP/3 GOAWAY carries no code: it is zero.
	Code uint64
	// LastStreamID is the last stream the server said it may process;
	// zero over HTTP/3, whose QUIC implementation does not tell it.
	LastStreamID uint64
	// Debug is the debug data the server sent, if any.
	Debug string
}

func (e *GoAwayError) Error() string {
	s := fmt.Sprintf("httppool: server sent GOAWAY (%s, last stream %d)", errCodeName(e.Code), e.LastStreamID)
	if e.Debug != "" {
		s += fmt.Sprintf(": %q", e.Debug)
	}
	return s
}

// errCodeNames are the HTTP/2 error codes (RFC 9113 section 7).
var errCodeNames = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// h3ErrCodeNames are the HTTP/3 error codes from 0x100 (RFC 9114 section
// 8.1); they do not overlap HTTP/2's, so one lookup serves both.
var h3ErrCodeNames = [...]string{
	"H3_NO_ERROR", "H3_GENERAL_PROTOCOL_ERROR", "H3_INTERNAL_ERROR",
	"H3_STREAM_CREATION_ERROR", "H3_CLOSED_CRITICAL_STREAM", "H3_FRAME_UNEXPECTED",
	"H3_FRAME_ERROR", "H3_EXCESSIVE_LOAD", "H3_ID_ERROR", "H3_SETTINGS_ERROR",
	"H3_MISSING_SETTINGS", "H3_REQUEST_REJECTED", "H3_REQUEST_CANCELLED",
	"H3_REQUEST_INCOMPLETE", "H3_MESSAGE_ERROR", "H3_CONNECT_ERROR",
	"H3_VERSION_FALLBACK",
}

func errCodeName(code uint64) string {
	if code < uint64(len(errCodeNames)) {
		return errCodeNames[code]
	}
	if code >= h3NoError && code-h3NoError < uint64(len(h3ErrCodeNames)) {
		return h3ErrCodeNames[code-h3NoError]
	}
	return fmt.Sprintf("error code 0x%x", code)
}

// timeoutError is a net.Error that reports a timeout.
type timeoutError struct{ msg string }

func (e timeoutError) Error() string   { return e.msg }
func (e timeoutError) Timeout() bool   { return true }
func (e timeoutError) Temporary() bool { return true }
