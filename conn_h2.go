package httppool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// h2Conn is one HTTP/2 connection of a host, shared by concurrent requests.
// golang.org/x/net/http2 runs its frames; the pool counts its streams.
type h2Conn struct {
	connBase
	cc      *http2.ClientConn
	settled chan struct{} // closed once the server's SETTINGS were applied
}

// newH2Transport configures the x/net HTTP/2 client that runs the pool's
// HTTP/2 connections. It dials nothing: the pool hands it connections.
// x/net reads the response-header and 100-continue timeouts only from an
// http.Transport linked to it, so one is made to carry them; it never sends
// a request.
func newH2Transport(cfg *Config) *http2.Transport {
	settings := &http.Transport{
		ResponseHeaderTimeout:  cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout:  cfg.expectContinueTimeout(),
		DisableCompression:     cfg.DisableCompression,
		MaxResponseHeaderBytes: int64(cfg.maxResponseHeaderBytes()),
	}
	t, err := http2.ConfigureTransports(settings)
	if err != nil { // only for an http.Transport that has HTTP/2 already
		t = &http2.Transport{}
	}
	t.AllowHTTP = true // for h2c connections the pool dialed itself
	t.DisableCompression = cfg.DisableCompression
	t.StrictMaxConcurrentStreams = cfg.HTTP2.StrictMaxConcurrentStreams
	t.ReadIdleTimeout = cfg.HTTP2.SendPingTimeout
	t.PingTimeout = cfg.HTTP2.PingTimeout
	return t
}

func newH2Conn(hp *hostPool, nc net.Conn) (*h2Conn, error) {
	cc, err := hp.core.h2t.NewClientConn(nc)
	if err != nil {
		return nil, err
	}
	c := &h2Conn{cc: cc, settled: make(chan struct{})}
	c.connBase.init(hp, nc, protoH2)
	go func() {
		// A PING's answer comes after the server's SETTINGS, which the
		// connection has then applied.
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		cc.Ping(ctx)
		cancel()
		close(c.settled)
	}()
	return c, nil
}

// wantsH2 reports whether a host's requests may share HTTP/2 connections.
func (c *core) wantsH2(key connectKey) bool {
	if key.scheme == "https" {
		return !c.cfg.HTTP2.Disable
	}
	return c.cfg.HTTP2.H2C
}

func (c *h2Conn) base() *connBase        { return &c.connBase }
func (c *h2Conn) ready() <-chan struct{} { return c.settled }

// capacity is the server's stream limit, once known.
func (c *h2Conn) capacity() int {
	return max(int(c.cc.State().MaxConcurrentStreams), 1)
}

func (c *h2Conn) checkReuse() closeReason {
	switch st := c.cc.State(); {
	case st.Closed:
		return closeReasonServerClosed
	case st.Closing:
		return closeReasonGoAway
	}
	return closeReasonNone
}

func (c *h2Conn) closeTransport(graceful bool) {
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		c.cc.Shutdown(ctx)
		cancel()
	}
	c.cc.Close()
}

// roundTrip sends req on a stream reserved by the pool.
func (c *h2Conn) roundTrip(ctx context.Context, req *http.Request, t try) (*http.Response, outcome, error) {
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		reason := closeReasonNone
		if st := c.cc.State(); st.Closed || st.Closing {
			reason = closeReasonGoAway
		}
		c.hp.release(c, reason)
		started := err.Error() != h2ErrUnusable
		out := outcome{
			written:     started,
			bodyStarted: started && req.Body != nil && req.Body != http.NoBody,
			unprocessed: h2Retryable(err),
		}
		if err.Error() == h2ErrHeaderTimeout {
			err = ErrResponseHeaderTimeout
		}
		return nil, out, err
	}
	resp.Body = &h2Body{ReadCloser: resp.Body, c: c}
	return resp, outcome{}, nil
}

// h2Body ends its request's stream, in the pool's count, at its end.
type h2Body struct {
	io.ReadCloser
	c    *h2Conn
	done atomic.Bool
}

func (b *h2Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.end()
	}
	return n, err
}

func (b *h2Body) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *h2Body) end() {
	if b.done.CompareAndSwap(false, true) {
		reason := closeReasonNone
		if st := b.c.cc.State(); st.Closed || st.Closing {
			reason = closeReasonGoAway
		}
		b.c.hp.release(b.c, reason)
		b.c.hp.core.requestDone()
	}
}

// h2Retryable reports an HTTP/2 failure after which the server cannot have
// processed the request: a connection that became unusable before the
// stream started, a GOAWAY that excluded the stream, or REFUSED_STREAM.
// x/net does not export the first two errors, so they are matched by text;
// TestH2GoAwayLosesNoRequest fails if that text changes.
func h2Retryable(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		return se.Code == http2.ErrCodeRefusedStream
	}
	switch err.Error() {
	case h2ErrUnusable,
		"http2: Transport received Server's graceful shutdown GOAWAY",
		"http2: client conn is closed":
		return true
	}
	return false
}

// h2ErrHeaderTimeout is x/net's error for Config.ResponseHeaderTimeout,
// returned as ErrResponseHeaderTimeout as over HTTP/1.1.
const h2ErrHeaderTimeout = "http2: timeout awaiting response headers"

// h2ErrUnusable is x/net's error for a stream never started: the request
// body is untouched and can be sent as it is.
const h2ErrUnusable = "http2: client conn not usable"
