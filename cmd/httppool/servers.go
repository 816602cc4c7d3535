package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serverOptions configures a demo server.
type serverOptions struct {
	// idleTimeout is the server's keep-alive timeout (http.Server.IdleTimeout);
	// zero means the server never closes an idle connection itself.
	idleTimeout time.Duration
	// tls, when set, makes the server speak HTTPS with this configuration.
	tls *tls.Config
	// http2 makes an HTTPS server offer HTTP/2 through ALPN; otherwise it
	// speaks HTTP/1.1 only.
	http2 bool
	// maxStreams is the HTTP/2 server's MAX_CONCURRENT_STREAMS; zero means
	// net/http's default (250).
	maxStreams int
	// http3 makes an HTTPS server offer HTTP/3 as well: quic-go's server on
	// the same port over UDP, with the same certificate (the first of
	// tls.Certificates), announced in an Alt-Svc header on every response.
	http3 bool
}

// server is an HTTP server on a loopback port chosen by the operating system.
// It records, through http.Server.ConnState, every connection it accepts and
// when each one closes, so that the demo can show what the pool did from the
// other side of the wire.
type server struct {
	URL  string // http://127.0.0.1:port or https://127.0.0.1:port
	Addr string // 127.0.0.1:port
	Port string

	srv  *http.Server
	done chan struct{} // closed when Serve returned
	h3   *h3Server     // nil unless serverOptions.http3

	mu       sync.Mutex
	conns    map[net.Conn]*connInfo
	order    []*connInfo // in the order accepted
	accepted int
	closed   int
	maxOpen  int

	requests   atomic.Int64
	h3Requests atomic.Int64 // of requests, those that came over HTTP/3
	active     atomic.Int64 // handlers running now
	maxActive  atomic.Int64
	handshakes atomic.Int64 // TLS handshakes completed, full or resumed
	resumed    atomic.Int64 // TLS handshakes that resumed a session
}

// connInfo is what a server knows about one of its connections.
type connInfo struct {
	closedAt time.Time       // zero while open
	hosts    map[string]bool // Host headers of the requests it served
}

// connKey is the context key under which a request's net.Conn is stored.
type connKey struct{}

// startServer starts a server for h on 127.0.0.1 with a port picked by the
// operating system.
func startServer(h http.Handler, opt serverOptions) (*server, error) {
	if opt.http3 && (opt.tls == nil || len(opt.tls.Certificates) == 0) {
		return nil, errors.New("demo: an HTTP/3 server needs a TLS certificate")
	}
	var ln net.Listener
	var udp *net.UDPConn
	var err error
	if opt.http3 {
		ln, udp, err = listenTCPAndUDP()
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	s := &server{
		Addr:  ln.Addr().String(),
		done:  make(chan struct{}),
		conns: make(map[net.Conn]*connInfo),
	}
	_, s.Port, _ = net.SplitHostPort(s.Addr)
	if opt.http3 {
		h = withAltSvc(h, s.Port)
	}
	s.srv = &http.Server{
		Handler:     s.wrap(h),
		IdleTimeout: opt.idleTimeout,
		ConnState:   s.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		// An empty map keeps the server on HTTP/1.1 unless opt.http2 is set.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	nextProtos := []string{"http/1.1"}
	if opt.http2 {
		s.srv.TLSNextProto = nil // net/http's own HTTP/2 server
		s.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: opt.maxStreams}
		nextProtos = []string{"h2", "http/1.1"}
	}
	scheme := "http"
	if opt.tls != nil {
		cfg := opt.tls.Clone()
		cfg.NextProtos = nextProtos
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			s.handshakes.Add(1)
			if cs.DidResume {
				s.resumed.Add(1)
			}
			return nil
		}
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}
	s.URL = scheme + "://" + s.Addr
	if opt.http3 {
		if s.h3, err = startH3Server(udp, opt.tls.Certificates[0], s.srv.Handler); err != nil {
			ln.Close()
			return nil, err
		}
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// wrap counts the requests handed to h and notes, per connection, the Host
// headers its requests arrived with.
func (s *server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.ProtoMajor == 3 {
			s.h3Requests.Add(1)
		}
		n := s.active.Add(1)
		defer s.active.Add(-1)
		for {
			m := s.maxActive.Load()
			if n <= m || s.maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
			s.mu.Lock()
			if ci := s.conns[c]; ci != nil {
				ci.hosts[r.Host] = true
			}
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// connState is the http.Server.ConnState hook that counts connections.
func (s *server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		ci := &connInfo{hosts: make(map[string]bool)}
		s.conns[c] = ci
		s.order = append(s.order, ci)
		s.accepted++
		s.maxOpen = max(s.maxOpen, s.accepted-s.closed)
	case http.StateClosed, http.StateHijacked:
		if ci := s.conns[c]; ci != nil && ci.closedAt.IsZero() {
			ci.closedAt = time.Now()
			s.closed++
		}
	}
}

// Accepted returns how many connections the server accepted.
func (s *server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Closed returns how many of its connections are closed, by either side.
func (s *server) Closed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Open returns how many connections are open now.
func (s *server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted - s.closed
}

// MaxOpen returns the most connections that were open at once.
func (s *server) MaxOpen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxOpen
}

// Conns returns a copy of what the server knows of each connection, in the
// order they were accepted.
func (s *server) Conns() []connInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connInfo, len(s.order))
	for i, ci := range s.order {
		out[i] = *ci
		out[i].hosts = make(map[string]bool, len(ci.hosts))
		for h := range ci.hosts {
			out[i].hosts[h] = true
		}
	}
	return out
}

// settle bounds how long the demo waits for a server to notice what a client
// did. Waits end as soon as the server has; only a very busy machine needs
// more than a few milliseconds.
const settle = 5 * time.Second

// WaitClosed waits until at least n connections are closed, for up to
// settle, and reports whether they are. The server notices a close by the
// client a moment after it happened, when its read fails.
func (s *server) WaitClosed(ctx context.Context, n int) bool {
	return waitFor(ctx, settle, func() bool { return s.Closed() >= n })
}

// Close stops the server: it closes the listener and every connection, then
// waits until the handlers and connection goroutines are done.
func (s *server) Close() {
	s.srv.Close()
	<-s.done
	if s.h3 != nil {
		s.h3.Close()
	}
	waitFor(context.Background(), settle, func() bool {
		return s.active.Load() == 0 && s.Open() == 0
	})
}

// waitFor polls cond every millisecond until it holds, timeout passes or ctx
// ends, and reports whether it held.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return cond()
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// sleep waits for d or until ctx ends, returning ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withAltSvc announces HTTP/3 on port of the same host in an Alt-Svc
// header on every response of h, as a server offering HTTP/3 does.
func withAltSvc(h http.Handler, port string) http.Handler {
	altSvc := `h3=":` + port + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", altSvc)
		h.ServeHTTP(w, r)
	})
}

// okHandler answers every request with a short body.
func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
}

// barrierHandler holds every request until n of them have arrived, so that n
// concurrent requests really are in flight together. It gives up after
// barrierTimeout rather than hang when fewer arrive.
func barrierHandler(n int) http.Handler {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		t := time.NewTimer(barrierTimeout)
		defer t.Stop()
		select {
		case <-all:
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "ok\n")
	})
}

// barrierTimeout bounds how long barrierHandler holds a request.
const barrierTimeout = 5 * time.Second

// slowHandler answers each request after d.
func slowHandler(d time.Duration) http.Handler {
	return &slowRoute{delay: d}
}

// slowRoute is a handler that answers after delay, or as soon as release is
// closed when release is not nil (delay is then a safety timeout). It tells
// started, if not nil, when a request arrives, and notes when it answered.
type slowRoute struct {
	delay    time.Duration
	release  chan struct{}
	started  chan struct{} // buffered; a send is skipped when it is full
	answered atomic.Int64  // when the last answer was written, in Unix nanoseconds
}

// ServeHTTP holds the request as configured, then answers it.
func (h *slowRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.started != nil {
		select {
		case h.started <- struct{}{}:
		default:
		}
	}
	t := time.NewTimer(h.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-h.release: // a nil channel never fires
	case <-r.Context().Done():
		return
	}
	h.answered.Store(time.Now().UnixNano())
	io.WriteString(w, "slow ok\n")
}

// answeredAt returns when the route last answered, zero if never.
func (h *slowRoute) answeredAt() time.Time {
	if n := h.answered.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// errNotLoopback refuses a dial that would leave the machine.
var errNotLoopback = errors.New("demo: refusing to dial a host that is not loopback")

// dialLoopback is the demo Transports' Config.DialContext: it dials only
// loopback addresses, so the demo never sends a byte off the machine. The
// name "localhost" is mapped to 127.0.0.1 and ::1 (in that order) as RFC 6761
// allows, without asking a resolver; any other name is refused.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if strings.EqualFold(host, "localhost") {
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	} else if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		ips = []netip.Addr{ip.Unmap()}
	} else {
		return nil, fmt.Errorf("%w: %s", errNotLoopback, host)
	}
	var d net.Dialer
	for _, ip := range ips {
		var c net.Conn
		c, err = d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
	}
	return nil, err
}
