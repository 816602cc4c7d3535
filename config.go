package httppool

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// Defaults used where a Config field is zero.
const (
	// DefaultIdleTimeout is hyper's default pool_idle_timeout.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultMaxResponseHeaderBytes bounds a response's status line and header block.
	DefaultMaxResponseHeaderBytes = 1 << 20
	// DefaultDialTimeout is the timeout of the default dialer.
	DefaultDialTimeout = 30 * time.Second
	// DefaultHandshakeTimeout bounds a TLS handshake, as http.DefaultTransport does.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultContinueTimeout is how long a request with "Expect: 100-continue"
	// waits for the server's first response before sending its body anyway.
	DefaultContinueTimeout = 1 * time.Second
	// DefaultMaxRetries is how many times a request that failed on a stale
	// pooled connection is resent when Config.MaxRetries is zero.
	DefaultMaxRetries = 2
)

// Config configures a Transport. The zero value is ready to use: it pools
// connections without limits, as hyper's Client does, and expires idle
// connections after DefaultIdleTimeout.
type Config struct {
	// IdleTimeout is how long a connection may stay idle in the pool before it
	// is closed. Zero means DefaultIdleTimeout (90 s). A negative value means
	// idle connections never expire. Unlike net/http's IdleConnTimeout, whose
	// zero means no limit, zero here is hyper's default.
	IdleTimeout time.Duration

	// MaxIdlePerHost limits the idle connections kept for one host. When a
	// connection comes back to a host whose idle pool is full, the oldest idle
	// connection of that host is closed. Zero means no limit. Unlike net/http's
	// MaxIdleConnsPerHost, whose zero means 2, zero here is hyper's default.
	MaxIdlePerHost int

	// MaxIdleConns limits the idle connections kept across all hosts. Over it,
	// the least recently used idle connection is closed. Zero means no limit.
	MaxIdleConns int

	// MaxConnsPerHost limits the connections to one host, counting those being
	// dialed, in use and idle. A request over the limit waits, in FIFO order,
	// until a connection frees up or its context ends. Zero means no limit.
	// A request served on another host's HTTP/2 connection (coalescing, see
	// HTTP2Config.DisableCoalescing) uses none of its own host's slots.
	MaxConnsPerHost int

	// MinIdlePerHost keeps connections warm: each host the Transport has
	// connections to keeps at least this many HTTP/1.1 connections open, or
	// one HTTP/2 connection, all idle while the host is quiet, so that a
	// burst after a quiet period does not wait for dials and handshakes.
	// After a request returns a connection, or one of the host's
	// connections closes (for any reason but Close, Shutdown,
	// CloseIdleConnections or MaxIdleConns), the host dials the missing ones
	// in the background, one at a time; it never waits for a
	// MaxConnsPerHost slot, never keeps more than MaxIdlePerHost, never
	// dials while the Transport holds MaxIdleConns idle connections, and
	// after a failed dial waits a second and for the host's next request.
	// IdleTimeout closes a host's idle connections only while it has more
	// than the minimum of them idle; MaxLifetime, the server's close and its
	// Keep-Alive limits apply to all, and the pool dials replacements. Zero
	// means no minimum. See also Transport.Preconnect.
	MinIdlePerHost int

	// MaxLifetime is how long a connection may be reused after it was dialed.
	// A connection older than this is closed instead of being reused. Each
	// connection's lifetime is shortened by a random jitter of up to a tenth
	// so that connections dialed together do not all close together.
	// Zero means connections are reused regardless of age.
	MaxLifetime time.Duration

	// MaxRequestsPerConn is how many requests one connection serves before
	// it is closed. Zero means no limit.
	MaxRequestsPerConn int

	// DisableKeepAlives makes every request dial a new connection that is
	// closed after its response, as net/http's DisableKeepAlives and hyper's
	// pool_connection(false) do; HTTP/1.1 requests say "Connection: close".
	DisableKeepAlives bool

	// DialContext dials the TCP connections of the pool. Zero means a
	// net.Dialer with a DefaultDialTimeout timeout and TCP keep-alive.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// LookupNetIP resolves a name to decide whether its origin may share
	// another origin's HTTP/2 connection (HTTP2Config.DisableCoalescing),
	// with the signature of net.Resolver.LookupNetIP (network "ip");
	// answers are cached for ten seconds. Dials do not use it. Nil means
	// net.DefaultResolver's when DialContext is nil; with a DialContext of
	// its own and no LookupNetIP, the Transport does not coalesce, since it
	// cannot tell where that dialer would connect.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)

	// Proxy returns the proxy for a request, or nil for a direct connection.
	// http:// proxies forward http:// requests (sent in absolute form) and
	// tunnel https:// ones with CONNECT; https:// proxies do the same over
	// TLS to the proxy; socks5:// (names resolved by the client) and
	// socks5h:// (by the proxy) tunnel both. Credentials in the proxy URL
	// go to the proxy as Proxy-Authorization (Basic), never to the origin.
	// Connections are pooled per proxy and origin, so a tunnel made for one
	// origin never serves another; http:// origins share the connections to
	// their proxy. Nil means http.ProxyFromEnvironment, as with net/http's
	// DefaultTransport (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; loopback
	// addresses are never proxied), looked at only when such a variable is
	// set. Unlike a zero http.Transport, whose nil Proxy means no proxy, a
	// zero Config behaves as http.DefaultTransport does; to ignore the
	// environment, return nil from a Proxy function.
	Proxy func(*http.Request) (*url.URL, error)

	// ProxyConnectHeader holds headers sent to the proxy with each CONNECT.
	ProxyConnectHeader http.Header

	// TLSClientConfig configures TLS for https URLs. It is cloned, never
	// modified. Nil means the zero tls.Config (system roots, server name from
	// the URL).
	TLSClientConfig *tls.Config

	// HandshakeTimeout bounds the TLS handshake of a new connection. Zero
	// means DefaultHandshakeTimeout (10 s, http.DefaultTransport's
	// TLSHandshakeTimeout); a negative value means no timeout. It has its own
	// name because net/http's TLSHandshakeTimeout means no timeout when zero.
	HandshakeTimeout time.Duration

	// ResponseHeaderTimeout bounds the wait for a response's header after the
	// request, including its body, was written. Zero means no timeout other
	// than the request's context.
	ResponseHeaderTimeout time.Duration

	// ContinueTimeout is how long a request with "Expect: 100-continue"
	// waits for the server's first response before it sends its body. Zero
	// means DefaultContinueTimeout (1 s, http.DefaultTransport's
	// ExpectContinueTimeout); a negative value means the body is sent at once
	// without waiting. It has its own name because net/http's
	// ExpectContinueTimeout sends the body at once when zero.
	ContinueTimeout time.Duration

	// MaxResponseHeaderBytes bounds the size of a response's status line and
	// header block. Zero means DefaultMaxResponseHeaderBytes (1 MiB).
	MaxResponseHeaderBytes int

	// MaxRetries bounds how many times a request is sent again after a
	// reused connection failed before any byte of the response arrived: always
	// when no byte of the request was written, otherwise only for idempotent
	// requests (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any request with an
	// Idempotency-Key header). A request whose body cannot be replayed
	// (no GetBody) is never sent again. The last retry uses a newly dialed
	// connection. Zero means DefaultMaxRetries (2); a negative value means no retries.
	MaxRetries int

	// IgnoreKeepAliveHeader stops the Transport from honouring the server's
	// "Keep-Alive: timeout=N, max=M" response header. Otherwise a connection
	// is not reused after the server's timeout, less KeepAliveMargin, nor for
	// more requests than max allows, so that it is never taken just as the
	// server closes it.
	IgnoreKeepAliveHeader bool

	// KeepAliveMargin is how long before a Keep-Alive header's timeout a
	// connection stops being reused. Zero means a quarter of the timeout, at
	// most one second.
	KeepAliveMargin time.Duration

	// DisableIdleTimeoutLearning stops the Transport from learning how long
	// each server keeps an idle connection. Zero means it learns: many
	// servers close a connection after a fixed idle time without announcing
	// it, and a request sent just as they do is lost; one that cannot be
	// sent again (not idempotent, or whose body has no GetBody) then fails.
	// From the connections a server was found to have closed, and those it
	// kept, the pool learns that time per host (HostStats.LearnedIdleTimeout;
	// Logger reports it) and stops using a connection idle about as long:
	// the estimate less a few milliseconds and a round trip for every
	// request, a band below that for requests that cannot be sent again.
	// Such a request then takes a fresher connection or dials. Against a
	// server that keeps connections longer than IdleTimeout, learning never
	// closes one sooner.
	DisableIdleTimeoutLearning bool

	// Logger receives connection lifecycle events at debug level: dialed,
	// reused, returned to the pool, and closed with its reason. Nil means no
	// events, at no cost.
	Logger *slog.Logger

	// HTTP2 configures HTTP/2. The zero value negotiates HTTP/2 with https
	// servers through ALPN and shares one connection per host among
	// concurrent requests, dialing another when the server's stream limit
	// is reached.
	HTTP2 HTTP2Config

	// HTTP3 configures HTTP/3, which is off unless HTTP3.Dialer is set:
	// see HTTP3Config and the module github.com/httppool/httppool/http3.
	HTTP3 HTTP3Config

	// DisableCompression stops the Transport from asking for gzip. Otherwise,
	// as with net/http, a request without its own Accept-Encoding asks for
	// gzip and a gzip response is decompressed transparently.
	DisableCompression bool
}

// HighThroughput returns a Config for many requests to a few hosts: up to 50
// idle connections per host so that parallel requests rarely dial, kept for
// two minutes, as the hyper guide recommends.
func HighThroughput() Config {
	return Config{MaxIdlePerHost: 50, IdleTimeout: 120 * time.Second}
}

// LowMemory returns a Config that keeps little: at most 2 idle connections
// per host and 16 in all, closed after 10 s idle, as the hyper guide
// recommends for constrained environments.
func LowMemory() Config {
	return Config{MaxIdlePerHost: 2, MaxIdleConns: 16, IdleTimeout: 10 * time.Second}
}

// ManyHosts returns a Config for crawler-like traffic to many hosts: one idle
// connection per host, 30 s idle timeout (the hyper guide's choice) and at
// most 1,024 idle connections in all, so that memory stays bounded however
// many hosts are visited.
func ManyHosts() Config {
	return Config{MaxIdlePerHost: 1, MaxIdleConns: 1024, IdleTimeout: 30 * time.Second}
}

// orDefault applies the convention of Config's limits: zero means def,
// negative means none (returned as zero).
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func (c *Config) idleTimeout() time.Duration {
	return orDefault(c.IdleTimeout, DefaultIdleTimeout)
}

func (c *Config) maxResponseHeaderBytes() int {
	if c.MaxResponseHeaderBytes <= 0 {
		return DefaultMaxResponseHeaderBytes
	}
	return c.MaxResponseHeaderBytes
}

func (c *Config) tlsHandshakeTimeout() time.Duration {
	return orDefault(c.HandshakeTimeout, DefaultHandshakeTimeout)
}

func (c *Config) expectContinueTimeout() time.Duration {
	return orDefault(c.ContinueTimeout, DefaultContinueTimeout)
}

func (c *Config) maxRetries() int {
	return orDefault(c.MaxRetries, DefaultMaxRetries)
}

// HTTP2Config configures the Transport's HTTP/2 connections.
type HTTP2Config struct {
	// Disable stops the Transport from offering HTTP/2 to https servers:
	// every connection speaks HTTP/1.1.
	Disable bool

	// H2C makes http:// requests use HTTP/2 over cleartext with prior
	// knowledge (no upgrade): the server must speak h2c. Zero means http://
	// requests use HTTP/1.1.
	H2C bool

	// StrictMaxConcurrentRequests makes requests over the server's
	// MAX_CONCURRENT_STREAMS wait for a stream on the host's one connection,
	// as hyper does, instead of dialing another connection.
	StrictMaxConcurrentRequests bool

	// SendPingTimeout is how long a connection may receive nothing before a
	// PING health check is sent, as in http.HTTP2Config. Zero means no health
	// check.
	SendPingTimeout time.Duration

	// PingTimeout is how long the health check waits for the PING's answer
	// before closing the connection. Zero means 15 s.
	PingTimeout time.Duration

	// WriteByteTimeout is how long a write to the connection may block
	// before the connection is closed, as in http.HTTP2Config. Zero means
	// no limit.
	WriteByteTimeout time.Duration

	// MaxReceiveBufferPerStream is each stream's flow-control window: how
	// much of a response body the server may send before the reader reads
	// it. Zero means 4 MiB, as in net/http.
	MaxReceiveBufferPerStream int

	// MaxReceiveBufferPerConnection is the connection's flow-control
	// window. Credit is given back as data arrives, so that one unread
	// body never stalls the other streams; the streams' windows bound what
	// is buffered. Zero means 1 GiB; values under 64 KiB are ignored.
	MaxReceiveBufferPerConnection int

	// MaxReadFrameSize is the largest frame the server may send, from 16 KiB
	// to 1 MiB. Zero means 16 KiB, the protocol's default.
	MaxReadFrameSize int

	// MaxDecoderHeaderTableSize and MaxEncoderHeaderTableSize bound the
	// HPACK tables of response and request headers. Zero means 4 KiB.
	MaxDecoderHeaderTableSize int
	MaxEncoderHeaderTableSize int

	// DisableCoalescing stops an HTTP/2 connection made for one origin from
	// serving another. Otherwise, as browsers and OkHttp do (RFC 9113,
	// section 9.1.1), an https origin without a connection of its own to
	// take shares another origin's HTTP/2 connection when both are direct
	// (no proxy) on the same port, its name resolves (Config.LookupNetIP)
	// to the connection's remote address, the server's certificate passes
	// the verification a connection of its own would have run, the server
	// did not leave it out of an ORIGIN frame (RFC 8336), and it did not
	// answer "421 Misdirected Request" for it there; a 421 is resent on a
	// connection of the origin's own. Coalescing is off when the TLS
	// configuration could verify two names differently: InsecureSkipVerify,
	// VerifyPeerCertificate, VerifyConnection, a fixed ServerName,
	// GetClientCertificate or Encrypted Client Hello set.
	DisableCoalescing bool
}
