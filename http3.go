package httppool

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HTTP/3 runs through a plug-in, so that a program that does not use it
// does not download a QUIC implementation: the module
// github.com/httppool/httppool/http3 implements HTTP3Dialer with quic-go.
// The Transport does the rest, for every protocol alike: it learns from
// Alt-Svc response headers which origins offer HTTP/3, races QUIC against
// TCP, pools HTTP/3 connections under the origin's key beside its HTTP/1.1
// and HTTP/2 ones with the same limits, statistics, traces and errors, and
// falls back to TCP when QUIC fails.

// DefaultHTTP3RaceDelay is how long a new connection to an origin that
// offers HTTP/3 waits for QUIC before it dials TCP too, when
// HTTP3Config.RaceDelay is zero and no round-trip time was measured on the
// origin's TCP connections; Chrome and Envoy use the same.
const DefaultHTTP3RaceDelay = 300 * time.Millisecond

// HTTP3Config configures HTTP/3. HTTP/3 is off unless Dialer is set.
type HTTP3Config struct {
	// Dialer dials QUIC connections and runs HTTP/3 on them. Nil disables
	// HTTP/3. The module github.com/httppool/httppool/http3 provides one.
	//
	// With a Dialer, an https origin whose responses carry an Alt-Svc
	// header with an "h3" alternative on the same host is reached over
	// HTTP/3: new connections race QUIC against TCP (see RaceDelay), the
	// first one ready serves the request and the other is pooled too, and
	// requests prefer an HTTP/3 connection when the origin has one. Origins
	// reached through a proxy always use TCP.
	//
	// When QUIC fails while TCP works, HTTP/3 to the origin is marked
	// broken for 5 minutes, doubling on each new failure up to 48 hours;
	// meanwhile its requests use TCP at once. A request that fails on an
	// HTTP/3 connection before any response byte is resent over TCP under
	// the rules of Config.MaxRetries.
	Dialer HTTP3Dialer

	// RaceDelay is how long a new connection waits for QUIC before it dials
	// TCP as well. Zero means 1.5 times the round-trip time measured on the
	// origin's TCP connections (the time their TCP dials took), or
	// DefaultHTTP3RaceDelay when none was measured.
	RaceDelay time.Duration

	// Allow0RTT lets GET and HEAD requests without a body go in 0-RTT early
	// data on a connection that resumes a TLS session, saving a round trip.
	// Early data can be replayed by an attacker, so it is off by default;
	// turn it on only when such requests are safe to replay.
	Allow0RTT bool
}

// HTTP3Dialer dials HTTP/3 connections for a Transport. It must be safe for
// concurrent use.
type HTTP3Dialer interface {
	// DialHTTP3 dials a QUIC connection to addr ("host:port", the origin's
	// host and the alternative's port) and starts HTTP/3 on it. tlsConfig
	// is the Transport's TLS configuration with ServerName set to the
	// origin's host and NextProtos to "h3"; the dialer may modify it. It
	// returns once the connection can take requests: after the handshake,
	// or, with opts.Allow0RTT and a resumed session, once early data can
	// be sent. It honours ctx's deadline and cancellation.
	DialHTTP3(ctx context.Context, addr string, tlsConfig *tls.Config, opts HTTP3DialOptions) (HTTP3Conn, error)
}

// HTTP3DialOptions are the parts of Config that an HTTP/3 connection applies.
type HTTP3DialOptions struct {
	Allow0RTT              bool // HTTP3Config.Allow0RTT
	DisableCompression     bool // Config.DisableCompression: do not ask for gzip
	MaxResponseHeaderBytes int  // Config.MaxResponseHeaderBytes, its default applied
}

// HTTP3Conn is one HTTP/3 connection, made by an HTTP3Dialer. The
// Transport pools it and sends it up to StreamLimit requests at once.
type HTTP3Conn interface {
	// RoundTrip sends req on a new request stream and returns the response
	// once its header arrived. Its body ends the stream when read to its
	// end or closed. A failure of HTTP/3 itself is reported as an
	// *HTTP3Error, so that the Transport can tell whether the server
	// processed the request; ctx errors and others are returned as they are.
	RoundTrip(req *http.Request) (*http.Response, error)

	// StreamLimit is how many requests the connection may carry at once:
	// the server's limit on concurrent request streams, or as near to it
	// as the QUIC implementation can tell.
	StreamLimit() int

	// Context returns a context that is cancelled when the connection
	// closes, by either side or by a failure; its cause (context.Cause)
	// is an *HTTP3Error saying why, when HTTP/3 or QUIC said.
	Context() context.Context

	// ConnectionState returns the connection's TLS state.
	ConnectionState() tls.ConnectionState

	LocalAddr() net.Addr
	RemoteAddr() net.Addr

	// Close closes the connection at once with H3_NO_ERROR; requests in
	// flight on it fail.
	Close() error
}

// HTTP3ErrorKind says how far an HTTP/3 request went before it failed.
type HTTP3ErrorKind uint8

const (
	// HTTP3Unsent: no request stream was opened (the connection was
	// closed, or 0-RTT data was rejected), so none of the request reached
	// the server.
	HTTP3Unsent HTTP3ErrorKind = iota + 1
	// HTTP3GoAway: the server's GOAWAY came before the request's stream
	// was opened; the server did not process it.
	HTTP3GoAway
	// HTTP3StreamReset: the server reset the request's stream with Code.
	HTTP3StreamReset
	// HTTP3ConnClosed: the connection was closed with the application
	// error Code while the request was in flight; Remote says whether the
	// server closed it.
	HTTP3ConnClosed
	// HTTP3ConnLost: the connection was lost while the request was in
	// flight: an idle or handshake timeout, a stateless reset, a QUIC
	// transport error.
	HTTP3ConnLost
	// HTTP3Malformed: the response broke HTTP/3's rules (a frame, a header
	// block, a header over the size limit); Code is the error the client
	// sent the server, if any.
	HTTP3Malformed
)

// HTTP3Error is how an HTTP3Conn reports a failed request or a closed
// connection to the Transport, which turns it into its own errors
// (*GoAwayError, *StreamResetError, *ProtocolError, or a *ConnError
// wrapping it), the same as over HTTP/1.1 and HTTP/2.
type HTTP3Error struct {
	Kind   HTTP3ErrorKind
	Code   uint64 // the HTTP/3 error code (RFC 9114 section 8.1), zero if none
	Remote bool   // the server sent Code
	Err    error  // the underlying error
}

func (e *HTTP3Error) Error() string {
	who := "client"
	if e.Remote {
		who = "server"
	}
	var s string
	switch e.Kind {
	case HTTP3Unsent:
		s = "HTTP/3 request not sent"
	case HTTP3GoAway:
		s = "HTTP/3 server sent GOAWAY"
	case HTTP3StreamReset:
		s = fmt.Sprintf("HTTP/3 stream reset by %s (%s)", who, errCodeName(e.Code))
	case HTTP3ConnClosed:
		s = fmt.Sprintf("HTTP/3 connection closed by %s (%s)", who, errCodeName(e.Code))
	case HTTP3ConnLost:
		s = "HTTP/3 connection lost"
	case HTTP3Malformed:
		s = "malformed HTTP/3 response"
	default:
		s = "HTTP/3 error"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return "httppool: " + s
}

func (e *HTTP3Error) Unwrap() error { return e.Err }

// HTTP/3 error codes the Transport acts on (RFC 9114 section 8.1).
const (
	h3NoError         = 0x100
	h3RequestRejected = 0x10b
)

// HTTP3Status is what a Transport knows about one origin's HTTP/3.
type HTTP3Status struct {
	// Alternative is the h3 alternative's "host:port" from the origin's
	// Alt-Svc header, empty when none is known or it expired.
	Alternative string
	// Expires is when the alternative expires (Alt-Svc's ma).
	Expires time.Time
	// BrokenUntil is, while HTTP/3 to the origin is marked broken, when
	// it will be tried again; zero otherwise.
	BrokenUntil time.Time
	// Failures counts the times QUIC failed while TCP worked since HTTP/3
	// last worked; each doubles the time it stays broken.
	Failures int
	// RTT is the smoothed round-trip time measured on the origin's TCP
	// dials, zero if none was.
	RTT time.Duration
}

// HTTP3Status returns what t knows about the HTTP/3 of an origin, given as
// "https://host[:port]". It reports false when t knows nothing of it or
// HTTP/3 is off.
func (t *Transport) HTTP3Status(origin string) (HTTP3Status, bool) {
	h := t.c.h3
	if h == nil {
		return HTTP3Status{}, false
	}
	key, err := t.c.keyForURL(origin)
	if err != nil || key.scheme != "https" {
		return HTTP3Status{}, false
	}
	return h.alts.status(key.addr, time.Now())
}
