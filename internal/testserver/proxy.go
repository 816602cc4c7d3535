package testserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is an HTTP proxy on loopback: it forwards absolute-form requests
// and opens CONNECT tunnels, recording what it saw. Resolve maps the host
// names a test uses to loopback addresses.
type Proxy struct {
	*Server
	// Refuse, when not zero, is the status with which CONNECT is refused.
	Refuse atomic.Int64
	// Resolve maps "host:port" targets to dialable addresses; unmapped
	// targets are dialed as they are.
	Resolve map[string]string

	mu       sync.Mutex
	auths    []string // Proxy-Authorization of each request or CONNECT
	connects []string // CONNECT targets
	forwards []string // absolute-form request URLs
	headers  []http.Header
}

// NewProxy starts an HTTP proxy; with tls set it is an https:// proxy.
func NewProxy(t testing.TB, tls bool) *Proxy {
	p := &Proxy{Resolve: map[string]string{}}
	if tls {
		p.Server = NewTLS(t, p, nil)
	} else {
		p.Server = New(t, p, nil)
	}
	return p
}

func (p *Proxy) record(r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.auths = append(p.auths, r.Header.Get("Proxy-Authorization"))
	p.headers = append(p.headers, r.Header.Clone())
	if r.Method == http.MethodConnect {
		p.connects = append(p.connects, r.Host)
	} else {
		p.forwards = append(p.forwards, r.URL.String())
	}
}

// Auths returns the Proxy-Authorization values seen, one per request or CONNECT.
func (p *Proxy) Auths() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auths...)
}

// Connects returns the CONNECT targets seen.
func (p *Proxy) Connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

// Forwards returns the URLs of the requests forwarded.
func (p *Proxy) Forwards() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.forwards...)
}

// Headers returns the header of each request or CONNECT seen.
func (p *Proxy) Headers() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]http.Header(nil), p.headers...)
}

func (p *Proxy) target(hostport string) string {
	if a, ok := p.Resolve[hostport]; ok {
		return a
	}
	return hostport
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.record(r)
	if r.Method == http.MethodConnect {
		if code := int(p.Refuse.Load()); code != 0 {
			http.Error(w, "refused", code)
			return
		}
		upstream, err := net.Dial("tcp", p.target(r.Host))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			conn.Close()
			upstream.Close()
			return
		}
		pipe(conn, brw.Reader, upstream)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	host := r.URL.Host
	if r.URL.Port() == "" {
		host += ":80"
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", p.target(host))
	}}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// pipe copies both ways until either side ends, then closes both.
func pipe(client net.Conn, buffered *bufio.Reader, upstream net.Conn) {
	done := make(chan struct{}, 2)
	go func() { io.Copy(upstream, io.MultiReader(buffered, client)); done <- struct{}{} }()
	go func() { io.Copy(client, upstream); done <- struct{}{} }()
	<-done
	client.Close()
	upstream.Close()
	<-done
}

// SOCKS5 is a SOCKS5 proxy on loopback (RFC 1928 CONNECT, with optional
// RFC 1929 username/password), recording the targets it was asked for.
type SOCKS5 struct {
	*Raw
	User, Password string // required when User is set
	Resolve        map[string]string

	mu      sync.Mutex
	targets []string // as requested: a name for socks5h, an IP for socks5
}

// NewSOCKS5 starts a SOCKS5 proxy.
func NewSOCKS5(t testing.TB, user, password string) *SOCKS5 {
	s := &SOCKS5{User: user, Password: password, Resolve: map[string]string{}}
	s.Raw = NewRaw(t, func(_ int, c net.Conn) { s.serve(c) })
	return s
}

// Targets returns the "host:port" targets asked for.
func (s *SOCKS5) Targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

func (s *SOCKS5) serve(c net.Conn) {
	br := bufio.NewReader(c)
	if err := s.handshake(br, c); err != nil {
		return
	}
	target, err := readSOCKSRequest(br)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.targets = append(s.targets, target)
	s.mu.Unlock()
	addr := target
	if a, ok := s.Resolve[target]; ok {
		addr = a
	}
	upstream, err := net.Dial("tcp", addr)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	pipe(c, br, upstream)
}

func (s *SOCKS5) handshake(br *bufio.Reader, c net.Conn) error {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 5 {
		return errors.New("not socks5")
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return err
	}
	if s.User == "" {
		_, err := c.Write([]byte{5, 0})
		return err
	}
	c.Write([]byte{5, 2})
	var ver [2]byte
	if _, err := io.ReadFull(br, ver[:]); err != nil {
		return err
	}
	user := make([]byte, ver[1])
	io.ReadFull(br, user)
	n, _ := br.ReadByte()
	pass := make([]byte, n)
	io.ReadFull(br, pass)
	if string(user) != s.User || string(pass) != s.Password {
		c.Write([]byte{1, 1})
		return errors.New("bad credentials")
	}
	_, err := c.Write([]byte{1, 0})
	return err
}

func readSOCKSRequest(br *bufio.Reader) (string, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[1] != 1 {
		return "", errors.New("not a CONNECT")
	}
	var host string
	switch hdr[3] {
	case 1:
		var ip [4]byte
		io.ReadFull(br, ip[:])
		host = net.IP(ip[:]).String()
	case 4:
		var ip [16]byte
		io.ReadFull(br, ip[:])
		host = net.IP(ip[:]).String()
	case 3:
		n, _ := br.ReadByte()
		name := make([]byte, n)
		io.ReadFull(br, name)
		host = string(name)
	default:
		return "", errors.New("bad address type")
	}
	var port [2]byte
	if _, err := io.ReadFull(br, port[:]); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), nil
}
