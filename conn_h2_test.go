package httppool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
	"golang.org/x/net/http2"
)

// protoHandler answers with the protocol the request came over.
var protoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, r.Proto)
})

func TestHTTPSReuseOneConnectionOneHandshake(t *testing.T) {
	srv := testserver.NewTLS(t, protoHandler, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	for i := 0; i < 5; i++ {
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "HTTP/1.1" || resp.TLS == nil || !resp.TLS.HandshakeComplete {
			t.Fatalf("proto %q, TLS %v", b, resp.TLS)
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d TCP connections (and as many handshakes), want 1", srv.Accepted())
	}
}

func TestTLSSessionResumesOnNewConnection(t *testing.T) {
	srv := testserver.NewTLS(t, protoHandler, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	var resumed []bool
	for i := 0; i < 3; i++ {
		resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // reading also takes in the session ticket
		resp.Body.Close()
		resumed = append(resumed, resp.TLS.DidResume)
		tr.CloseIdleConnections()
	}
	if fmt.Sprint(resumed) != "[false true true]" {
		t.Errorf("DidResume per new connection = %v, want [false true true]", resumed)
	}
}

func TestTLSConfigIsNeverModified(t *testing.T) {
	srv := testserver.NewH2(t, protoHandler, nil)
	cfg := srv.TLSConfig()
	before := fmt.Sprintf("%q %q %v", cfg.NextProtos, cfg.ServerName, cfg.ClientSessionCache)
	tr := newTransport(t, Config{TLSClientConfig: cfg})
	get(t, tr, srv.URL)
	if after := fmt.Sprintf("%q %q %v", cfg.NextProtos, cfg.ServerName, cfg.ClientSessionCache); after != before {
		t.Errorf("TLSConfig changed from %s to %s", before, after)
	}
}

func TestCertificateThatFailsVerification(t *testing.T) {
	srv := testserver.NewTLS(t, protoHandler, nil)
	tr := newTransport(t, Config{}) // system roots: the test certificate is not trusted
	_, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("err = %v, want an x509.UnknownAuthorityError", err)
	}
	if st := tr.Stats(); st.Open != 0 || st.DialErrors != 1 {
		t.Errorf("stats = %+v; want no connection kept, one dial error", st)
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		io.Copy(io.Discard, c) // accepts, never answers the ClientHello
	})
	tr := newTransport(t, Config{HandshakeTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := tr.RoundTrip(mustRequest(t, "GET", "https://"+srv.Addr, nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the handshake's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestH2ManyRequestsOneConnection(t *testing.T) {
	srv := testserver.NewH2(t, barrier(100), nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	var wg sync.WaitGroup
	var h2 atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor == 2 {
				h2.Add(1)
			}
		}()
	}
	wg.Wait()
	if srv.Accepted() != 1 || h2.Load() != 100 {
		t.Errorf("accepted %d connections, %d responses over HTTP/2; want 1 and 100", srv.Accepted(), h2.Load())
	}
	st := tr.Stats()
	if st.HTTP2 != 1 || st.Idle != 1 || st.InUse != 0 || st.Dials != 1 {
		t.Errorf("stats = %+v; want one idle HTTP/2 connection, dialed once", st)
	}
}

func TestH2StreamLimit(t *testing.T) {
	limit := func(s *http.Server) { s.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 10} }
	t.Run("opens more connections", func(t *testing.T) {
		srv := testserver.NewH2(t, barrier(50), limit) // all 50 in flight at once
		tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
		getConcurrently(t, tr, srv.URL, 50)
		if a := srv.Accepted(); a != 5 {
			t.Errorf("accepted %d connections for 50 streams at 10 per connection, want 5", a)
		}
	})
	t.Run("strict waits on one connection", func(t *testing.T) {
		var cur, peak atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := cur.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
		})
		srv := testserver.NewH2(t, h, limit)
		tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig(), HTTP2: HTTP2Config{StrictMaxConcurrentRequests: true}})
		getConcurrently(t, tr, srv.URL, 50)
		if a := srv.Accepted(); a != 1 || peak.Load() > 10 {
			t.Errorf("accepted %d connections, peak %d streams; want 1 connection, at most 10", a, peak.Load())
		}
	})
}

func TestConcurrentFirstRequestsWaitForTheProtocol(t *testing.T) {
	t.Run("h2: one connection", func(t *testing.T) {
		srv := testserver.NewH2(t, protoHandler, nil)
		tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
		getConcurrently(t, tr, srv.URL, 20)
		if a := srv.Accepted(); a != 1 {
			t.Errorf("accepted %d connections, want 1: the first handshake shows HTTP/2", a)
		}
	})
	t.Run("http/1.1 fallback: one each", func(t *testing.T) {
		srv := testserver.NewTLS(t, barrier(10), nil)
		tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
		getConcurrently(t, tr, srv.URL, 10)
		st := tr.Stats()
		if a := srv.Accepted(); a != 10 || st.HTTP1 != 10 || st.HTTP2 != 0 {
			t.Errorf("accepted %d connections, stats %+v; want 10 HTTP/1.1 connections", a, st)
		}
		// The pool remembers: the next burst does not wait for a handshake.
		if p := tr.c.hostPoolFor(connectKey{scheme: "https", addr: srv.Addr}).proto; p != protoH1 {
			t.Errorf("remembered protocol %v, want HTTP/1.1", p)
		}
	})
}

func TestH2DisabledSpeaksHTTP1(t *testing.T) {
	srv := testserver.NewH2(t, protoHandler, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig(), HTTP2: HTTP2Config{Disable: true}})
	if got := get(t, tr, srv.URL); got != "HTTP/1.1" {
		t.Errorf("proto %q, want HTTP/1.1", got)
	}
}

func TestH2CPriorKnowledge(t *testing.T) {
	srv := testserver.New(t, protoHandler, func(s *http.Server) {
		s.Protocols = new(http.Protocols)
		s.Protocols.SetUnencryptedHTTP2(true)
		s.Protocols.SetHTTP1(true)
	})
	tr := newTransport(t, Config{HTTP2: HTTP2Config{H2C: true}})
	for i := 0; i < 5; i++ {
		if got := get(t, tr, srv.URL); got != "HTTP/2.0" {
			t.Fatalf("proto %q, want HTTP/2.0", got)
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d, want 1", srv.Accepted())
	}
}

func TestH2IdleTimeoutAndClose(t *testing.T) {
	srv := testserver.NewH2(t, protoHandler, nil)
	tr := New(Config{TLSClientConfig: srv.TLSConfig(), IdleTimeout: 50 * time.Millisecond})
	get(t, tr, srv.URL)
	srv.WaitClosed(t, 1) // closed by the sweeper once idle
	// The pool counts a close just after closing the socket, so the server
	// may see the close before the count changes.
	waitUntil(t, "the sweeper's close to be counted", func() bool { return tr.Stats().Closed[CloseIdleTimeout] >= 1 })
	if n := tr.Stats().Closed[CloseIdleTimeout]; n != 1 {
		t.Errorf("closed for idle timeout = %d, want 1", n)
	}
	get(t, tr, srv.URL)
	tr.Close()
	srv.WaitClosed(t, 2)
	waitUntil(t, "Stats to show nothing open after Close", func() bool {
		st := tr.Stats()
		return st.Open == 0 && st.HTTP2 == 0 && st.Idle == 0
	})
	if st := tr.Stats(); st.Open != 0 || st.HTTP2 != 0 || st.Idle != 0 {
		t.Errorf("after Close: %+v", st)
	}
}

func TestH2MaxRequestsPerConnDrainsAndCloses(t *testing.T) {
	srv := testserver.NewH2(t, protoHandler, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig(), MaxRequestsPerConn: 3})
	for i := 0; i < 7; i++ {
		get(t, tr, srv.URL)
	}
	if a := srv.Accepted(); a != 3 {
		t.Errorf("accepted %d connections for 7 requests at 3 per connection, want 3", a)
	}
	srv.WaitClosed(t, 2)
}

// TestH2GoAwayLosesNoRequest turns keep-alives off on the server mid-load:
// each connection then gets a GOAWAY as soon as it is idle, while the client
// keeps sending. Requests the server did not process are sent again; none
// fails and none is processed twice.
func TestH2GoAwayLosesNoRequest(t *testing.T) {
	var processed atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		processed.Add(1)
		time.Sleep(time.Millisecond)
		io.WriteString(w, "ok")
	})
	srv := testserver.NewH2(t, h, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	const total, workers = 400, 16
	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := sent.Add(1)
				if n > total {
					return
				}
				if n == total/4 { // exactly one worker draws this number
					srv.HTTPTest().Config.SetKeepAlivesEnabled(false)
				}
				if _, err := fetchBody(tr, srv.URL); err != nil {
					t.Errorf("request failed: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	st := tr.Stats()
	t.Logf("%d requests processed on %d connections, %d retries, closed %v", processed.Load(), srv.Accepted(), st.Retries, st.Closed)
	if processed.Load() != total {
		t.Errorf("server processed %d requests, want %d: none lost, none twice", processed.Load(), total)
	}
	if srv.Accepted() < 2 {
		t.Errorf("accepted %d connections; the GOAWAYs should have forced new ones", srv.Accepted())
	}
}

func TestH2ConnectionDyingMidStream(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-release
			return
		}
		io.WriteString(w, "ok")
	})
	srv := testserver.NewH2(t, h, nil)
	defer close(release)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/hang", nil))
	if err != nil {
		t.Fatal(err)
	}
	srv.HTTPTest().CloseClientConnections()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading a body whose connection died succeeded")
	}
	resp.Body.Close()
	if got := get(t, tr, srv.URL+"/ok"); got != "ok" {
		t.Errorf("next request: %q", got)
	}
	if srv.Accepted() != 2 {
		t.Errorf("accepted %d, want a new connection after the dead one", srv.Accepted())
	}
}

func TestH2ShutdownSendsGoAwayAfterStreamsEnd(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "done")
	})
	srv := testserver.NewH2(t, h, nil)
	tr := New(Config{TLSClientConfig: srv.TLSConfig()})
	get(t, tr, srv.URL) // the connection exists
	body := make(chan string)
	go func() {
		b, err := fetchBody(tr, srv.URL)
		if err != nil {
			b = err.Error()
		}
		body <- b
	}()
	waitUntil(t, "a connection in use", func() bool { return tr.Stats().InUse > 0 })
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-body; got != "done" {
		t.Errorf("in-flight stream got %q", got)
	}
	srv.WaitClosed(t, 1)
}

// TestH2BadFrameFailsOnlyItsConnection has a server that negotiates h2 and
// then answers the client's preface with bytes that are no HTTP/2 frame.
func TestH2BadFrameFailsOnlyItsConnection(t *testing.T) {
	good := testserver.NewH2(t, protoHandler, nil)
	serverTLS := good.HTTPTest().TLS.Clone()
	serverTLS.NextProtos = []string{"h2"}
	bad := testserver.NewRaw(t, func(_ int, c net.Conn) {
		tc := tls.Server(c, serverTLS)
		if tc.Handshake() != nil {
			return
		}
		preface := make([]byte, 24)
		io.ReadFull(tc, preface)
		tc.Write([]byte("\x00\x00\x04\xff\x00\x00\x00\x00\x00garbage that is no frame"))
		io.Copy(io.Discard, tc)
	})
	tr := newTransport(t, Config{TLSClientConfig: good.TLSConfig()})
	if _, err := tr.RoundTrip(mustRequest(t, "GET", "https://"+bad.Addr, nil)); err == nil {
		t.Fatal("a request on a connection that sent a bad frame succeeded")
	}
	if got := get(t, tr, good.URL); got != "HTTP/2.0" {
		t.Errorf("the other host's request got %q", got)
	}
	if hs, ok := tr.HostStats("https://" + bad.Addr); ok && hs.Open != 0 {
		t.Errorf("the broken connection stayed in the pool: %+v", hs)
	}
}

func TestH2ResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := testserver.NewH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), nil)
	defer close(release)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig(), ResponseHeaderTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil).WithContext(ctx))
	if !errors.Is(err, ErrResponseHeaderTimeout) {
		t.Errorf("err = %v, want ErrResponseHeaderTimeout as over HTTP/1.1", err)
	}
}

// readRecorder reports whether its body was ever read.
type readRecorder struct {
	io.Reader
	read atomic.Bool
}

func (r *readRecorder) Read(p []byte) (int, error) {
	r.read.Store(true)
	return r.Reader.Read(p)
}

func TestH2ExpectContinueWithholdsBody(t *testing.T) {
	srv := testserver.NewH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusExpectationFailed) // without reading the body
	}), nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig(), ContinueTimeout: 5 * time.Second})
	body := &readRecorder{Reader: strings.NewReader("never sent")}
	req := mustRequest(t, "POST", srv.URL, body)
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusExpectationFailed || body.read.Load() {
		t.Errorf("status %d, body read %v; want 417 with the body withheld", resp.StatusCode, body.read.Load())
	}
}

func TestCloseIdleConnectionsLeavesBusyHTTP2ConnectionsAlone(t *testing.T) {
	release := make(chan struct{})
	srv := testserver.NewH2(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
		}
		io.WriteString(w, r.Proto)
	}), nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	done := make(chan error)
	go func() {
		_, err := fetchBody(tr, srv.URL+"/hold")
		done <- err
	}()
	waitUntil(t, "a connection in use", func() bool { return tr.Stats().InUse > 0 })
	tr.CloseIdleConnections()
	get(t, tr, srv.URL) // the busy connection still takes requests
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d connections, want 1: CloseIdleConnections closed a busy one", srv.Accepted())
	}
}

// goAwayServer speaks HTTP/2 and answers every request's HEADERS with a
// GOAWAY that excludes it: the server processed nothing.
func goAwayServer(t *testing.T, serverTLS *tls.Config) *testserver.Raw {
	return testserver.NewRaw(t, func(_ int, c net.Conn) {
		tc := tls.Server(c, serverTLS)
		if tc.Handshake() != nil {
			return
		}
		preface := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(tc, preface); err != nil {
			return
		}
		fr := http2.NewFramer(tc, tc)
		fr.WriteSettings()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					fr.WritePing(true, f.Data)
				}
			case *http2.HeadersFrame:
				fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			}
		}
	})
}

// TestH2GoAwayResendsOnlyReplayableRequests: a request the server excluded
// with GOAWAY is sent again when its body can be replayed, and fails with
// the GOAWAY error, not a panic, when it cannot.
func TestH2GoAwayResendsOnlyReplayableRequests(t *testing.T) {
	good := testserver.NewH2(t, protoHandler, nil)
	serverTLS := good.HTTPTest().TLS.Clone()
	serverTLS.NextProtos = []string{"h2"}
	srv := goAwayServer(t, serverTLS)
	tr := newTransport(t, Config{TLSClientConfig: good.TLSConfig()})
	url := "https://" + srv.Addr

	_, err := tr.RoundTrip(mustRequest(t, "POST", url, oneShotBody{strings.NewReader("x")}))
	if err == nil || !strings.Contains(err.Error(), "GOAWAY") {
		t.Errorf("one-shot POST: err = %v, want the GOAWAY error", err)
	}
	if r := tr.Stats().Retries; r != 0 {
		t.Errorf("retries = %d for a body that cannot be replayed", r)
	}
	_, err = tr.RoundTrip(mustRequest(t, "POST", url, strings.NewReader("x")))
	if err == nil {
		t.Fatal("a server that refuses everything answered")
	}
	// GOAWAY says the server processed nothing: such resends are bounded
	// apart from MaxRetries.
	if r, want := tr.Stats().Retries, int64(DefaultMaxRetries+maxUnprocessedResends); r != want {
		t.Errorf("retries = %d for a replayable body, want %d", r, want)
	}
}
