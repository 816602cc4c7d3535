package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ErrHeaderTooLarge is returned by ReadHead when the status line and header
// block of a response exceed maxHeaderBytes.
var ErrHeaderTooLarge = errors.New("httppool: response header too large")

// ErrTrailerTooLarge is returned by ChunkedReader.Read when the trailer
// section of a chunked body exceeds its limit.
var ErrTrailerTooLarge = errors.New("httppool: chunked trailer too large")

// ProtocolError reports a response that breaks HTTP/1.1 syntax or framing.
// A connection that produced one must not be reused.
type ProtocolError struct {
	// Msg describes the problem, e.g. `malformed status line "foo"`.
	Msg string
	// Err is the underlying cause, such as io.ErrUnexpectedEOF, or nil.
	Err error
}

// Error returns Msg with the package's "httppool: " prefix.
func (e *ProtocolError) Error() string { return "httppool: " + e.Msg }

// Unwrap returns Err, so that errors.Is(err, io.ErrUnexpectedEOF) works.
func (e *ProtocolError) Unwrap() error { return e.Err }

// maxQuoted bounds how much of the offending input an error message quotes.
const maxQuoted = 80

// protoErr returns a ProtocolError whose message quotes the start of b.
func protoErr(format string, b []byte) error {
	if len(b) > maxQuoted {
		b = b[:maxQuoted]
	}
	return &ProtocolError{Msg: fmt.Sprintf(format, b)}
}

// truncated returns the error for input that ended inside what.
func truncated(what string) error {
	return &ProtocolError{Msg: "unexpected EOF in " + what, Err: io.ErrUnexpectedEOF}
}

// quote quotes s for an error message, shortened to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		s = s[:maxQuoted]
	}
	return strconv.Quote(s)
}
