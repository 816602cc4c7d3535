package httppool

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http/httptrace"
	"time"

	"golang.org/x/net/http2"
)

// tlsSessionCacheSize bounds the TLS sessions remembered for resumption.
const tlsSessionCacheSize = 256

// newTLSConfig clones the caller's TLS configuration, never modifying it,
// and gives it a session cache so that new connections to a host seen
// before resume their session.
func newTLSConfig(base *tls.Config) *tls.Config {
	var c *tls.Config
	if base == nil {
		c = &tls.Config{}
	} else {
		c = base.Clone()
	}
	if c.ClientSessionCache == nil {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(tlsSessionCacheSize)
	}
	return c
}

// dialConn dials a connection for hp's key: HTTP/1.1 or HTTP/2 as ALPN
// decides for https, HTTP/2 for http with Config.HTTP2.H2C; or, when the
// origin offers HTTP/3 and noAlt is not set, the first ready of QUIC and
// TCP (race.go).
func (c *core) dialConn(ctx context.Context, hp *hostPool, noAlt bool) (conn, error) {
	// HTTP/3 (issue 19): race QUIC against TCP when the origin offers it.
	if hp.h3ok && !noAlt {
		if alt, ok := hp.claimH3(); ok {
			return c.race(ctx, hp, alt)
		}
	}
	return c.dialTCP(ctx, hp)
}

// dialTCP dials a TCP connection for hp's key and speaks HTTP/1.1 or
// HTTP/2 on it.
func (c *core) dialTCP(ctx context.Context, hp *hostPool) (conn, error) {
	start := time.Now()
	nc, err := c.dialRoute(ctx, hp)
	if err != nil {
		return nil, err
	}
	if hp.h3ok {
		// HTTP/3 (issue 19): the connect time, DNS included, stands for
		// the round-trip time that sets the race delay.
		c.h3.alts.noteRTT(hp.key.addr, time.Since(start), start)
	}
	if hp.key.scheme == "http" {
		if hp.wantsH2 {
			return c.newH2(hp, nc)
		}
		return newH1Conn(hp, nc), nil
	}
	tc, err := c.handshake(ctx, nc, hp.key.addr, hp.wantsH2)
	if err != nil {
		nc.Close()
		return nil, err
	}
	state := tc.ConnectionState()
	if state.NegotiatedProtocol == http2.NextProtoTLS {
		return c.newH2(hp, tc)
	}
	pc := newH1Conn(hp, tc)
	pc.tlsState = &state
	return pc, nil
}

// newH2 starts HTTP/2 on a connection, closing it on failure.
func (c *core) newH2(hp *hostPool, nc net.Conn) (conn, error) {
	cn, err := newH2Conn(hp, nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return cn, nil
}

// handshake runs the TLS handshake on nc, offering h2 when h2 is set.
func (c *core) handshake(ctx context.Context, nc net.Conn, addr string, h2 bool) (*tls.Conn, error) {
	cfg := c.tlsConfig.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	if h2 {
		cfg.NextProtos = []string{http2.NextProtoTLS, "http/1.1"}
	}
	if d := c.cfg.tlsHandshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.TLSHandshakeStart != nil {
		trace.TLSHandshakeStart()
	}
	tc := tls.Client(nc, cfg)
	err := tc.HandshakeContext(ctx)
	if trace != nil && trace.TLSHandshakeDone != nil {
		trace.TLSHandshakeDone(tc.ConnectionState(), err)
	}
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// lifetimeJitter returns a random part of up to a tenth of lifetime, so that
// connections dialed together do not all expire together.
func lifetimeJitter(lifetime time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(lifetime/10) + 1))
}
