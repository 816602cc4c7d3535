package httppool

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/url"
	"time"
)

// netHTTPMaxResponseHeaderBytes is what net/http's Transport allows for a
// response header when its MaxResponseHeaderBytes is zero.
const netHTTPMaxResponseHeaderBytes = 10 << 20

// FromTransport returns a Config under which a Transport behaves as t does,
// so that a program configured for net/http moves over in one call:
//
//	t := httppool.New(httppool.FromTransport(http.DefaultTransport.(*http.Transport)))
//
// Where a zero value means something else in net/http than in Config, the
// Config gets net/http's meaning:
//   - a nil Proxy (no proxy) becomes a Proxy that returns nil, since a nil
//     Config.Proxy reads the environment;
//   - a zero TLSHandshakeTimeout, ExpectContinueTimeout or IdleConnTimeout
//     (no timeout, body sent at once, idle connections kept for ever)
//     becomes a negative HandshakeTimeout, ContinueTimeout or IdleTimeout;
//   - a zero MaxIdleConnsPerHost becomes MaxIdlePerHost 2
//     (http.DefaultMaxIdleConnsPerHost), and a zero MaxResponseHeaderBytes
//     becomes 10 MiB;
//   - a negative MaxIdleConnsPerHost or MaxIdleConns, with which net/http
//     keeps no idle connection, becomes DisableKeepAlives;
//   - HTTP/2 is offered to https servers exactly when t offers it; as
//     net/http decides, a TLSClientConfig or a dialer without
//     ForceAttemptHTTP2 leaves it off, a non-nil empty TLSNextProto turns it
//     off, Protocols and the http2client GODEBUG setting are honoured
//     (HTTP2.Disable). Protocols with UnencryptedHTTP2 and without HTTP1
//     make http:// requests use HTTP/2 with prior knowledge (HTTP2.H2C).
//
// TLSClientConfig and ProxyConnectHeader are cloned; Proxy and DialContext
// (or, without it, the deprecated Dial) are shared; ResponseHeaderTimeout,
// MaxIdleConns, MaxConnsPerHost, DisableCompression and DisableKeepAlives
// carry over as they are, and so do the fields of t.HTTP2 that a client
// uses (StrictMaxConcurrentRequests, the receive buffers, MaxReadFrameSize,
// the header table sizes, SendPingTimeout, PingTimeout, WriteByteTimeout). Without DialContext and Dial the Config's default dialer (30 s
// timeout) is used, where net/http's zero dialer has none of its own.
//
// These have no equivalent and are dropped:
//   - DialTLSContext and DialTLS: httppool dials TCP with DialContext and
//     runs the TLS handshake itself, with TLSClientConfig;
//   - GetProxyConnectHeader (ProxyConnectHeader is sent with every CONNECT
//     instead, even though net/http ignores it when GetProxyConnectHeader is
//     set) and OnProxyConnectResponse (a refused CONNECT is a *ProxyError);
//   - the RoundTrippers in TLSNextProto: httppool runs HTTP/2 itself;
//   - WriteBufferSize and ReadBufferSize: httppool sizes its own buffers;
//   - from t.HTTP2: MaxConcurrentStreams (for servers only),
//     PermitProhibitedCipherSuites and CountError;
//   - Protocols without HTTP1: HTTP/1.1 is still offered to https servers
//     alongside HTTP/2.
//
// The Config's own fields that net/http lacks (MaxLifetime,
// MaxRequestsPerConn, MaxRetries, Logger, ...) are left zero. FromTransport
// reads t through t.Clone, so it may be called while t is in use; as t's
// first request would, it may set up t's HTTP/2 support. A nil t is treated
// as a zero http.Transport.
func FromTransport(t *http.Transport) Config {
	if t == nil {
		t = &http.Transport{}
	}
	orig := t
	t = t.Clone() // runs, or waits for, t's lazy HTTP/2 set-up; copies t
	cfg := Config{
		Proxy:                  t.Proxy,
		ProxyConnectHeader:     t.ProxyConnectHeader,
		TLSClientConfig:        t.TLSClientConfig,
		DialContext:            t.DialContext,
		HandshakeTimeout:       noneIfZero(t.TLSHandshakeTimeout),
		ContinueTimeout:        noneIfZero(t.ExpectContinueTimeout),
		ResponseHeaderTimeout:  t.ResponseHeaderTimeout,
		IdleTimeout:            noneIfZero(t.IdleConnTimeout),
		MaxIdleConns:           t.MaxIdleConns,
		MaxIdlePerHost:         t.MaxIdleConnsPerHost,
		MaxConnsPerHost:        t.MaxConnsPerHost,
		MaxResponseHeaderBytes: netHTTPMaxResponseHeaderBytes,
		DisableCompression:     t.DisableCompression,
		DisableKeepAlives:      t.DisableKeepAlives,
	}
	if cfg.Proxy == nil {
		cfg.Proxy = noProxy
	}
	if cfg.DialContext == nil && t.Dial != nil {
		dial := t.Dial
		cfg.DialContext = func(_ context.Context, network, addr string) (net.Conn, error) {
			return dial(network, addr)
		}
	}
	if cfg.MaxIdlePerHost == 0 {
		cfg.MaxIdlePerHost = http.DefaultMaxIdleConnsPerHost
	}
	if cfg.MaxIdlePerHost < 0 || cfg.MaxIdleConns < 0 {
		cfg.DisableKeepAlives = true
		cfg.MaxIdlePerHost, cfg.MaxIdleConns = 0, 0
	}
	if n := t.MaxResponseHeaderBytes; n > 0 {
		cfg.MaxResponseHeaderBytes = int(min(n, math.MaxInt))
	}
	cfg.HTTP2 = http2ConfigOf(t, orig)
	return cfg
}

// noProxy is the Proxy of a Config made from an http.Transport without one.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// noneIfZero turns a net/http duration whose zero means "none" into a
// Config duration, whose "none" is negative.
func noneIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// http2ConfigOf returns the HTTP/2 settings of t, a clone of orig made
// after orig's lazy set-up. That set-up gives TLSNextProto an "h2" entry
// exactly when net/http will speak HTTP/2 (its defaults, Protocols,
// ForceAttemptHTTP2, the http2client GODEBUG setting), so the entry, not a
// copy of net/http's rule, is what decides.
func http2ConfigOf(t, orig *http.Transport) HTTP2Config {
	h2 := orig.TLSNextProto["h2"] != nil
	var c HTTP2Config
	if p := t.Protocols; p != nil {
		c.Disable = !(h2 && p.HTTP2())
		c.H2C = h2 && p.UnencryptedHTTP2() && !p.HTTP1()
	} else {
		c.Disable = !h2
	}
	if h := t.HTTP2; h != nil {
		c.StrictMaxConcurrentRequests = h.StrictMaxConcurrentRequests
		c.MaxReceiveBufferPerConnection = h.MaxReceiveBufferPerConnection
		c.MaxReceiveBufferPerStream = h.MaxReceiveBufferPerStream
		c.MaxReadFrameSize = h.MaxReadFrameSize
		c.MaxDecoderHeaderTableSize = h.MaxDecoderHeaderTableSize
		c.MaxEncoderHeaderTableSize = h.MaxEncoderHeaderTableSize
		c.SendPingTimeout = h.SendPingTimeout
		c.PingTimeout = h.PingTimeout
		c.WriteByteTimeout = h.WriteByteTimeout
	}
	return c
}
