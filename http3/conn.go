package http3

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/httppool/httppool"
	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// conn is one HTTP/3 connection: quic-go's http3.ClientConn on a quic.Conn.
type conn struct {
	qc        *quic.Conn
	cc        *qhttp3.ClientConn
	ctx       context.Context // ends when qc closes; its cause is an *httppool.HTTP3Error
	limit     int
	allow0RTT bool
	closing   atomic.Bool // Close was called: a local H3_NO_ERROR is ours
}

var _ httppool.HTTP3Conn = (*conn)(nil)

// RoundTrip sends req on a new stream. GET and HEAD requests without a
// body go in 0-RTT data when the Dialer was asked to and the handshake is
// not complete yet.
func (c *conn) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.allow0RTT && (req.Body == nil || req.Body == http.NoBody) && !c.handshakeComplete() {
		switch req.Method {
		case "", http.MethodGet:
			r := *req
			r.Method = qhttp3.MethodGet0RTT
			req = &r
		case http.MethodHead:
			r := *req
			r.Method = qhttp3.MethodHead0RTT
			req = &r
		}
	}
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		if errors.Is(err, quic.Err0RTTRejected) {
			// The server refused the early data: quic-go's ClientConn stays
			// bound to a connection that takes no more streams.
			c.Close()
		}
		return nil, classify(err)
	}
	resp.Body = &body{rc: resp.Body}
	return resp, nil
}

func (c *conn) handshakeComplete() bool {
	select {
	case <-c.qc.HandshakeComplete():
		return true
	default:
		return false
	}
}

func (c *conn) StreamLimit() int                     { return c.limit }
func (c *conn) Context() context.Context             { return c.ctx }
func (c *conn) ConnectionState() tls.ConnectionState { return c.qc.ConnectionState().TLS }
func (c *conn) LocalAddr() net.Addr                  { return c.qc.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr                 { return c.qc.RemoteAddr() }

// Close closes the connection with H3_NO_ERROR; it may be called again,
// and after the connection closed.
func (c *conn) Close() error {
	c.closing.Store(true)
	return c.qc.CloseWithError(quic.ApplicationErrorCode(qhttp3.ErrCodeNoError), "")
}

// closeCause says why the connection closed. quic-go's ClientConn closes it
// with a local H3_NO_ERROR once a GOAWAY came and the last request ended;
// that, unless Close did it, is the server's GOAWAY.
func (c *conn) closeCause(err error) error {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && !ae.Remote && ae.ErrorCode == quic.ApplicationErrorCode(qhttp3.ErrCodeNoError) && !c.closing.Load() {
		return &httppool.HTTP3Error{Kind: httppool.HTTP3GoAway, Err: err}
	}
	return classify(err)
}

// body is a response body whose errors are in httppool's terms.
type body struct {
	rc io.ReadCloser
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = classify(err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }
