package httppool

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool/internal/memnet"
)

// The HTTP/3 tests of the root package run the pool's side of HTTP/3 (the
// race, Alt-Svc, broken marks, the adapter) against fakeH3, an HTTP3Dialer
// that serves requests in memory, beside an https server on in-memory
// connections, all inside testing/synctest bubbles. The http3 module tests
// the same against quic-go on loopback UDP.

// testCert is a self-signed certificate for example.test, made once.
var testCert = sync.OnceValue(func() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.test"},
		DNSNames:     []string{"example.test"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
})

// clientTLS trusts testCert.
func clientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(testCert().Leaf)
	return &tls.Config{RootCAs: pool}
}

// tlsPipe is an https server, HTTP/2 and HTTP/1.1, on in-memory connections.
type tlsPipe struct {
	srv   *http.Server
	ln    *memnet.Listener
	delay time.Duration // each dial takes this long
	mu    sync.Mutex
	dials []time.Time // when each TCP dial began
}

func newTLSPipe(h http.Handler) *tlsPipe {
	p := &tlsPipe{ln: memnet.NewListener()}
	p.srv = &http.Server{Handler: h, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{testCert()},
		NextProtos:   []string{"h2", "http/1.1"},
		// A session ticket written after the handshake can deadlock it
		// over net.Pipe, whose writes wait for the reader.
		SessionTicketsDisabled: true,
	}}
	go p.srv.ServeTLS(p.ln, "", "")
	return p
}

func (p *tlsPipe) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	p.mu.Lock()
	p.dials = append(p.dials, time.Now())
	p.mu.Unlock()
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return p.ln.Dial(ctx)
}

func (p *tlsPipe) dialTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.dials...)
}

func (p *tlsPipe) Close() { p.srv.Close() }

// fakeH3 is an HTTP3Dialer whose connections serve requests in memory.
type fakeH3 struct {
	handler http.Handler
	limit   int
	delay   time.Duration // a dial that succeeds takes this long

	mu      sync.Mutex
	block   bool                          // dials hang until their context ends, as with UDP blocked
	dialErr error                         // dials fail at once with it
	fail    func(req *http.Request) error // a request's failure, if it returns one
	conns   []*fakeH3Conn
	addrs   []string
	opts    HTTP3DialOptions
	dials   atomic.Int64
}

func (f *fakeH3) set(fn func(f *fakeH3)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeH3) DialHTTP3(ctx context.Context, addr string, tlsConfig *tls.Config, opts HTTP3DialOptions) (HTTP3Conn, error) {
	f.dials.Add(1)
	f.mu.Lock()
	block, dialErr := f.block, f.dialErr
	f.addrs = append(f.addrs, addr)
	f.opts = opts
	f.mu.Unlock()
	if tlsConfig.ServerName != "example.test" || len(tlsConfig.NextProtos) != 1 || tlsConfig.NextProtos[0] != "h3" {
		return nil, &HTTP3Error{Kind: HTTP3ConnLost, Err: errFakeTLS}
	}
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if dialErr != nil {
		return nil, dialErr
	}
	c := &fakeH3Conn{f: f}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	return c, nil
}

var errFakeTLS = &net.AddrError{Err: "fake: wrong TLS configuration for HTTP/3"}

// closedConns counts the connections closed.
func (f *fakeH3) closedConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.conns {
		if c.ctx.Err() != nil {
			n++
		}
	}
	return n
}

type fakeH3Conn struct {
	f      *fakeH3
	ctx    context.Context
	cancel context.CancelCauseFunc
	served atomic.Int64
}

func (c *fakeH3Conn) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.ctx.Err() != nil {
		return nil, &HTTP3Error{Kind: HTTP3Unsent, Err: context.Cause(c.ctx)}
	}
	c.f.mu.Lock()
	fail := c.f.fail
	c.f.mu.Unlock()
	if fail != nil {
		if err := fail(req); err != nil {
			return nil, err
		}
	}
	c.served.Add(1)
	rec := httptest.NewRecorder()
	c.f.handler.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/3.0", 3, 0
	resp.Request = req
	return resp, nil
}

func (c *fakeH3Conn) StreamLimit() int {
	if c.f.limit == 0 {
		return 100
	}
	return c.f.limit
}

func (c *fakeH3Conn) Context() context.Context { return c.ctx }

func (c *fakeH3Conn) ConnectionState() tls.ConnectionState {
	return tls.ConnectionState{NegotiatedProtocol: "h3", HandshakeComplete: true}
}

func (c *fakeH3Conn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (c *fakeH3Conn) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443}
}

func (c *fakeH3Conn) Close() error {
	c.cancel(&HTTP3Error{Kind: HTTP3ConnClosed, Code: h3NoError})
	return nil
}

// closeByServer closes the connection as a server would, with why.
func (c *fakeH3Conn) closeByServer(why *HTTP3Error) { c.cancel(why) }
