package httppool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// h3Conn is one HTTP/3 connection of a host, shared by concurrent
// requests: an HTTP3Conn from Config.HTTP3.Dialer runs its streams, the
// pool counts them.
type h3Conn struct {
	connBase
	hc       HTTP3Conn
	limit    int
	goaway   atomic.Bool // a request met the server's GOAWAY
	stopWait func() bool // stops the watch on hc's end
}

func newH3Conn(hp *hostPool, hc HTTP3Conn) *h3Conn {
	c := &h3Conn{hc: hc, limit: max(hc.StreamLimit(), 1)}
	c.connBase.init(hp, h3NetConn{hc}, protoH3)
	c.alt = true
	// A connection that closes, as after a GOAWAY once its last stream
	// ended, leaves the pool at once rather than at its next checkout.
	c.stopWait = context.AfterFunc(hc.Context(), func() { hp.retire(c, c.closedReason()) })
	return c
}

func (c *h3Conn) base() *connBase        { return &c.connBase }
func (c *h3Conn) ready() <-chan struct{} { return nil }

// capacity is the connection's stream limit, as the dialer reports it.
func (c *h3Conn) capacity() int { return c.limit }

func (c *h3Conn) checkReuse() closeReason {
	if c.goaway.Load() {
		return closeReasonGoAway
	}
	if c.hc.Context().Err() != nil {
		return c.closedReason()
	}
	return closeReasonNone
}

// closedReason says why the connection stopped taking requests.
func (c *h3Conn) closedReason() closeReason {
	var he *HTTP3Error
	if c.goaway.Load() || errors.As(context.Cause(c.hc.Context()), &he) && he.Kind == HTTP3GoAway {
		return closeReasonGoAway
	}
	return closeReasonServerClosed
}

// closeTransport closes the connection; HTTP/3 has nothing to tell the
// server first that closing with H3_NO_ERROR does not.
func (c *h3Conn) closeTransport(graceful bool) {
	c.stopWait()
	c.hc.Close()
}

// roundTrip sends req on a stream reserved by the pool.
func (c *h3Conn) roundTrip(ctx context.Context, req *http.Request, t try) (*http.Response, outcome, error) {
	var headerTimer *time.Timer
	var cancel context.CancelCauseFunc
	if d := c.hp.core.cfg.ResponseHeaderTimeout; d > 0 {
		// The timer runs from the start, body included: HTTP/3 does not
		// say when the request was written.
		var hctx context.Context
		hctx, cancel = context.WithCancelCause(ctx)
		headerTimer = time.AfterFunc(d, func() { cancel(ErrResponseHeaderTimeout) })
		req = req.WithContext(hctx)
	}
	resp, err := c.hc.RoundTrip(req)
	if headerTimer != nil {
		headerTimer.Stop()
		if err != nil {
			if cause := context.Cause(req.Context()); cause == ErrResponseHeaderTimeout && ctx.Err() == nil {
				err = ErrResponseHeaderTimeout
			}
			cancel(nil)
		}
	}
	if err != nil {
		out, reason, err := c.failed(req, err)
		out.viaAlt = true
		c.hp.release(c, reason)
		return nil, out, err
	}
	b := &h3Body{rc: resp.Body, c: c, trace: t.trace, cancel: cancel}
	resp.Body = b
	return resp, outcome{}, nil
}

// failed turns a failed request's error into the Transport's vocabulary,
// says how far the request went, and why the connection must close, if it
// must.
func (c *h3Conn) failed(req *http.Request, err error) (outcome, closeReason, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	out := outcome{written: true, bodyStarted: hasBody}
	var he *HTTP3Error
	if !errors.As(err, &he) {
		return out, closeReasonNone, err
	}
	const proto = "HTTP/3.0"
	switch he.Kind {
	case HTTP3Unsent:
		return outcome{unprocessed: true}, c.unsentReason(), err
	case HTTP3GoAway:
		c.goaway.Store(true)
		return outcome{unprocessed: true}, closeReasonGoAway, &GoAwayError{Proto: proto}
	case HTTP3StreamReset:
		out.unprocessed = he.Code == h3RequestRejected
		return out, closeReasonNone, &StreamResetError{Proto: proto, Code: he.Code}
	case HTTP3ConnClosed:
		switch {
		case he.Remote:
			return out, closeReasonServerClosed, err // a *ConnError from the retry loop
		case he.Code == h3NoError: // closed by the pool or after a GOAWAY
			return out, c.closedReason(), err
		}
		return out, closeReasonError, &ProtocolError{Proto: proto, Code: he.Code, Err: he.Err}
	case HTTP3Malformed:
		out.responded = true
		return out, closeReasonNone, &ProtocolError{Proto: proto, Code: he.Code, Err: he.Err}
	}
	return out, closeReasonError, err // HTTP3ConnLost
}

// unsentReason says whether a connection that could not open a stream may
// still serve: not once it closed.
func (c *h3Conn) unsentReason() closeReason {
	if c.hc.Context().Err() != nil {
		return c.closedReason()
	}
	return closeReasonNone
}

// h3ConnGone reports an HTTP/3 failure that means the connection is gone,
// as end-of-file does over TCP: the server closed it, or it was lost. The
// retry policy treats such a failure on a reused connection as a stale one.
func h3ConnGone(err error) bool {
	var he *HTTP3Error
	if !errors.As(err, &he) {
		return false
	}
	return he.Kind == HTTP3ConnLost || he.Kind == HTTP3ConnClosed && he.Remote
}

// h3Body ends its request's stream, in the pool's count, at its end.
type h3Body struct {
	rc     io.ReadCloser
	c      *h3Conn
	trace  *httptrace.ClientTrace
	cancel context.CancelCauseFunc // the response-header timeout's context, if any

	closed atomic.Bool
	done   atomic.Bool
}

func (b *h3Body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, ErrBodyClosed
	}
	n, err := b.rc.Read(p)
	if err != nil {
		if err != io.EOF {
			err = h3BodyError(err)
		}
		b.end()
	}
	return n, err
}

func (b *h3Body) Close() error {
	b.closed.Store(true)
	err := b.rc.Close()
	b.end()
	return err
}

func (b *h3Body) end() {
	if b.done.CompareAndSwap(false, true) {
		if b.cancel != nil {
			b.cancel(nil)
		}
		c := b.c
		reason := closeReasonNone
		if c.goaway.Load() {
			reason = closeReasonGoAway
		}
		tracePutIdleConn(b.trace, c.hp.release(c, reason))
		c.hp.core.requestDone()
	}
}

// h3BodyError turns a stream reset in a response body into a
// *StreamResetError, as over HTTP/2.
func h3BodyError(err error) error {
	var he *HTTP3Error
	if errors.As(err, &he) && he.Kind == HTTP3StreamReset {
		return &StreamResetError{Proto: "HTTP/3.0", Code: he.Code}
	}
	return err
}

// h3NetConn stands for an HTTP/3 connection where a net.Conn is expected,
// as in httptrace.GotConnInfo: it tells its addresses; QUIC carries no byte
// stream, so it cannot be read or written.
type h3NetConn struct{ hc HTTP3Conn }

var errH3NotStream = errors.New("httppool: an HTTP/3 connection is not a byte stream")

func (c h3NetConn) Read([]byte) (int, error)         { return 0, errH3NotStream }
func (c h3NetConn) Write([]byte) (int, error)        { return 0, errH3NotStream }
func (c h3NetConn) Close() error                     { return c.hc.Close() }
func (c h3NetConn) LocalAddr() net.Addr              { return c.hc.LocalAddr() }
func (c h3NetConn) RemoteAddr() net.Addr             { return c.hc.RemoteAddr() }
func (c h3NetConn) SetDeadline(time.Time) error      { return errH3NotStream }
func (c h3NetConn) SetReadDeadline(time.Time) error  { return errH3NotStream }
func (c h3NetConn) SetWriteDeadline(time.Time) error { return errH3NotStream }
