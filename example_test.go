package httppool_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool"
)

// countingServer is a local server that counts the connections it accepts.
type countingServer struct {
	*httptest.Server
	accepted atomic.Int64
}

func newCountingServer(h http.Handler) *countingServer {
	s := &countingServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.accepted.Add(1)
		}
	}
	s.Start()
	return s
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "ok")
})

func fetch(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body) // read to the end: the connection goes back to the pool
	return err
}

// The second request reuses the connection of the first, as with hyper's
// Client. The body must be read to the end (or closed) for that.
func Example() {
	srv := newCountingServer(okHandler)
	defer srv.Close()

	t := httppool.New(httppool.Config{})
	defer t.Close()
	client := t.Client()

	fetch(client, srv.URL+"/api/data")
	fetch(client, srv.URL+"/api/other")

	fmt.Println("connections accepted by the server:", srv.accepted.Load())
	fmt.Println("requests on a reused connection:", t.Stats().Reused)
	// Output:
	// connections accepted by the server: 1
	// requests on a reused connection: 1
}

// A configured pool, like hyper's Client::builder(). Each host has its own
// pool: a connection to one host never serves another.
func ExampleConfig() {
	a := newCountingServer(okHandler)
	defer a.Close()
	b := newCountingServer(okHandler)
	defer b.Close()

	t := httppool.New(httppool.Config{
		IdleTimeout:    30 * time.Second, // close connections idle for 30 s
		MaxIdlePerHost: 10,               // keep at most 10 idle connections per host
	})
	defer t.Close()
	client := t.Client()

	fetch(client, a.URL)
	fetch(client, b.URL)
	fetch(client, a.URL) // reuses a's connection, not b's

	fmt.Println("server a:", a.accepted.Load(), "connection")
	fmt.Println("server b:", b.accepted.Load(), "connection")
	// Output:
	// server a: 1 connection
	// server b: 1 connection
}

// Idle connections are closed after IdleTimeout; the next request dials anew.
func ExampleConfig_idleTimeout() {
	srv := newCountingServer(okHandler)
	defer srv.Close()

	t := httppool.New(httppool.Config{IdleTimeout: 50 * time.Millisecond})
	defer t.Close()
	client := t.Client()

	fetch(client, srv.URL)
	time.Sleep(200 * time.Millisecond) // longer than the idle timeout
	fetch(client, srv.URL)

	fmt.Println("connections:", srv.accepted.Load())
	fmt.Println("closed for idle timeout:", t.Stats().Closed["idle_timeout"])
	// Output:
	// connections: 2
	// closed for idle timeout: 1
}

// After a burst of 5 concurrent requests, only MaxIdlePerHost connections
// stay in the pool; the oldest others are closed.
func ExampleConfig_maxIdlePerHost() {
	var wg sync.WaitGroup
	wg.Add(5)
	burst := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Done()
		wg.Wait() // hold every request until all 5 are in flight
		io.WriteString(w, "ok")
	})
	srv := newCountingServer(burst)
	defer srv.Close()

	t := httppool.New(httppool.Config{MaxIdlePerHost: 2})
	defer t.Close()
	client := t.Client()

	var requests sync.WaitGroup
	for i := 0; i < 5; i++ {
		requests.Add(1)
		go func() {
			defer requests.Done()
			fetch(client, srv.URL)
		}()
	}
	requests.Wait()

	st := t.Stats()
	fmt.Println("connections opened:", srv.accepted.Load())
	fmt.Println("idle now:", st.Idle)
	fmt.Println("closed over the limit:", st.Closed["max_idle_per_host"])
	// Output:
	// connections opened: 5
	// idle now: 2
	// closed over the limit: 3
}

// A response with "Connection: close" is not pooled: the next request dials.
func Example_connectionClose() {
	closing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	srv := newCountingServer(closing)
	defer srv.Close()

	t := httppool.New(httppool.Config{})
	defer t.Close()
	client := t.Client()

	fetch(client, srv.URL)
	fetch(client, srv.URL)

	fmt.Println("connections:", srv.accepted.Load())
	fmt.Println("idle:", t.Stats().Idle)
	// Output:
	// connections: 2
	// idle: 0
}

// Close closes every pooled connection, as dropping a hyper Client does;
// the Transport then refuses new requests.
func ExampleTransport_Close() {
	srv := newCountingServer(okHandler)
	defer srv.Close()

	t := httppool.New(httppool.Config{})
	client := t.Client()
	fetch(client, srv.URL)
	fmt.Println("idle before Close:", t.Stats().Idle)

	t.Close()
	fmt.Println("idle after Close:", t.Stats().Idle)

	err := fetch(client, srv.URL)
	fmt.Println("request after Close fails with ErrClosed:", errors.Is(err, httppool.ErrClosed))
	// Output:
	// idle before Close: 1
	// idle after Close: 0
	// request after Close fails with ErrClosed: true
}

// Without a pool, every request dials and closes its own connection, as
// with hyper's pool_connection(false).
func ExampleConfig_disablePooling() {
	srv := newCountingServer(okHandler)
	defer srv.Close()

	t := httppool.New(httppool.Config{DisableKeepAlives: true})
	defer t.Close()
	client := t.Client()
	for i := 0; i < 3; i++ {
		fetch(client, srv.URL)
	}
	fmt.Println("connections:", srv.accepted.Load())
	// Output:
	// connections: 3
}

// Presets follow the hyper guide's tuning advice.
func ExampleHighThroughput() {
	cfg := httppool.HighThroughput()
	fmt.Println(cfg.MaxIdlePerHost, cfg.IdleTimeout)
	cfg = httppool.ManyHosts()
	fmt.Println(cfg.MaxIdlePerHost, cfg.MaxIdleConns, cfg.IdleTimeout)
	// Output:
	// 50 2m0s
	// 1 1024 30s
}

// A program tuned for net/http moves over in one call. The
// *http.Transport's settings carry over with net/http's meaning: its zero
// TLSHandshakeTimeout (no timeout) becomes a negative HandshakeTimeout, and
// its custom TLSClientConfig without ForceAttemptHTTP2 keeps HTTP/2 off.
// What net/http cannot do is then set on the Config.
func ExampleFromTransport() {
	srv := newCountingServer(okHandler)
	defer srv.Close()

	old := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 10,
		IdleConnTimeout:     30 * time.Second,
	}
	cfg := httppool.FromTransport(old)
	cfg.MaxLifetime = 5 * time.Minute // not in net/http

	t := httppool.New(cfg)
	defer t.Close()
	client := t.Client()
	fetch(client, srv.URL)
	fetch(client, srv.URL)

	fmt.Println("MaxIdlePerHost:", cfg.MaxIdlePerHost, "IdleTimeout:", cfg.IdleTimeout)
	fmt.Println("handshake timeout:", cfg.HandshakeTimeout > 0)
	fmt.Println("HTTP/2:", !cfg.HTTP2.Disable)
	fmt.Println("connections accepted by the server:", srv.accepted.Load())
	// Output:
	// MaxIdlePerHost: 10 IdleTimeout: 30s
	// handshake timeout: false
	// HTTP/2: false
	// connections accepted by the server: 1
}
