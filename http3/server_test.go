package http3

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/internal/testserver"
	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// h3Server is quic-go's HTTP/3 server on a packet conn, one http3.Server
// per QUIC connection so that a test can send one connection a GOAWAY.
type h3Server struct {
	pc      net.PacketConn
	tr      *quic.Transport
	ln      *quic.EarlyListener
	handler http.Handler

	mu      sync.Mutex
	servers []*qhttp3.Server
	wg      sync.WaitGroup
}

// newH3Server serves handler over HTTP/3 on pc with cert until Close.
func newH3Server(pc net.PacketConn, cert tls.Certificate, handler http.Handler) (*h3Server, error) {
	s := &h3Server{pc: pc, tr: &quic.Transport{Conn: pc}, handler: handler}
	tlsConf := qhttp3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	ln, err := s.tr.ListenEarly(tlsConf, &quic.Config{Allow0RTT: true})
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *h3Server) accept() {
	defer s.wg.Done()
	for {
		qc, err := s.ln.Accept(context.Background())
		if err != nil {
			return
		}
		srv := &qhttp3.Server{Handler: s.handler}
		s.mu.Lock()
		s.servers = append(s.servers, srv)
		s.mu.Unlock()
		s.wg.Go(func() { srv.ServeQUICConn(qc) })
	}
}

// accepted returns how many QUIC connections the server accepted.
func (s *h3Server) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.servers)
}

// goAway shuts connection i down gracefully: GOAWAY, then the requests in
// flight finish. It returns at once.
func (s *h3Server) goAway(i int) {
	s.mu.Lock()
	srv := s.servers[i]
	s.mu.Unlock()
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// Close stops the server and closes its connections.
func (s *h3Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	servers := s.servers
	s.mu.Unlock()
	for _, srv := range servers {
		srv.Close()
	}
	s.wg.Wait()
	s.tr.Close()
	s.pc.Close()
}

// rig is an origin on loopback serving HTTP/2 over TCP, with Alt-Svc
// pointing at quic-go's HTTP/3 server on a UDP port of the same host, and a
// Transport with HTTP/3 on whose UDP sockets the test can block.
type rig struct {
	tcp       *testserver.Server
	h3        *h3Server
	origin    string // https://127.0.0.1:port
	tr        *httppool.Transport
	blocked   atomic.Bool  // new client sockets drop every datagram
	sockets   atomic.Int64 // client sockets opened: one per QUIC dial
	maxFlight atomic.Int64 // requests in flight at once at the HTTP/3 server, at most
	inFlight  atomic.Int64
}

// newRig starts the servers; handler (nil for one that answers "ok") serves
// both. configure adjusts the Transport's Config and the Dialer.
func newRig(t testing.TB, handler http.Handler, configure func(*httppool.Config, *Dialer)) *rig {
	t.Helper()
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	}
	r := &rig{}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	altSvc := `h3=":` + strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port) + `"; ma=3600`
	both := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Alt-Svc", altSvc)
		w.Header().Set("X-Proto", req.Proto)
		if req.ProtoMajor == 3 {
			n := r.inFlight.Add(1)
			for m := r.maxFlight.Load(); n > m && !r.maxFlight.CompareAndSwap(m, n); m = r.maxFlight.Load() {
			}
			defer r.inFlight.Add(-1)
		}
		handler.ServeHTTP(w, req)
	})
	r.tcp = testserver.NewH2(t, both, nil)
	r.origin = r.tcp.URL
	r.h3, err = newH3Server(udp, r.tcp.HTTPTest().TLS.Certificates[0], both)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.h3.Close)

	d := &Dialer{ListenPacket: func(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
		r.sockets.Add(1)
		pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil || !r.blocked.Load() {
			return pc, err
		}
		return dropConn{pc}, nil
	}}
	cfg := httppool.Config{TLSClientConfig: r.tcp.TLSConfig()}
	if configure != nil {
		configure(&cfg, d)
	}
	cfg.HTTP3.Dialer = d
	r.tr = httppool.New(cfg)
	t.Cleanup(func() { r.tr.Close() })
	return r
}

// dropConn is a UDP socket whose datagrams go nowhere, as on a network
// that blocks UDP: writes succeed, nothing ever arrives.
type dropConn struct{ net.PacketConn } // an interface: quic-go must not find WriteMsgUDP

func (c dropConn) WriteTo(p []byte, addr net.Addr) (int, error) { return len(p), nil }

// slowConn is a UDP socket whose datagrams leave after a delay, in order.
type slowConn struct {
	net.PacketConn
	delay time.Duration
	mu    sync.Mutex
	last  time.Time // when the last datagram queued leaves
}

func (c *slowConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	b := bytes.Clone(p)
	c.mu.Lock()
	at := time.Now().Add(c.delay)
	if at.Before(c.last) {
		at = c.last
	}
	c.last = at
	c.mu.Unlock()
	time.AfterFunc(time.Until(at), func() { c.PacketConn.WriteTo(b, addr) })
	return len(p), nil
}

// get sends a GET and returns the protocol it went over, having read the body.
func (r *rig) get(t testing.TB, path string) string {
	t.Helper()
	resp, err := r.do(context.Background(), "GET", path)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Proto
}

func (r *rig) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.origin+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// waitFor polls cond every millisecond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// discover sends the first request, over TCP, and waits for the HTTP/3
// connection that its Alt-Svc header starts.
func (r *rig) discover(t testing.TB) {
	t.Helper()
	if p := r.get(t, "/"); p != "HTTP/2.0" {
		t.Fatalf("first request over %s, want HTTP/2.0", p)
	}
	waitFor(t, "the HTTP/3 connection", func() bool { return r.tr.Stats().HTTP3 == 1 })
}
