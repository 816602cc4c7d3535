package httppool

// A TLS server on one loopback address whose certificates cover several
// names, for the coalescing tests: names reach it through a Transport whose
// dialer sends every name to it and whose resolver (Config.LookupNetIP)
// answers what the test says.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// namesCert returns a self-signed certificate for names: DNS names, or IP
// addresses for those that parse as one.
func namesCert(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// namesServer is an HTTP/2 (and HTTP/1.1) server over TLS on 127.0.0.1
// that counts TCP connections and TLS handshakes and records, per
// connection, the hosts its requests named.
type namesServer struct {
	addr  string // 127.0.0.1:port
	port  string
	roots *x509.CertPool // trusts every certificate it serves

	accepted   atomic.Int64
	handshakes atomic.Int64
	misdirect  atomic.Int64 // 421s answered

	mu    sync.Mutex
	hosts map[string]map[string]int // remote address → host → requests
}

// namesOptions adjusts a namesServer.
type namesOptions struct {
	// misdirect answers 421 to a request whose host is not the name the
	// connection's handshake asked for (SNI), as servers whose names have
	// different TLS configurations do.
	misdirect bool
	// origins, if not nil, are sent in an ORIGIN frame (RFC 8336) after
	// the server's SETTINGS on every HTTP/2 connection; "{port}" in them
	// stands for the server's port.
	origins []string
	// maxStreams is the HTTP/2 server's MAX_CONCURRENT_STREAMS; zero
	// means net/http's default.
	maxStreams int
}

// startNamesServer starts a server for certs (crypto/tls picks by the
// name the client asks for) answering "<host> <body>" to every request,
// after calling hold, if not nil.
func startNamesServer(t testing.TB, certs []tls.Certificate, opt namesOptions, hold func(*http.Request)) *namesServer {
	t.Helper()
	s := &namesServer{roots: x509.NewCertPool(), hosts: map[string]map[string]int{}}
	for _, c := range certs {
		s.roots.AddCert(c.Leaf)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	_, s.port, _ = net.SplitHostPort(s.addr)
	cfg := &tls.Config{
		Certificates: certs,
		NextProtos:   []string{"h2", "http/1.1"},
		VerifyConnection: func(tls.ConnectionState) error {
			s.handshakes.Add(1)
			return nil
		},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.URL.Hostname()
		if host == "" {
			host, _, _ = net.SplitHostPort(r.Host)
		}
		s.mu.Lock()
		if s.hosts[r.RemoteAddr] == nil {
			s.hosts[r.RemoteAddr] = map[string]int{}
		}
		s.hosts[r.RemoteAddr][host]++
		s.mu.Unlock()
		if opt.misdirect && r.TLS != nil && r.TLS.ServerName != host {
			s.misdirect.Add(1)
			w.WriteHeader(http.StatusMisdirectedRequest)
			io.WriteString(w, "misdirected")
			return
		}
		if hold != nil {
			hold(r)
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", host, body)
	})
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	h2 := &http2.Server{MaxConcurrentStreams: uint32(opt.maxStreams)}
	if opt.origins != nil || opt.maxStreams != 0 {
		var frame []byte
		if opt.origins != nil {
			origins := make([]string, len(opt.origins))
			for i, o := range opt.origins {
				origins[i] = strings.ReplaceAll(o, "{port}", s.port)
			}
			frame = originFrame(origins)
		}
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
			"h2": func(hs *http.Server, c *tls.Conn, h http.Handler) {
				var nc net.Conn = c
				if frame != nil {
					nc = &originConn{Conn: c, frame: frame}
				}
				h2.ServeConn(nc, &http2.ServeConnOpts{BaseConfig: hs, Handler: h})
			},
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(tls.NewListener(countingListener{ln, &s.accepted}, cfg))
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// url returns the URL of path on the server under name.
func (s *namesServer) url(name, path string) string {
	return "https://" + net.JoinHostPort(name, s.port) + path
}

// origin returns the pool key of name on the server, as Stats shows it.
func (s *namesServer) origin(name string) string {
	return "https://" + net.JoinHostPort(name, s.port)
}

// connHosts returns, per connection the server served requests on, the
// hosts those requests named, sorted and joined by "+", the connections
// sorted too.
func (s *namesServer) connHosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, hosts := range s.hosts {
		var names []string
		for h := range hosts {
			names = append(names, h)
		}
		sort.Strings(names)
		out = append(out, strings.Join(names, "+"))
	}
	sort.Strings(out)
	return out
}

// transport returns a Transport configured by cfg that trusts the server,
// dials it for every name unless cfg has a dialer, and whose resolver
// answers resolve (name → IP address; other names do not resolve) unless
// cfg has a resolver or resolve is nil.
func (s *namesServer) transport(t testing.TB, cfg Config, resolve map[string]string) *Transport {
	tc := &tls.Config{}
	if cfg.TLSClientConfig != nil {
		tc = cfg.TLSClientConfig.Clone()
	}
	tc.RootCAs = s.roots
	cfg.TLSClientConfig = tc
	if cfg.DialContext == nil {
		cfg.DialContext = s.dial
	}
	if cfg.LookupNetIP == nil && resolve != nil {
		cfg.LookupNetIP = fakeResolver(resolve, nil)
	}
	if cfg.Proxy == nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	return newTransport(t, cfg)
}

// dial connects to the server whatever the address names.
func (s *namesServer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr)
}

// fakeResolver answers names from resolve, counting each lookup in
// lookups if not nil.
func fakeResolver(resolve map[string]string, lookups *atomic.Int64) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if lookups != nil {
			lookups.Add(1)
		}
		ip, ok := resolve[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
}

// allTo maps every name to ip.
func allTo(ip string, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = ip
	}
	return m
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// originFrame returns the bytes of an ORIGIN frame listing origins.
func originFrame(origins []string) []byte {
	var payload []byte
	for _, o := range origins {
		payload = append(payload, byte(len(o)>>8), byte(len(o)))
		payload = append(payload, o...)
	}
	var buf bytes.Buffer
	if err := http2.NewFramer(&buf, nil).WriteRawFrame(frameOrigin, 0, 0, payload); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// originConn is a server's TLS connection that sends an ORIGIN frame
// right after the server's first write, its SETTINGS.
type originConn struct {
	*tls.Conn
	frame []byte
	once  sync.Once
}

func (c *originConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err == nil {
		c.once.Do(func() { _, err = c.Conn.Write(c.frame) })
	}
	return n, err
}

// fetch sends req through tr and returns the body, or the error.
func fetch(tr http.RoundTripper, req *http.Request) (*http.Response, string, error) {
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// getAll sends a GET for each URL at once and fails t on any error or on
// a body that does not start with the URL's host.
func getAll(t testing.TB, tr http.RoundTripper, urls []string) {
	t.Helper()
	errs := make(chan error, len(urls))
	for _, u := range urls {
		go func() {
			req, err := http.NewRequest("GET", u, nil)
			if err != nil {
				errs <- err
				return
			}
			_, body, err := fetch(tr, req)
			if err == nil && !strings.HasPrefix(body, req.URL.Hostname()+" ") {
				err = fmt.Errorf("GET %s: body %q, want it to start with the host", u, body)
			}
			errs <- err
		}()
	}
	var all []error
	for range urls {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	if err := errors.Join(all...); err != nil {
		t.Fatal(err)
	}
}
