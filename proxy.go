package httppool

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/net/proxy"
)

// ProxyError reports a proxy that refused to open a tunnel.
type ProxyError struct {
	Proxy      string // the proxy's URL, without credentials
	Target     string // the host:port the tunnel was for
	StatusCode int    // the proxy's answer to CONNECT
	Status     string
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("httppool: proxy %s refused CONNECT to %s: %s", e.Proxy, e.Target, e.Status)
}

// route says how a pool key's connections reach their origin.
type route uint8

const (
	routeDirect  route = iota
	routeForward       // http:// origin through an HTTP proxy: absolute-form requests
	routeTunnel        // through an HTTP proxy's CONNECT tunnel
	routeSOCKS         // through a SOCKS5 proxy
)

// proxyFunc returns the proxy chooser of cfg: Config.Proxy, or, when nil and
// the environment names a proxy, http.ProxyFromEnvironment. Without proxy
// variables no request pays for the lookup.
func proxyFunc(cfg *Config) func(*http.Request) (*url.URL, error) {
	if cfg.Proxy != nil {
		return cfg.Proxy
	}
	for _, v := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if os.Getenv(v) != "" {
			return http.ProxyFromEnvironment
		}
	}
	return nil
}

// proxyKey fills in the proxy part of key for req.
func (c *core) proxyKey(req *http.Request, key connectKey) (connectKey, error) {
	if c.proxy == nil {
		return key, nil
	}
	u, err := c.proxy(req)
	if err != nil || u == nil {
		return key, err
	}
	switch u.Scheme {
	case "http", "https":
		if key.scheme == "http" {
			// Every http:// origin shares the connections to the proxy.
			return connectKey{scheme: "http", proxy: u.String()}, nil
		}
	case "socks5", "socks5h":
	default:
		return key, fmt.Errorf("httppool: unsupported proxy scheme %q", u.Scheme)
	}
	key.proxy = u.String()
	return key, nil
}

// proxyRoute parses a key's proxy once, for its pool.
type proxyRoute struct {
	route route
	url   *url.URL
	addr  string // proxy host:port
	auth  string // Proxy-Authorization value, empty without credentials
}

func newProxyRoute(key connectKey) (proxyRoute, error) {
	if key.proxy == "" {
		return proxyRoute{}, nil
	}
	u, err := url.Parse(key.proxy)
	if err != nil {
		return proxyRoute{}, err
	}
	r := proxyRoute{url: u}
	port := u.Port()
	switch u.Scheme {
	case "http":
		port = cmpOr(port, "80")
	case "https":
		port = cmpOr(port, "443")
	case "socks5", "socks5h":
		port = cmpOr(port, "1080")
	}
	r.addr = net.JoinHostPort(u.Hostname(), port)
	switch {
	case u.Scheme == "socks5" || u.Scheme == "socks5h":
		r.route = routeSOCKS
	case key.scheme == "http":
		r.route = routeForward
	default:
		r.route = routeTunnel
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		r.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	}
	return r, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redacted is the proxy URL without its password, for errors.
func (r *proxyRoute) redacted() string { return r.url.Redacted() }

// dialRoute opens the byte stream to hp's origin: directly, to the proxy
// (forward route), through a CONNECT tunnel, or through SOCKS5.
func (c *core) dialRoute(ctx context.Context, hp *hostPool) (net.Conn, error) {
	r := &hp.route
	switch r.route {
	case routeForward, routeTunnel:
		nc, err := c.dialer(ctx, "tcp", r.addr)
		if err != nil {
			return nil, fmt.Errorf("httppool: dialing proxy %s: %w", r.redacted(), err)
		}
		if r.url.Scheme == "https" {
			tc, err := c.handshakeAs(ctx, nc, r.url.Hostname(), []string{"http/1.1"})
			if err != nil {
				nc.Close()
				return nil, fmt.Errorf("httppool: TLS to proxy %s: %w", r.redacted(), err)
			}
			nc = tc
		}
		if r.route == routeTunnel {
			tunnel, err := c.connect(ctx, nc, r, hp.key.addr)
			if err != nil {
				nc.Close()
				return nil, err
			}
			nc = tunnel
		}
		return nc, nil
	case routeSOCKS:
		return c.dialSOCKS(ctx, r, hp.key.addr)
	}
	return c.dialer(ctx, "tcp", hp.key.addr)
}

// connect asks an HTTP proxy for a tunnel to target over nc.
func (c *core) connect(ctx context.Context, nc net.Conn, r *proxyRoute, target string) (net.Conn, error) {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
		defer nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: http.Header{},
	}
	for k, v := range c.cfg.ProxyConnectHeader {
		req.Header[k] = v
	}
	if r.auth != "" {
		req.Header.Set("Proxy-Authorization", r.auth)
	}
	if err := req.Write(nc); err != nil {
		return nil, fmt.Errorf("httppool: CONNECT to proxy %s: %w", r.redacted(), c.ctxErr(ctx, err))
	}
	br := bufio.NewReaderSize(nc, 1024)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("httppool: reading proxy %s's answer to CONNECT: %w", r.redacted(), c.ctxErr(ctx, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &ProxyError{Proxy: r.redacted(), Target: target, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if br.Buffered() > 0 {
		// The origin spoke before the client: nothing in TLS or HTTP does.
		return nil, fmt.Errorf("httppool: proxy %s sent bytes after its answer to CONNECT", r.redacted())
	}
	return nc, nil
}

func (c *core) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// dialSOCKS reaches target through a SOCKS5 proxy. With socks5:// the
// client resolves the host name; with socks5h:// the proxy does.
func (c *core) dialSOCKS(ctx context.Context, r *proxyRoute, target string) (net.Conn, error) {
	var auth *proxy.Auth
	if r.url.User != nil {
		pass, _ := r.url.User.Password()
		auth = &proxy.Auth{User: r.url.User.Username(), Password: pass}
	}
	d, err := proxy.SOCKS5("tcp", r.addr, auth, contextDialer(c.dialer))
	if err != nil {
		return nil, err
	}
	targets := []string{target}
	if r.url.Scheme == "socks5" {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			return nil, err
		}
		if net.ParseIP(host) == nil {
			ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, err
			}
			targets = targets[:0]
			for _, ip := range ips {
				targets = append(targets, net.JoinHostPort(ip.IP.String(), port))
			}
		}
	}
	var lastErr error
	for _, t := range targets { // each address of the name in turn, as net.Dialer does
		nc, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", t)
		if err == nil {
			return nc, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("httppool: through SOCKS5 proxy %s: %w", r.redacted(), lastErr)
}

// contextDialer lets x/net/proxy dial the SOCKS server with the Transport's dialer.
type contextDialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (d contextDialer) Dial(network, addr string) (net.Conn, error) {
	return d(context.Background(), network, addr)
}

func (d contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

// handshakeAs runs a TLS handshake naming serverName, for a proxy.
func (c *core) handshakeAs(ctx context.Context, nc net.Conn, serverName string, protos []string) (*tls.Conn, error) {
	cfg := c.tlsConfig.Clone()
	cfg.ServerName = serverName
	cfg.NextProtos = protos
	if d := c.cfg.tlsHandshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
