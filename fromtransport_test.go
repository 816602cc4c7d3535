package httppool

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// A zero http.Transport's zero values keep net/http's meaning: no proxy
// (even with proxy variables set), no timeouts, idle connections kept for
// ever, 2 idle per host, 10 MiB of response header, HTTP/2 offered.
func TestFromTransportZero(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	for name, tr := range map[string]*http.Transport{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			cfg := FromTransport(tr)
			for _, target := range []string{"http://example.com/", "https://example.com/"} {
				req, _ := http.NewRequest("GET", target, nil)
				if cfg.Proxy == nil {
					t.Fatal("Proxy is nil: the Config would read the environment")
				}
				if u, err := cfg.Proxy(req); u != nil || err != nil {
					t.Errorf("Proxy(%s) = %v, %v; want no proxy", target, u, err)
				}
			}
			if cfg.HandshakeTimeout >= 0 || cfg.ContinueTimeout >= 0 || cfg.IdleTimeout >= 0 {
				t.Errorf("HandshakeTimeout %v, ContinueTimeout %v, IdleTimeout %v; want all negative (none)",
					cfg.HandshakeTimeout, cfg.ContinueTimeout, cfg.IdleTimeout)
			}
			if cfg.ResponseHeaderTimeout != 0 {
				t.Errorf("ResponseHeaderTimeout %v, want 0", cfg.ResponseHeaderTimeout)
			}
			if cfg.MaxIdlePerHost != http.DefaultMaxIdleConnsPerHost || cfg.MaxIdleConns != 0 || cfg.MaxConnsPerHost != 0 {
				t.Errorf("MaxIdlePerHost %d, MaxIdleConns %d, MaxConnsPerHost %d; want 2, 0, 0",
					cfg.MaxIdlePerHost, cfg.MaxIdleConns, cfg.MaxConnsPerHost)
			}
			if cfg.MaxResponseHeaderBytes != 10<<20 {
				t.Errorf("MaxResponseHeaderBytes %d, want 10 MiB", cfg.MaxResponseHeaderBytes)
			}
			if cfg.DialContext != nil || cfg.DisableKeepAlives || cfg.DisableCompression {
				t.Errorf("DialContext set %v, DisableKeepAlives %v, DisableCompression %v; want nil, false, false",
					cfg.DialContext != nil, cfg.DisableKeepAlives, cfg.DisableCompression)
			}
			if cfg.HTTP2 != (HTTP2Config{}) {
				t.Errorf("HTTP2 %+v, want the zero HTTP2Config (HTTP/2 offered)", cfg.HTTP2)
			}
			if c := cfg.TLSClientConfig; c != nil && (c.RootCAs != nil || c.InsecureSkipVerify || c.ServerName != "") {
				t.Errorf("TLSClientConfig %+v, want one that verifies against the system roots", c)
			}
		})
	}
}

// http.DefaultTransport's settings carry over, and the Config works.
func TestFromTransportDefault(t *testing.T) {
	cfg := FromTransport(http.DefaultTransport.(*http.Transport))
	if reflect.ValueOf(cfg.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("Proxy is not http.ProxyFromEnvironment")
	}
	if cfg.DialContext == nil {
		t.Error("DialContext is nil, want DefaultTransport's dialer")
	}
	want := Config{
		HandshakeTimeout: 10 * time.Second, ContinueTimeout: time.Second, IdleTimeout: 90 * time.Second,
		MaxIdleConns: 100, MaxIdlePerHost: 2, MaxResponseHeaderBytes: 10 << 20,
	}
	got := Config{
		HandshakeTimeout: cfg.HandshakeTimeout, ContinueTimeout: cfg.ContinueTimeout, IdleTimeout: cfg.IdleTimeout,
		MaxIdleConns: cfg.MaxIdleConns, MaxIdlePerHost: cfg.MaxIdlePerHost, MaxResponseHeaderBytes: cfg.MaxResponseHeaderBytes,
		MaxConnsPerHost: cfg.MaxConnsPerHost, ResponseHeaderTimeout: cfg.ResponseHeaderTimeout, HTTP2: cfg.HTTP2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from DefaultTransport:\n got %+v\nwant %+v", got, want)
	}

	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, cfg)
	for range 3 {
		if body := get(t, tr, srv.URL); body != "hello" {
			t.Fatalf("body %q", body)
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d connections for 3 requests, want 1", srv.Accepted())
	}
}

var errMarker = errors.New("marker")

// Each net/http field lands in its Config field, with net/http's meaning.
func TestFromTransportFields(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.test:3128")
	dialCtx := func(context.Context, string, string) (net.Conn, error) { return nil, errMarker }
	dial := func(string, string) (net.Conn, error) { return nil, errMarker }
	otherDial := func(string, string) (net.Conn, error) { return nil, errors.New("Dial used over DialContext") }
	protocols := func(set ...func(*http.Protocols, bool)) *http.Protocols {
		p := new(http.Protocols)
		for _, f := range set {
			f(p, true)
		}
		return p
	}
	noH2 := map[string]func(string, *tls.Conn) http.RoundTripper{}
	tlsConf := &tls.Config{ServerName: "origin.test", MinVersion: tls.VersionTLS13}

	tests := []struct {
		name  string
		tr    *http.Transport
		check func(t *testing.T, c Config)
	}{
		{"TLSClientConfig is cloned", &http.Transport{TLSClientConfig: tlsConf}, func(t *testing.T, c Config) {
			if c.TLSClientConfig == tlsConf || c.TLSClientConfig.ServerName != "origin.test" ||
				c.TLSClientConfig.MinVersion != tls.VersionTLS13 {
				t.Errorf("TLSClientConfig %p %+v, want a clone of %p", c.TLSClientConfig, c.TLSClientConfig, tlsConf)
			}
		}},
		{"Proxy", &http.Transport{Proxy: http.ProxyURL(proxyURL)}, func(t *testing.T, c Config) {
			req, _ := http.NewRequest("GET", "https://example.com/", nil)
			if u, err := c.Proxy(req); err != nil || u.String() != proxyURL.String() {
				t.Errorf("Proxy = %v, %v; want %v", u, err, proxyURL)
			}
		}},
		{"ProxyConnectHeader is cloned", &http.Transport{ProxyConnectHeader: http.Header{"X-Tenant": {"t1"}}}, func(t *testing.T, c Config) {
			if got := c.ProxyConnectHeader.Get("X-Tenant"); got != "t1" {
				t.Errorf("ProxyConnectHeader X-Tenant = %q, want t1", got)
			}
		}},
		{"DialContext", &http.Transport{DialContext: dialCtx, Dial: otherDial}, func(t *testing.T, c Config) {
			if _, err := c.DialContext(context.Background(), "tcp", "a:1"); err != errMarker {
				t.Errorf("DialContext returned %v, want the Transport's DialContext", err)
			}
		}},
		{"Dial without DialContext", &http.Transport{Dial: dial}, func(t *testing.T, c Config) {
			if _, err := c.DialContext(context.Background(), "tcp", "a:1"); err != errMarker {
				t.Errorf("DialContext returned %v, want the Transport's Dial", err)
			}
		}},
		{"timeouts", &http.Transport{TLSHandshakeTimeout: 5 * time.Second, ExpectContinueTimeout: 2 * time.Second,
			ResponseHeaderTimeout: 3 * time.Second, IdleConnTimeout: 30 * time.Second}, func(t *testing.T, c Config) {
			if c.HandshakeTimeout != 5*time.Second || c.ContinueTimeout != 2*time.Second ||
				c.ResponseHeaderTimeout != 3*time.Second || c.IdleTimeout != 30*time.Second {
				t.Errorf("HandshakeTimeout %v, ContinueTimeout %v, ResponseHeaderTimeout %v, IdleTimeout %v; want 5s, 2s, 3s, 30s",
					c.HandshakeTimeout, c.ContinueTimeout, c.ResponseHeaderTimeout, c.IdleTimeout)
			}
		}},
		{"limits", &http.Transport{MaxIdleConns: 7, MaxIdleConnsPerHost: 5, MaxConnsPerHost: 4}, func(t *testing.T, c Config) {
			if c.MaxIdleConns != 7 || c.MaxIdlePerHost != 5 || c.MaxConnsPerHost != 4 || c.DisableKeepAlives {
				t.Errorf("MaxIdleConns %d, MaxIdlePerHost %d, MaxConnsPerHost %d, DisableKeepAlives %v; want 7, 5, 4, false",
					c.MaxIdleConns, c.MaxIdlePerHost, c.MaxConnsPerHost, c.DisableKeepAlives)
			}
		}},
		{"negative MaxIdleConnsPerHost keeps nothing idle", &http.Transport{MaxIdleConnsPerHost: -1}, func(t *testing.T, c Config) {
			if !c.DisableKeepAlives || c.MaxIdlePerHost != 0 {
				t.Errorf("DisableKeepAlives %v, MaxIdlePerHost %d; want true, 0", c.DisableKeepAlives, c.MaxIdlePerHost)
			}
		}},
		{"negative MaxIdleConns keeps nothing idle", &http.Transport{MaxIdleConns: -1}, func(t *testing.T, c Config) {
			if !c.DisableKeepAlives || c.MaxIdleConns != 0 {
				t.Errorf("DisableKeepAlives %v, MaxIdleConns %d; want true, 0", c.DisableKeepAlives, c.MaxIdleConns)
			}
		}},
		{"MaxResponseHeaderBytes", &http.Transport{MaxResponseHeaderBytes: 4096}, func(t *testing.T, c Config) {
			if c.MaxResponseHeaderBytes != 4096 {
				t.Errorf("MaxResponseHeaderBytes %d, want 4096", c.MaxResponseHeaderBytes)
			}
		}},
		{"DisableCompression and DisableKeepAlives", &http.Transport{DisableCompression: true, DisableKeepAlives: true}, func(t *testing.T, c Config) {
			if !c.DisableCompression || !c.DisableKeepAlives {
				t.Errorf("DisableCompression %v, DisableKeepAlives %v; want true, true", c.DisableCompression, c.DisableKeepAlives)
			}
		}},
		{"HTTP2 settings", &http.Transport{HTTP2: &http.HTTP2Config{StrictMaxConcurrentRequests: true,
			MaxReceiveBufferPerConnection: 8 << 20, MaxReceiveBufferPerStream: 1 << 20, MaxReadFrameSize: 32 << 10,
			MaxDecoderHeaderTableSize: 8192, MaxEncoderHeaderTableSize: 2048,
			SendPingTimeout: 20 * time.Second, PingTimeout: 5 * time.Second, WriteByteTimeout: 3 * time.Second}}, func(t *testing.T, c Config) {
			want := HTTP2Config{StrictMaxConcurrentRequests: true,
				MaxReceiveBufferPerConnection: 8 << 20, MaxReceiveBufferPerStream: 1 << 20, MaxReadFrameSize: 32 << 10,
				MaxDecoderHeaderTableSize: 8192, MaxEncoderHeaderTableSize: 2048,
				SendPingTimeout: 20 * time.Second, PingTimeout: 5 * time.Second, WriteByteTimeout: 3 * time.Second}
			if c.HTTP2 != want {
				t.Errorf("HTTP2 %+v, want %+v", c.HTTP2, want)
			}
		}},
		{"TLSClientConfig without ForceAttemptHTTP2 leaves HTTP/2 off", &http.Transport{TLSClientConfig: &tls.Config{}}, wantHTTP2(false, false)},
		{"DialContext without ForceAttemptHTTP2 leaves HTTP/2 off", &http.Transport{DialContext: dialCtx}, wantHTTP2(false, false)},
		{"ForceAttemptHTTP2", &http.Transport{TLSClientConfig: &tls.Config{}, DialContext: dialCtx, ForceAttemptHTTP2: true}, wantHTTP2(true, false)},
		{"empty TLSNextProto turns HTTP/2 off", &http.Transport{TLSNextProto: noH2, ForceAttemptHTTP2: true}, wantHTTP2(false, false)},
		{"Protocols HTTP1 only", &http.Transport{Protocols: protocols((*http.Protocols).SetHTTP1)}, wantHTTP2(false, false)},
		{"Protocols HTTP1 and HTTP2", &http.Transport{TLSClientConfig: &tls.Config{},
			Protocols: protocols((*http.Protocols).SetHTTP1, (*http.Protocols).SetHTTP2)}, wantHTTP2(true, false)},
		{"Protocols UnencryptedHTTP2 only", &http.Transport{Protocols: protocols((*http.Protocols).SetUnencryptedHTTP2)}, wantHTTP2(false, true)},
		{"Protocols HTTP1 and UnencryptedHTTP2", &http.Transport{
			Protocols: protocols((*http.Protocols).SetHTTP1, (*http.Protocols).SetUnencryptedHTTP2)}, wantHTTP2(false, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, FromTransport(tt.tr))
		})
	}

	t.Run("the Config's copies are its own", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: tlsConf.Clone(), ProxyConnectHeader: http.Header{"X-Tenant": {"t1"}}}
		c := FromTransport(tr)
		c.TLSClientConfig.ServerName = "changed"
		c.ProxyConnectHeader.Set("X-Tenant", "changed")
		if tr.TLSClientConfig.ServerName != "origin.test" || tr.ProxyConnectHeader.Get("X-Tenant") != "t1" {
			t.Error("changing the Config changed the http.Transport")
		}
	})
}

func wantHTTP2(offered, h2c bool) func(*testing.T, Config) {
	return func(t *testing.T, c Config) {
		t.Helper()
		if c.HTTP2.Disable == offered || c.HTTP2.H2C != h2c {
			t.Errorf("HTTP2.Disable %v, HTTP2.H2C %v; want %v, %v", c.HTTP2.Disable, c.HTTP2.H2C, !offered, h2c)
		}
	}
}

// Requests through the Config speak the protocol net/http speaks with the
// same http.Transport, against a server that offers both.
func TestFromTransportSpeaksWhatNetHTTPSpeaks(t *testing.T) {
	h2 := testserver.NewH2(t, protoHandler, nil)
	h2c := testserver.New(t, protoHandler, func(s *http.Server) {
		s.Protocols = new(http.Protocols)
		s.Protocols.SetHTTP1(true)
		s.Protocols.SetUnencryptedHTTP2(true)
	})
	onlyH2C := new(http.Protocols)
	onlyH2C.SetUnencryptedHTTP2(true)
	shapes := []struct {
		name  string
		url   string
		proto string // what net/http speaks, to show that both cases are covered
		tr    func() *http.Transport
	}{
		{"TLSClientConfig", h2.URL, "HTTP/1.1", func() *http.Transport {
			return &http.Transport{TLSClientConfig: h2.TLSConfig()}
		}},
		{"TLSClientConfig, ForceAttemptHTTP2", h2.URL, "HTTP/2.0", func() *http.Transport {
			return &http.Transport{TLSClientConfig: h2.TLSConfig(), ForceAttemptHTTP2: true}
		}},
		{"empty TLSNextProto", h2.URL, "HTTP/1.1", func() *http.Transport {
			return &http.Transport{TLSClientConfig: h2.TLSConfig(), ForceAttemptHTTP2: true,
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
		}},
		{"DefaultTransport's clone", h2.URL, "HTTP/2.0", func() *http.Transport {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = h2.TLSConfig()
			return tr
		}},
		{"unencrypted HTTP/2 only", h2c.URL, "HTTP/2.0", func() *http.Transport {
			return &http.Transport{Protocols: onlyH2C}
		}},
		{"plain http", h2c.URL, "HTTP/1.1", func() *http.Transport { return &http.Transport{} }},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			std := s.tr()
			defer std.CloseIdleConnections()
			want := get(t, std, s.url)
			if want != s.proto {
				t.Fatalf("net/http spoke %s, want %s", want, s.proto)
			}
			got := get(t, newTransport(t, FromTransport(s.tr())), s.url)
			if got != want {
				t.Errorf("httppool spoke %s, net/http %s", got, want)
			}
		})
	}
}
