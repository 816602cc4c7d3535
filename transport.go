// Package httppool is an HTTP client transport whose connection pool behaves
// like Rust hyper's Client: per-host pools, idle timeout, a bound on idle
// connections per host, keep-alive reuse, "Connection: close" handling, and
// closing every connection on shutdown. It is an http.RoundTripper, so it
// plugs into any *http.Client.
//
// HTTP/1.1 requests run on the caller's goroutine: no goroutine is kept per
// connection, and an idle connection holds no buffers. HTTPS connections
// negotiate HTTP/2 through ALPN; one HTTP/2 connection per host then serves
// concurrent requests. A pooled connection that the server closed while it
// was idle is noticed or, when safe, the request is resent, so that it does
// not surface as an error. Stats, httptrace hooks and Config.Logger show
// what the pool does; proxies come from Config.Proxy or the environment.
package httppool

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is an http.RoundTripper that pools connections per host.
// It is safe for concurrent use. Create it with New; the zero value is not usable.
//
// A Transport that becomes unreachable without Close still closes its idle
// connections when the garbage collector reclaims it, as dropping a hyper
// Client does.
type Transport struct {
	c *core
}

// core is the Transport's state. Connections, bodies and the sweeper refer to
// core, never to the Transport, so that an unreachable Transport can be
// collected and its cleanup can close the pool.
type core struct {
	cfg         Config
	idleTimeout time.Duration
	maxRetries  int
	dialer      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig   *tls.Config
	proxy       func(*http.Request) (*url.URL, error) // nil: always direct
	h2opts      *h2Options
	h3          *h3Client  // nil unless Config.HTTP3.Dialer is set
	coal        *coalescer // nil when connections are never shared between origins (coalesce.go)

	protos     sync.Map // connectKey → proto, what hosts spoke, for pools made later
	protoCount atomic.Int64

	hosts sync.Map // connectKey → *hostPool

	learned      sync.Map // connectKey → *idleLearner, the servers' idle timeouts (learn.go)
	learnedCount atomic.Int64

	closed      atomic.Bool
	closeCtx    context.Context // done once closed: stops the sweeper and the dials that serve no request
	closeCancel context.CancelFunc

	inflight atomic.Int64 // requests between RoundTrip and the end of their response

	lru lruList // every idle connection across hosts, when Config.MaxIdleConns is set

	sweeping  atomic.Bool   // the sweeper goroutine runs
	sweepAt   atomic.Int64  // when it sweeps next, in nanoseconds since clockBase
	sweepWake chan struct{} // makes it sweep sooner (sweepBy)

	stats counters
}

// New returns a Transport configured by cfg. The zero Config is valid.
func New(cfg Config) *Transport {
	c := &core{
		cfg:         cfg,
		idleTimeout: cfg.idleTimeout(),
		maxRetries:  cfg.maxRetries(),
		dialer:      cfg.DialContext,
		sweepWake:   make(chan struct{}, 1),
	}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	if c.dialer == nil {
		d := &net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}
		c.dialer = d.DialContext
	}
	c.tlsConfig = newTLSConfig(cfg.TLSClientConfig)
	c.h2opts = newH2Options(&c.cfg)
	c.h3 = newH3Client(&c.cfg)
	c.proxy = proxyFunc(&c.cfg)
	c.coal = newCoalescer(c)
	t := &Transport{c: c}
	runtime.AddCleanup(t, func(c *core) { c.close() }, c)
	return t
}

// Client returns an *http.Client that sends its requests through t.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t}
}

// RoundTrip sends one HTTP request and returns its response, reusing a pooled
// connection to the request's host when one is idle. The response's body must
// be read to the end or closed for its connection to return to the pool.
//
// A request that fails on a reused connection before any byte of the response
// arrived is sent again on another connection when that is safe; see Config.MaxRetries.
// RoundTrip returns ErrClosed once Close or Shutdown was called.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.c.roundTrip(req)
}

// CloseIdleConnections closes the connections now idle in the pool. Connections
// in use are not affected. It is the method http.Client.CloseIdleConnections calls.
func (t *Transport) CloseIdleConnections() {
	t.c.closeIdle(closeReasonIdleClosed)
}

// Close closes every idle connection at once and makes new requests fail with
// ErrClosed. Requests in flight finish; their connections are then closed
// rather than pooled. Close always returns nil and may be called more than once.
func (t *Transport) Close() error {
	t.c.close()
	return nil
}

// Shutdown stops taking requests, waits for the requests in flight to finish
// (their response bodies read or closed), then closes every connection,
// sending HTTP/2 connections a GOAWAY first. If ctx ends first, the
// connections still in use are closed at once and Shutdown returns ctx's
// error. Requests waiting for a connection fail with ErrClosed. It notices
// the end of the last request within 10 ms: it polls rather than adding
// signalling to every request.
func (t *Transport) Shutdown(ctx context.Context) error {
	return t.c.shutdown(ctx)
}

func (c *core) roundTrip(req *http.Request) (*http.Response, error) {
	key, err := c.keyFor(req)
	if err == nil {
		err = validateRequest(req)
	}
	if err == nil && c.closed.Load() {
		err = ErrClosed
	}
	if err == nil {
		// As net/http does, a request whose context already ended dials nothing.
		err = req.Context().Err()
	}
	if err != nil {
		closeRequestBody(req)
		return nil, err
	}
	c.inflight.Add(1)
	c.stats.requests.Add(1)
	resp, err := c.send(req, key)
	if err != nil {
		c.requestDone()
	}
	return resp, err
}

// send sends req on a connection of key's pool and, when a try fails in a
// way that says the server did not act on it, sends it again where that is
// safe (see retryable). As database/sql's DB.retry does, the tries take
// pooled connections and the last one takes a new connection.
func (c *core) send(req *http.Request, key connectKey) (*http.Response, error) {
	ctx := req.Context()
	trace := httptrace.ContextClientTrace(ctx)
	free := maxUnprocessedResends // resends the server asked for, not counted in MaxRetries
	// Why the last try through the origin's alternative service (HTTP/3)
	// failed: later tries use the origin's own connections.
	var altFailed error
	altFresh := false // that try was the alternative's first on its connection
	n := need{resendable: mayResend(req, true) && replayable(req)}
	for attempt := 0; ; attempt++ {
		n.fresh = attempt > 0 && attempt == c.maxRetries
		n.noAlt = altFailed != nil
		traceGetConn(trace, key)
		t, err := c.checkout(ctx, key, n)
		if err != nil {
			closeRequestBody(req)
			return nil, err
		}
		t.trace = trace
		if t.reused {
			c.stats.reused.Add(1)
			c.logReused(&t)
		}
		traceGotConn(&t)
		resp, out, err := t.conn.roundTrip(ctx, req, t)
		if err == nil && t.coalesced {
			resp, out, err = c.misdirected(req, &t, key, attempt, resp)
		}
		if err == nil {
			t.learnAlive()
			if c.h3 != nil && !t.coalesced { // another origin's connection says nothing of this one's Alt-Svc
				if altFresh && !t.conn.base().alt && isConnGone(altFailed) {
					// The alternative failed where the origin works. A
					// connection that served before and then ended (the
					// server restarted, closed it idle) says QUIC works.
					c.h3Broken(key, altFailed)
				}
				c.noteAltSvc(t.conn, resp)
			}
			return resp, nil
		}
		if out.viaAlt {
			altFailed, altFresh = err, !t.reused
		}
		n.own = n.own || out.misdirected
		retry, err := c.retryable(req, &t, out, attempt, err)
		if !retry {
			if !out.bodyStarted {
				closeRequestBody(req)
			}
			return nil, err
		}
		if out.bodyStarted {
			if req, err = rewind(req); err != nil {
				return nil, err
			}
		}
		c.stats.retries.Add(1)
		// A server that said it did not process the request (REFUSED_STREAM,
		// a GOAWAY that excluded it) may shut out the next connection too
		// under load, so such resends do not use up MaxRetries, as with
		// x/net; a bound keeps a server that refuses everything from looping.
		if out.unprocessed && free > 0 {
			free--
			attempt--
		}
	}
}

// maxUnprocessedResends bounds the resends of one request that the server
// said it did not process, which do not count against Config.MaxRetries.
const maxUnprocessedResends = 10

// checkout finds the host's pool, looking again if it retired meanwhile.
func (c *core) checkout(ctx context.Context, key connectKey, n need) (try, error) {
	for {
		t, err := c.hostPoolFor(key).get(ctx, n)
		if err != errHostPoolDead {
			return t, err
		}
	}
}

// requestDone ends one in-flight request; Shutdown waits for them all.
func (c *core) requestDone() {
	c.inflight.Add(-1)
}

// keyFor returns the pool key of req and checks that req can be sent.
func (c *core) keyFor(req *http.Request) (connectKey, error) {
	if req.URL == nil {
		return connectKey{}, errors.New("httppool: nil Request.URL")
	}
	if req.Header == nil {
		return connectKey{}, errors.New("httppool: nil Request.Header")
	}
	key, err := keyOf(req.URL)
	if err != nil {
		return key, err
	}
	return c.proxyKey(req, key)
}

// keyForURL parses a URL or "scheme://host[:port]" into a pool key.
func (c *core) keyForURL(s string) (connectKey, error) {
	u, err := url.Parse(s)
	if err != nil {
		return connectKey{}, err
	}
	return keyOf(u)
}

func keyOf(u *url.URL) (connectKey, error) {
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return connectKey{}, errors.New("httppool: unsupported protocol scheme " + quoteScheme(u.Scheme))
	}
	if u.Host == "" {
		return connectKey{}, errors.New("httppool: no Host in request URL")
	}
	addr := u.Host
	if u.Port() == "" || hasUpper(addr) || strings.HasSuffix(addr, ":") {
		h := strings.ToLower(u.Hostname())
		if p := u.Port(); p != "" {
			port = p
		}
		addr = net.JoinHostPort(h, port)
	}
	return connectKey{scheme: u.Scheme, addr: addr}, nil
}

func quoteScheme(s string) string {
	if s == "" {
		return `""`
	}
	return `"` + s + `"`
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// hostPoolFor returns the live pool of key, creating it if needed.
func (c *core) hostPoolFor(key connectKey) *hostPool {
	if v, ok := c.hosts.Load(key); ok {
		return v.(*hostPool)
	}
	route, _ := newProxyRoute(key) // key.proxy came from url.URL.String
	hp := &hostPool{core: c, key: key, route: route, wantsH2: c.wantsH2(key) && route.route != routeForward}
	hp.h3ok = c.h3Eligible(key, route.route)
	c.attachLearner(hp)
	if hp.wantsH2 || hp.h3ok {
		if p, ok := c.protos.Load(key); ok {
			hp.proto = p.(proto)
		}
	}
	v, _ := c.hosts.LoadOrStore(key, hp)
	return v.(*hostPool)
}

// maxRememberedProtos bounds the memory of what hosts spoke.
const maxRememberedProtos = 10000

// rememberProto records what a host spoke, so that the next pool for its
// key knows whether to wait for a shared HTTP/2 connection.
func (c *core) rememberProto(key connectKey, p proto) {
	if _, loaded := c.protos.Swap(key, p); !loaded && c.protoCount.Add(1) > maxRememberedProtos {
		c.protos.Clear()
		c.protoCount.Store(0)
	}
}

func (c *core) eachHost(f func(*hostPool)) {
	c.hosts.Range(func(_, v any) bool {
		f(v.(*hostPool))
		return true
	})
}

func (c *core) closeIdle(reason closeReason) {
	c.eachHost(func(hp *hostPool) { hp.closeIdle(reason) })
}

func (c *core) close() {
	c.closed.Store(true)
	c.closeCancel()
	c.eachHost(func(hp *hostPool) { hp.shutdown() })
}

// shutdown drains in-flight requests, polling with backoff as
// http.Server.Shutdown does, so that the request path carries no signalling.
func (c *core) shutdown(ctx context.Context) error {
	c.close()
	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for c.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			c.eachHost(func(hp *hostPool) { hp.closeAll(false) })
			return ctx.Err()
		case <-timer.C:
			wait = min(2*wait, 10*time.Millisecond)
			timer.Reset(wait)
		}
	}
	c.eachHost(func(hp *hostPool) { hp.closeAll(true) })
	return nil
}
