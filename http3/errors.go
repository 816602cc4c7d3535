package http3

import (
	"errors"
	"fmt"
	"strings"

	"github.com/httppool/httppool"
	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// classify describes a quic-go failure to the Transport as an
// *httppool.HTTP3Error, which it turns into its own errors; an error it
// cannot place is returned as it is.
//
// quic-go does not export the error of a request that could not open a
// stream, nor the GOAWAY that caused it, nor those of a malformed response,
// so they are matched by their text; the module's tests (GOAWAY, header
// too large) fail if that text changes.
func classify(err error) error {
	var he *httppool.HTTP3Error
	if errors.As(err, &he) {
		return err
	}
	msg := err.Error()
	if strings.HasPrefix(msg, errUnusablePrefix) {
		if strings.HasSuffix(msg, errGoAwaySuffix) {
			return &httppool.HTTP3Error{Kind: httppool.HTTP3GoAway, Err: err}
		}
		return &httppool.HTTP3Error{Kind: httppool.HTTP3Unsent, Err: errors.Unwrap(err)}
	}
	if errors.Is(err, quic.Err0RTTRejected) {
		return &httppool.HTTP3Error{Kind: httppool.HTTP3Unsent, Err: err}
	}
	var se *quic.StreamError
	if errors.As(err, &se) {
		kind := httppool.HTTP3StreamReset
		if !se.Remote {
			kind = httppool.HTTP3Malformed // the client reset it for a bad response
		}
		return &httppool.HTTP3Error{Kind: kind, Code: uint64(se.ErrorCode), Remote: se.Remote, Err: err}
	}
	var ae *quic.ApplicationError
	if errors.As(err, &ae) {
		return &httppool.HTTP3Error{Kind: httppool.HTTP3ConnClosed, Code: uint64(ae.ErrorCode), Remote: ae.Remote, Err: err}
	}
	var (
		idle *quic.IdleTimeoutError
		hs   *quic.HandshakeTimeoutError
		sr   *quic.StatelessResetError
		te   *quic.TransportError
		vn   *quic.VersionNegotiationError
	)
	if errors.As(err, &idle) || errors.As(err, &hs) || errors.As(err, &sr) || errors.As(err, &te) || errors.As(err, &vn) {
		return &httppool.HTTP3Error{Kind: httppool.HTTP3ConnLost, Err: err}
	}
	for _, m := range malformed {
		if strings.Contains(msg, m.text) {
			cause := err
			if m.tooLarge {
				cause = fmt.Errorf("%w: %v", httppool.ErrResponseHeaderTooLarge, err)
			}
			return &httppool.HTTP3Error{Kind: httppool.HTTP3Malformed, Code: uint64(m.code), Err: cause}
		}
	}
	return err
}

// The text of quic-go's errors for a request whose stream could not be
// opened, and for one refused by a GOAWAY.
const (
	errUnusablePrefix = "http3: conn unusable: "
	errGoAwaySuffix   = "connection in graceful shutdown"
)

// malformed lists quic-go's errors for a response that breaks HTTP/3's
// rules, with the code quic-go resets the stream or closes the connection with.
var malformed = []struct {
	text     string
	code     qhttp3.ErrCode
	tooLarge bool
}{
	{"HEADERS frame too large", qhttp3.ErrCodeFrameError, true},
	{"headers too large", qhttp3.ErrCodeMessageError, true},
	{"http3: invalid response", qhttp3.ErrCodeMessageError, false},
	{"expected first frame to be a HEADERS frame", qhttp3.ErrCodeFrameUnexpected, false},
	{"too many 1xx informational responses", qhttp3.ErrCodeExcessiveLoad, false},
	{"http3: parsing frame failed", qhttp3.ErrCodeFrameError, false},
}
