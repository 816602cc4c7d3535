package httppool

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// BenchmarkHTTPS compares requests per second over HTTPS at concurrency 64
// (GOMAXPROCS × parallelism goroutines) with net/http, for HTTP/1.1 and
// HTTP/2. Client and server share the process, equally for both clients.
func BenchmarkHTTPS(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, proto := range []string{"h1", "h2"} {
		var srv *testserver.Server
		if proto == "h2" {
			srv = testserver.NewH2(b, h, nil)
		} else {
			srv = testserver.NewTLS(b, h, nil)
		}
		cfg := srv.TLSConfig()
		clients := map[string]func() (http.RoundTripper, func()){
			"httppool": func() (http.RoundTripper, func()) {
				t := New(Config{TLSClientConfig: cfg, MaxIdlePerHost: 64})
				return t, func() { t.Close() }
			},
			"nethttp": func() (http.RoundTripper, func()) {
				t := &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: proto == "h2"}
				return t, t.CloseIdleConnections
			},
		}
		for _, name := range []string{"httppool", "nethttp"} {
			b.Run(proto+"/"+name, func(b *testing.B) {
				rt, done := clients[name]()
				defer done()
				b.SetParallelism(32)
				b.ReportAllocs()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					req, _ := http.NewRequest("GET", srv.URL, nil)
					for pb.Next() {
						resp, err := rt.RoundTrip(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}

// BenchmarkTLSNewConnection measures a request on a new connection with a
// full handshake and with a resumed session.
func BenchmarkTLSNewConnection(b *testing.B) {
	srv := testserver.NewTLS(b, hello, nil)
	for _, resume := range []bool{false, true} {
		name := "full"
		if resume {
			name = "resumed"
		}
		b.Run(name, func(b *testing.B) {
			cfg := srv.TLSConfig()
			cfg.SessionTicketsDisabled = !resume
			tr := New(Config{TLSClientConfig: cfg})
			defer tr.Close()
			get(b, tr, srv.URL) // a session to resume
			tr.CloseIdleConnections()
			var resumed int
			for b.Loop() {
				resp, err := tr.RoundTrip(mustRequest(b, "GET", srv.URL, nil))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.TLS.DidResume {
					resumed++
				}
				tr.CloseIdleConnections()
			}
			if resume && resumed == 0 {
				b.Error("no session resumed")
			}
		})
	}
}
