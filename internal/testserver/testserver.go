// Package testserver starts HTTP servers for httppool's tests: on loopback
// TCP or in memory, counting the connections they accept and close, and raw
// servers that answer with whatever bytes a test scripts.
package testserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/memnet"
)

// Counts tracks a server's connections through http.Server.ConnState.
type Counts struct {
	accepted atomic.Int64
	closed   atomic.Int64
}

// Accepted returns how many connections the server accepted.
func (c *Counts) Accepted() int { return int(c.accepted.Load()) }

// Closed returns how many of them are closed, by either side.
func (c *Counts) Closed() int { return int(c.closed.Load()) }

// Open returns how many connections are open now.
func (c *Counts) Open() int { return c.Accepted() - c.Closed() }

func (c *Counts) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.accepted.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

// WaitClosed waits until at least n connections are closed, failing the
// test after a few seconds. The server notices a close by the client when its
// read fails, a moment after the client closed.
func (c *Counts) WaitClosed(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Closed() < n {
		if time.Now().After(deadline) {
			t.Fatalf("server saw %d closed connections, want at least %d", c.Closed(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Server is an HTTP/1.1 server on a loopback port.
type Server struct {
	Counts
	URL  string // http://127.0.0.1:port
	Addr string // 127.0.0.1:port
	srv  *httptest.Server
}

// New starts a server for h on loopback; configure, if not nil, adjusts the
// http.Server before it starts. The server stops when the test ends.
func New(t testing.TB, h http.Handler, configure func(*http.Server)) *Server {
	return start(t, h, configure, (*httptest.Server).Start)
}

// NewTLS is New with TLS and the httptest certificate; TLSConfig returns a
// client configuration that trusts it.
func NewTLS(t testing.TB, h http.Handler, configure func(*http.Server)) *Server {
	return start(t, h, configure, (*httptest.Server).StartTLS)
}

// NewH2 is NewTLS with HTTP/2 offered through ALPN besides HTTP/1.1.
func NewH2(t testing.TB, h http.Handler, configure func(*http.Server)) *Server {
	return start(t, h, configure, func(s *httptest.Server) {
		s.EnableHTTP2 = true
		s.StartTLS()
	})
}

func start(t testing.TB, h http.Handler, configure func(*http.Server), run func(*httptest.Server)) *Server {
	s := &Server{srv: httptest.NewUnstartedServer(h)}
	s.srv.Config.ConnState = s.connState
	if configure != nil {
		configure(s.srv.Config)
	}
	run(s.srv)
	s.URL, s.Addr = s.srv.URL, s.srv.Listener.Addr().String()
	t.Cleanup(s.srv.Close)
	return s
}

// TLSConfig returns a client TLS configuration that trusts the server.
func (s *Server) TLSConfig() *tls.Config {
	return s.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// HTTPTest returns the underlying httptest.Server (for its certificate).
func (s *Server) HTTPTest() *httptest.Server { return s.srv }

// Close stops the server and closes its connections.
func (s *Server) Close() { s.srv.Close() }

// Pipe is an HTTP/1.1 server on in-memory connections, for tests run in a
// testing/synctest bubble. Its Dial is a Config.DialContext.
type Pipe struct {
	Counts
	srv *http.Server
	ln  *memnet.Listener
	// Dials counts calls to Dial.
	Dials atomic.Int64
}

// NewPipe starts an in-memory server for h. Call Close before the test (or
// the synctest bubble) ends.
func NewPipe(h http.Handler, configure func(*http.Server)) *Pipe {
	p := &Pipe{ln: memnet.NewListener()}
	p.srv = &http.Server{Handler: h, ConnState: p.connState}
	if configure != nil {
		configure(p.srv)
	}
	go p.srv.Serve(p.ln)
	return p
}

// Dial connects to the server in memory; any address reaches it.
func (p *Pipe) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p.Dials.Add(1)
	return p.ln.Dial(ctx)
}

// Close stops the server and closes its connections.
func (p *Pipe) Close() { p.srv.Close() }
