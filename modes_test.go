package httppool

// Pool behaviours and the error vocabulary, run over every protocol by one
// mode runner: what a user relies on holds whatever the server speaks.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// mode is a protocol the pool is tested over: a server for a handler, and
// what a Config needs to speak to it.
type mode struct {
	name  string
	proto string // Response.Proto
	start func(t testing.TB, h http.Handler, configure func(*http.Server)) *testserver.Server
	tls   bool
	h2c   bool
}

var modes = []mode{
	{name: "h1", proto: "HTTP/1.1", start: testserver.New},
	{name: "tls", proto: "HTTP/1.1", start: testserver.NewTLS, tls: true},
	{name: "h2", proto: "HTTP/2.0", start: testserver.NewH2, tls: true},
	{name: "h2c", proto: "HTTP/2.0", start: startH2C, h2c: true},
}

func startH2C(t testing.TB, h http.Handler, configure func(*http.Server)) *testserver.Server {
	return testserver.New(t, h, func(s *http.Server) {
		s.Protocols = new(http.Protocols)
		s.Protocols.SetUnencryptedHTTP2(true)
		if configure != nil {
			configure(s)
		}
	})
}

// modeServer is a server of one mode with a Transport configured for it.
type modeServer struct {
	*testserver.Server
	tr *Transport
}

// runModes runs f over every mode, in parallel subtests.
func runModes(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

// serve starts a server of mode m for h and a Transport for it, from cfg.
func (m mode) serve(t *testing.T, h http.Handler, configure func(*http.Server), cfg Config) modeServer {
	srv := m.start(t, h, configure)
	if m.tls {
		cfg.TLSClientConfig = srv.TLSConfig()
	}
	cfg.HTTP2.H2C = m.h2c
	return modeServer{srv, newTransport(t, cfg)}
}

func (ms modeServer) get(t *testing.T, path string) *http.Response {
	t.Helper()
	resp, err := ms.tr.RoundTrip(mustRequest(t, "GET", ms.URL+path, nil))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func TestModesSequentialRequestsShareOneConnection(t *testing.T) {
	runModes(t, func(t *testing.T, m mode) {
		ms := m.serve(t, protoHandler, nil, Config{})
		for i := 0; i < 5; i++ {
			resp := ms.get(t, "/")
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != m.proto {
				t.Fatalf("spoke %q, want %s", b, m.proto)
			}
		}
		st := ms.tr.Stats()
		if ms.Accepted() != 1 || st.Dials != 1 || st.Reused != 4 || st.Open != 1 || st.Idle != 1 || st.InUse != 0 {
			t.Errorf("accepted %d; Stats %+v; want 1 connection, dialed once, reused 4 times, idle", ms.Accepted(), st)
		}
	})
}

func TestModesIdleTimeoutClosesTheConnection(t *testing.T) {
	runModes(t, func(t *testing.T, m mode) {
		ms := m.serve(t, hello, nil, Config{IdleTimeout: 30 * time.Millisecond})
		get(t, ms.tr, ms.URL)
		ms.WaitClosed(t, 1)
		waitUntil(t, "the idle timeout counted", func() bool { return ms.tr.Stats().Closed[CloseIdleTimeout] == 1 })
		if st := ms.tr.Stats(); st.Open != 0 || st.Idle != 0 {
			t.Errorf("after the idle timeout: %+v", st)
		}
		get(t, ms.tr, ms.URL)
		if ms.Accepted() != 2 {
			t.Errorf("accepted %d, want a new connection after the timeout", ms.Accepted())
		}
	})
}

func TestModesStatsAddUpAfterConcurrentLoad(t *testing.T) {
	runModes(t, func(t *testing.T, m mode) {
		ms := m.serve(t, hello, nil, Config{MaxIdlePerHost: 4})
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 20 {
					if _, err := fetchBody(ms.tr, ms.URL); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		st := ms.tr.Stats()
		var closed int64
		for _, n := range st.Closed {
			closed += n
		}
		if st.Requests != 320 || st.InUse != 0 || st.Open != st.Idle || int64(st.Open)+closed != st.Dials ||
			st.HTTP1+st.HTTP2 != st.Open {
			t.Errorf("Stats at rest %+v: want 320 requests, nothing in use, open == idle, open + closed == dials", st)
		}
	})
}

func TestModesCloseAndShutdown(t *testing.T) {
	runModes(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				<-release
			}
			io.WriteString(w, "done")
		})
		ms := m.serve(t, h, nil, Config{})
		get(t, ms.tr, ms.URL) // a connection exists
		body := make(chan string, 1)
		go func() {
			b, err := fetchBody(ms.tr, ms.URL+"/hold")
			if err != nil {
				b = err.Error()
			}
			body <- b
		}()
		waitUntil(t, "a request in flight", func() bool { return ms.tr.Stats().InUse > 0 })
		shut := make(chan error, 1)
		go func() { shut <- ms.tr.Shutdown(context.Background()) }()
		waitUntil(t, "new requests refused", func() bool {
			_, err := fetchBody(ms.tr, ms.URL)
			return errors.Is(err, ErrClosed)
		})
		close(release)
		if got := <-body; got != "done" {
			t.Errorf("the request in flight during Shutdown got %q", got)
		}
		if err := <-shut; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ms.WaitClosed(t, ms.Accepted())
		if st := ms.tr.Stats(); st.Open != 0 {
			t.Errorf("after Shutdown: %+v", st)
		}
	})
}

// The same failure gives the same error whatever the protocol.
func TestModesSameFailureSameError(t *testing.T) {
	runModes(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		arrived := make(chan struct{}, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/slow-head":
				if r.Method == "POST" {
					arrived <- struct{}{}
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			case "/big-header":
				w.Header().Set("X-Big", strings.Repeat("a", 4096))
			case "/hang":
				w.Header().Set("Content-Length", "10")
				io.WriteString(w, "part")
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			io.WriteString(w, "body of the response")
		})
		ms := m.serve(t, h, nil, Config{ResponseHeaderTimeout: 100 * time.Millisecond, MaxResponseHeaderBytes: 2048})
		t.Cleanup(func() { close(release) }) // before the server's Close, which waits for its handlers

		t.Run("read after close", func(t *testing.T) {
			resp := ms.get(t, "/")
			resp.Body.Close()
			if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrBodyClosed) {
				t.Errorf("Read after Close: %v, want ErrBodyClosed", err)
			}
		})
		t.Run("response header timeout", func(t *testing.T) {
			_, err := (&http.Client{Transport: ms.tr}).Get(ms.URL + "/slow-head")
			var ue *url.Error
			if !errors.Is(err, ErrResponseHeaderTimeout) || !errors.As(err, &ue) || !ue.Timeout() {
				t.Errorf("err = %v; want ErrResponseHeaderTimeout, a timeout to http.Client", err)
			}
		})
		t.Run("header too large", func(t *testing.T) {
			_, err := ms.tr.RoundTrip(mustRequest(t, "GET", ms.URL+"/big-header", nil))
			var pe *ProtocolError
			var ce *ConnError
			if !errors.Is(err, ErrResponseHeaderTooLarge) || !errors.As(err, &pe) || pe.Proto != m.proto || !errors.As(err, &ce) {
				t.Errorf("err = %v; want a *ConnError holding a %s *ProtocolError that is ErrResponseHeaderTooLarge", err, m.proto)
			}
		})
		t.Run("context cancelled awaiting the head", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			tr := New(Config{TLSClientConfig: ms.tr.c.cfg.TLSClientConfig, HTTP2: ms.tr.c.cfg.HTTP2})
			defer tr.Close()
			_, err := tr.RoundTrip(mustRequest(t, "GET", ms.URL+"/slow-head", nil).WithContext(ctx))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v; want the context's error", err)
			}
		})
		t.Run("connection lost mid-body", func(t *testing.T) {
			resp := ms.get(t, "/hang")
			defer resp.Body.Close()
			buf := make([]byte, 4)
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatal(err)
			}
			ms.HTTPTest().CloseClientConnections()
			// The server's end may close (io.ErrUnexpectedEOF, as net/http
			// says) or reset: either way the same error on every protocol.
			if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("err = %v; want io.ErrUnexpectedEOF or a reset", err)
			}
		})
		t.Run("connection lost before the response", func(t *testing.T) {
			// A transport of its own: no header timeout to outrun the close
			// on a busy machine.
			tr := New(Config{TLSClientConfig: ms.tr.c.cfg.TLSClientConfig, HTTP2: ms.tr.c.cfg.HTTP2})
			defer tr.Close()
			done := make(chan error, 1)
			go func() {
				_, err := tr.RoundTrip(mustRequest(t, "POST", ms.URL+"/slow-head", strings.NewReader("x")))
				done <- err
			}()
			// Until the handler has the request the server may not track
			// the connection yet, and CloseClientConnections would miss it.
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request never reached the handler")
			}
			ms.HTTPTest().CloseClientConnections()
			err := <-done
			var ce *ConnError
			var ne net.Error
			if !errors.As(err, &ce) || !ce.RequestWritten || errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("err = %v; want a *ConnError saying the request was written", err)
			}
		})
	})
}
