package httppool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// settleTimeout bounds the wait for a new HTTP/2 connection's SETTINGS.
const settleTimeout = time.Second

// proto is what a host speaks, once a connection told.
type proto uint8

const (
	protoUnknown proto = iota
	protoH1
	protoH2
)

// h2Conn is one HTTP/2 connection of a host, shared by concurrent requests.
// golang.org/x/net/http2 runs its frames; the pool counts its streams so
// that it knows when the connection is idle, full or drained.
type h2Conn struct {
	hp        *hostPool
	id        uint64
	cc        *http2.ClientConn
	nc        net.Conn
	createdAt time.Time
	expiresAt time.Time // Config.MaxLifetime less jitter; zero means never

	// Guarded by hp.mu.
	streams     int         // requests from checkout to the end of their response
	served      int         // requests started
	idleSince   time.Time   // when streams last fell to zero
	idleCounted bool        // counted in Stats.Idle: open with no stream
	closing     bool        // takes no new request; closed when streams reach zero
	reason      closeReason // why it is closing
	closed      bool
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
	c := &h2Conn{hp: hp, id: connIDs.Add(1), cc: cc, nc: nc, createdAt: time.Now()}
	if lt := hp.core.cfg.MaxLifetime; lt > 0 {
		c.expiresAt = c.createdAt.Add(lt - lifetimeJitter(lt))
	}
	return c, nil
}

// h2Mode reports whether a host's requests may share HTTP/2 connections.
func (c *core) wantsH2(key connectKey) bool {
	if key.scheme == "https" {
		return !c.cfg.HTTP2.Disable
	}
	return c.cfg.HTTP2.H2C
}

// sharesH2 reports whether a request should look for, or wait for, a
// shared HTTP/2 connection rather than dial its own.
func (hp *hostPool) sharesH2() bool {
	return hp.wantsH2 && hp.proto != protoH1 && !hp.core.cfg.DisableKeepAlives
}

// takeH2Locked reserves a stream on the newest HTTP/2 connection that can
// take one, retiring connections that can no longer serve.
func (hp *hostPool) takeH2Locked() (checkout, bool) {
	now := time.Now()
	for i := len(hp.h2) - 1; i >= 0; i-- {
		c := hp.h2[i]
		if c.closing {
			continue
		}
		if r := c.unusable(now); r != closeReasonNone {
			hp.retireH2Locked(c, r)
			continue
		}
		if !c.reserve() {
			continue // full: StrictMaxConcurrentStreams is off
		}
		co := checkout{h2: c, reused: c.served > 0}
		if c.idleCounted {
			c.idleCounted = false
			hp.core.stats.idle.Add(-1)
			co.wasIdle, co.idleTime = true, now.Sub(c.idleSince)
		}
		c.streams++
		c.served++
		return co, true
	}
	return checkout{}, false
}

// reserve claims a stream for a request about to start. Without
// StrictMaxConcurrentStreams, x/net reserves one below the server's limit or
// reports the connection full. With it, a request over the limit waits in
// RoundTrip for a stream to end; a reservation would count against the
// limit while waiting and stall the others, so none is made.
func (c *h2Conn) reserve() bool {
	if c.hp.core.cfg.HTTP2.StrictMaxConcurrentStreams {
		return c.cc.CanTakeNewRequest()
	}
	return c.cc.ReserveNewRequest()
}

// unusable reports why a connection can take no new request.
func (c *h2Conn) unusable(now time.Time) closeReason {
	cfg := &c.hp.core.cfg
	switch st := c.cc.State(); {
	case st.Closed:
		return closeReasonServerClosed
	case st.Closing:
		return closeReasonGoAway
	case cfg.MaxRequestsPerConn > 0 && c.served >= cfg.MaxRequestsPerConn:
		return closeReasonMaxRequests
	case !c.expiresAt.IsZero() && !now.Before(c.expiresAt):
		return closeReasonMaxLifetime
	}
	return closeReasonNone
}

// expiredAt reports why an idle HTTP/2 connection should close at now.
func (c *h2Conn) expiredAt(now time.Time) closeReason {
	if it := c.hp.core.idleTimeout; it > 0 && now.Sub(c.idleSince) >= it {
		return closeReasonIdleTimeout
	}
	return c.unusable(now)
}

// expiry returns when an idle HTTP/2 connection expires, zero if never.
func (c *h2Conn) expiry() time.Time {
	var t time.Time
	if it := c.hp.core.idleTimeout; it > 0 {
		t = c.idleSince.Add(it)
	}
	if !c.expiresAt.IsZero() && (t.IsZero() || c.expiresAt.Before(t)) {
		t = c.expiresAt
	}
	return t
}

// retireH2Locked stops c taking requests and closes it once its streams end.
func (hp *hostPool) retireH2Locked(c *h2Conn, reason closeReason) {
	if !c.closing {
		c.closing, c.reason = true, reason
	}
	if c.streams == 0 {
		hp.removeH2Locked(c)
	}
}

// removeH2Locked closes c, which has no stream, and frees its slot.
func (hp *hostPool) removeH2Locked(c *h2Conn) {
	for i, x := range hp.h2 {
		if x == c {
			hp.h2 = append(hp.h2[:i], hp.h2[i+1:]...)
			break
		}
	}
	hp.closeH2(c, false)
	hp.releaseSlotLocked()
}

// closeH2 closes the connection once and counts why. Gracefully, it sends
// GOAWAY first.
func (hp *hostPool) closeH2(c *h2Conn, graceful bool) {
	if c.closed {
		return
	}
	c.closed = true
	if c.idleCounted {
		c.idleCounted = false
		hp.core.stats.idle.Add(-1)
	}
	reason := c.reason
	if reason == closeReasonNone {
		reason = closeReasonClosed
	}
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		c.cc.Shutdown(ctx)
		cancel()
	}
	c.cc.Close()
	stats := &hp.core.stats
	stats.closed[reason].Add(1)
	stats.openH2.Add(-1)
	hp.core.logClosed(c.id, hp.key, reason, c.served, c.createdAt)
}

// streamDone ends one request's stream on c. An idle connection becomes
// eligible for expiry; a closing one with no stream left is closed; a
// request waiting for MaxConnsPerHost may now take the free stream.
func (hp *hostPool) streamDone(c *h2Conn) {
	hp.mu.Lock()
	c.streams--
	idle := false
	if c.streams == 0 {
		if c.closing {
			hp.removeH2Locked(c)
		} else {
			c.idleSince = time.Now()
			c.idleCounted = true
			hp.core.stats.idle.Add(1)
			idle = true
		}
	}
	if len(hp.waiters) > 0 {
		w := hp.waiters[0]
		hp.waiters = hp.waiters[1:]
		w.ch <- grant{retry: true}
	}
	hp.mu.Unlock()
	if idle {
		hp.core.startSweeper()
	}
}

// settle lets the requests that waited for a new connection look again once
// its SETTINGS arrived: before them, the server's stream limit is unknown
// and they would all pile onto this connection. A PING's answer comes after
// the server's SETTINGS, which the connection has then applied.
func (hp *hostPool) settle(c *h2Conn, connecting chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	c.cc.Ping(ctx)
	cancel()
	hp.mu.Lock()
	hp.endConnectLocked(connecting)
	hp.mu.Unlock()
}

// endConnectLocked wakes the requests that waited for a connection whose
// dial decided the host's protocol or added HTTP/2 capacity.
func (hp *hostPool) endConnectLocked(connecting chan struct{}) {
	if hp.connecting == connecting && connecting != nil {
		close(connecting)
		hp.connecting = nil
	}
}

// roundTrip sends req on a reserved stream of c.
func (c *h2Conn) roundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		c.hp.streamDone(c)
		if err.Error() == h2ErrHeaderTimeout {
			err = ErrResponseHeaderTimeout
		}
		return nil, err
	}
	resp.Body = &h2Body{ReadCloser: resp.Body, c: c}
	return resp, nil
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
		b.c.hp.streamDone(b.c)
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
