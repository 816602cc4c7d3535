package httppool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/httppool/httppool/internal/testserver"
	"golang.org/x/net/http/httpproxy"
)

// originHandler answers with its name and any Proxy-Authorization that
// leaked to it.
func originHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" auth="+r.Header.Get("Proxy-Authorization"))
	})
}

func fixedProxy(raw string) func(*http.Request) (*url.URL, error) {
	u, err := url.Parse(raw)
	return func(*http.Request) (*url.URL, error) { return u, err }
}

// withCredentials returns the proxy's URL with user:pass.
func withCredentials(rawURL string) string {
	return strings.Replace(rawURL, "://", "://user:pass@", 1)
}

const basicUserPass = "Basic dXNlcjpwYXNz" // user:pass

func TestForwardProxySharesConnectionsAcrossOrigins(t *testing.T) {
	a := testserver.New(t, originHandler("a"), nil)
	b := testserver.New(t, originHandler("b"), nil)
	p := testserver.NewProxy(t, false)
	tr := newTransport(t, Config{Proxy: fixedProxy(withCredentials(p.URL))})
	for i := 0; i < 3; i++ {
		if got := get(t, tr, a.URL+"/x"); got != "a auth=" {
			t.Fatalf("origin a answered %q", got)
		}
		if got := get(t, tr, b.URL+"/y"); got != "b auth=" {
			t.Fatalf("origin b answered %q", got)
		}
	}
	if p.Accepted() != 1 {
		t.Errorf("proxy accepted %d connections, want 1 shared by both origins", p.Accepted())
	}
	if f := p.Forwards(); len(f) != 6 || f[0] != a.URL+"/x" {
		t.Errorf("proxy forwarded %v; want 6 absolute-form requests", f)
	}
	for _, auth := range p.Auths() {
		if auth != basicUserPass {
			t.Errorf("proxy saw Proxy-Authorization %q, want %q", auth, basicUserPass)
		}
	}
}

func TestConnectTunnelPerOrigin(t *testing.T) {
	a := testserver.NewTLS(t, originHandler("a"), nil)
	b := testserver.NewTLS(t, originHandler("b"), nil)
	p := testserver.NewProxy(t, false)
	tr := newTransport(t, Config{
		Proxy:              fixedProxy(withCredentials(p.URL)),
		ProxyConnectHeader: http.Header{"X-Tenant": {"t1"}},
		TLSClientConfig:    a.TLSConfig(),
	})
	for i := 0; i < 3; i++ {
		if got := get(t, tr, a.URL); got != "a auth=" {
			t.Fatalf("origin a answered %q: credentials must not reach the origin", got)
		}
		if got := get(t, tr, b.URL); got != "b auth=" {
			t.Fatalf("origin b answered %q", got)
		}
	}
	if c := p.Connects(); len(c) != 2 || !slices.Contains(c, a.Addr) || !slices.Contains(c, b.Addr) {
		t.Errorf("CONNECTs %v; want one tunnel per origin, reused", c)
	}
	for i, h := range p.Headers() {
		if h.Get("Proxy-Authorization") != basicUserPass || h.Get("X-Tenant") != "t1" {
			t.Errorf("CONNECT %d carried %v; want credentials and ProxyConnectHeader", i, h)
		}
	}
	st := tr.Stats()
	if len(st.Hosts) != 2 {
		t.Errorf("pools %v; want one per origin", st.Hosts)
	}
	for host := range st.Hosts {
		if strings.Contains(host, "pass") {
			t.Errorf("pool name %q leaks the proxy password", host)
		}
	}
}

func TestHTTP2InsideTunnel(t *testing.T) {
	origin := testserver.NewH2(t, protoHandler, nil)
	p := testserver.NewProxy(t, false)
	tr := newTransport(t, Config{Proxy: fixedProxy(p.URL), TLSClientConfig: origin.TLSConfig()})
	for i := 0; i < 3; i++ {
		if got := get(t, tr, origin.URL); got != "HTTP/2.0" {
			t.Fatalf("proto %q through the tunnel, want HTTP/2.0", got)
		}
	}
	if len(p.Connects()) != 1 {
		t.Errorf("CONNECTs %v, want 1", p.Connects())
	}
}

func TestHTTPSProxy(t *testing.T) {
	origin := testserver.NewTLS(t, originHandler("o"), nil)
	plain := testserver.New(t, originHandler("plain"), nil)
	p := testserver.NewProxy(t, true)
	// httptest servers share one test certificate, so one pool of roots
	// trusts the proxy and the origin.
	tr := newTransport(t, Config{Proxy: fixedProxy(withCredentials(p.URL)), TLSClientConfig: origin.TLSConfig()})
	if got := get(t, tr, origin.URL); got != "o auth=" {
		t.Errorf("through an https proxy's tunnel: %q", got)
	}
	if got := get(t, tr, plain.URL); got != "plain auth=" {
		t.Errorf("forwarded through an https proxy: %q", got)
	}
	if p.Accepted() != 2 || len(p.Connects()) != 1 || len(p.Forwards()) != 1 {
		t.Errorf("proxy: %d connections, CONNECTs %v, forwards %v", p.Accepted(), p.Connects(), p.Forwards())
	}
}

func TestProxyRefusingConnect(t *testing.T) {
	origin := testserver.NewTLS(t, originHandler("o"), nil)
	p := testserver.NewProxy(t, false)
	tr := newTransport(t, Config{Proxy: fixedProxy(withCredentials(p.URL)), TLSClientConfig: origin.TLSConfig()})
	for _, code := range []int{http.StatusProxyAuthRequired, http.StatusForbidden, http.StatusBadGateway} {
		p.Refuse.Store(int64(code))
		_, err := tr.RoundTrip(mustRequest(t, "GET", origin.URL, nil))
		var pe *ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != code {
			t.Fatalf("refused with %d: err = %v, want a ProxyError with that status", code, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, p.Addr) || !strings.Contains(msg, origin.Addr) || strings.Contains(msg, "pass") {
			t.Errorf("message %q should name the proxy and the target, without the password", msg)
		}
	}
	if st := tr.Stats(); st.Open != 0 || st.DialErrors != 3 {
		t.Errorf("stats = %+v; want no connection kept, 3 dial errors", st)
	}
}

func TestSOCKS5(t *testing.T) {
	origin := testserver.New(t, originHandler("o"), nil)
	_, port, _ := net.SplitHostPort(origin.Addr)
	for _, scheme := range []string{"socks5", "socks5h"} {
		t.Run(scheme, func(t *testing.T) {
			s := testserver.NewSOCKS5(t, "user", "pass")
			proxyURL := scheme + "://user:pass@" + s.Addr
			tr := newTransport(t, Config{Proxy: fixedProxy(proxyURL)})
			url := "http://localhost:" + port
			for i := 0; i < 3; i++ {
				if got := get(t, tr, url); got != "o auth=" {
					t.Fatalf("through %s: %q", scheme, got)
				}
			}
			targets := s.Targets()
			if len(targets) != 1 || s.Accepted() != 1 {
				t.Fatalf("SOCKS targets %v on %d connections; want one tunnel, reused", targets, s.Accepted())
			}
			host, _, _ := net.SplitHostPort(targets[0])
			if resolvedByClient := net.ParseIP(host) != nil; resolvedByClient != (scheme == "socks5") {
				t.Errorf("%s asked the proxy for %q", scheme, targets[0])
			}
		})
	}
	t.Run("bad credentials", func(t *testing.T) {
		s := testserver.NewSOCKS5(t, "user", "pass")
		tr := newTransport(t, Config{Proxy: fixedProxy("socks5://user:wrong@" + s.Addr)})
		_, err := tr.RoundTrip(mustRequest(t, "GET", origin.URL, nil))
		if err == nil || !strings.Contains(err.Error(), "SOCKS5 proxy") {
			t.Errorf("err = %v, want a SOCKS5 error naming the proxy", err)
		}
	})
}

func TestNoProxyIsRespected(t *testing.T) {
	origin := testserver.New(t, originHandler("o"), nil)
	_, port, _ := net.SplitHostPort(origin.Addr)
	p := testserver.NewProxy(t, false)
	p.Resolve["via.test:"+port] = origin.Addr
	env := httpproxy.Config{HTTPProxy: p.URL, NoProxy: "direct.test"}
	proxyFor := env.ProxyFunc()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "direct.test:") {
			addr = origin.Addr
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr := newTransport(t, Config{
		Proxy:       func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) },
		DialContext: dial,
	})
	get(t, tr, "http://via.test:"+port+"/")
	get(t, tr, "http://direct.test:"+port+"/")
	if f := p.Forwards(); len(f) != 1 || !strings.Contains(f[0], "via.test") {
		t.Errorf("proxy forwarded %v; want only via.test, not the NO_PROXY host", f)
	}
}

func TestDefaultProxyComesFromEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.example:3128")
	if proxyFunc(&Config{}) == nil {
		t.Error("with HTTP_PROXY set, the zero Config uses no proxy")
	}
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("http_proxy", "")
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("https_proxy", "")
	if proxyFunc(&Config{}) != nil {
		t.Error("without proxy variables, requests still consult the environment")
	}
}
