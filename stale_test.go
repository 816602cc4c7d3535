package httppool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// idleClosingServer closes each connection that stays idle for timeout
// after a response, with a FIN or, when reset is set, an RST. A new
// connection gets a few seconds for its first request, so that only idle
// connections are closed, even on a loaded machine.
func idleClosingServer(t *testing.T, timeout time.Duration, reset bool) *testserver.Raw {
	return idleClosingServerNotifying(t, timeout, reset, nil)
}

// idleClosingServerNotifying is idleClosingServer that sends on closed each
// time it has closed an idle connection, so that a test can wait for the
// close instead of sleeping past it.
//
// A request that arrived before the timeout is served even if the server
// gets to read it only after (the test process stalled, on a busy
// machine), as an event loop that handles readable sockets before expired
// timers does; otherwise such a stall would fail requests sent on
// connections idle for no time at all.
func idleClosingServerNotifying(t *testing.T, timeout time.Duration, reset bool, closed chan<- struct{}) *testserver.Raw {
	return testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for first := true; ; first = false {
			if first {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
			} else {
				c.SetReadDeadline(time.Now().Add(timeout))
			}
			req, err := http.ReadRequest(br)
			if err != nil && !first && errors.Is(err, os.ErrDeadlineExceeded) && br.Buffered() == 0 {
				c.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, perr := br.Peek(1); perr == nil {
					c.SetReadDeadline(time.Time{})
					req, err = http.ReadRequest(br)
				}
			}
			if err != nil {
				if reset {
					c.(*net.TCPConn).SetLinger(0)
				}
				if closed != nil && !first {
					c.Close()
					closed <- struct{}{}
				}
				return
			}
			c.SetReadDeadline(time.Time{})
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
}

// serverCloses counts the connections a Transport saw the server close
// while idle: found closed at checkout, failed before any response byte, or
// retired for the learned idle timeout, which the sweeper then finds closed.
func serverCloses(st Stats) int64 {
	return st.Closed[CloseServerClosed] + st.Closed[CloseLearnedIdleTimeout]
}

// oneShotBody is a request body that cannot be replayed: http.NewRequest
// sets no GetBody for it.
type oneShotBody struct{ io.Reader }

// TestStaleConnectionRace sends, 1,000 times per method, a second request at
// the server's idle timeout plus a jitter of -3 ms to +3 ms: the moment the
// server closes the connection the first request left idle. Once a
// Transport has seen learnedAfter of the server's closes it has learned the
// server's idle timeout, and no request fails, whatever its method.
func TestStaleConnectionRace(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const (
		serverIdle = 200 * time.Millisecond
		goroutines = 50
		iterations = 20 // 1,000 in all
	)
	kinds := []struct {
		name string
		req  func(url string) *http.Request
	}{
		{"GET", func(url string) *http.Request { r, _ := http.NewRequest("GET", url, nil); return r }},
		{"POST replayable", func(url string) *http.Request {
			r, _ := http.NewRequest("POST", url, strings.NewReader("payload"))
			return r
		}},
		{"POST one-shot", func(url string) *http.Request {
			r, _ := http.NewRequest("POST", url, oneShotBody{strings.NewReader("payload")})
			return r
		}},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			srv := idleClosingServer(t, serverIdle, false)
			var errs, closedAfterWrite, retries, dials, learned atomic.Int64
			var sentLearned, errsLearned atomic.Int64 // requests sent once learnedAfter closes were seen
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tr := New(Config{})
					defer tr.Close()
					send := func(second bool) {
						afterLearning := serverCloses(tr.Stats()) >= learnedAfter
						if afterLearning {
							sentLearned.Add(1)
						}
						resp, err := tr.RoundTrip(kind.req(srv.URL))
						if err != nil {
							if afterLearning {
								errsLearned.Add(1)
								hs, _ := tr.HostStats(srv.URL)
								t.Logf("%s after %d server closes (learned %v, second of its pair %v): %v",
									kind.name, learnedAfter, hs.LearnedIdleTimeout, second, err)
							}
							errs.Add(1)
							var ce *ConnError
							if !errors.As(err, &ce) {
								t.Errorf("error without ConnError: %v", err)
							} else if ce.RequestWritten && ce.Reused {
								closedAfterWrite.Add(1)
							} else {
								t.Logf("%s: %v", kind.name, err)
							}
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					for i := 0; i < iterations; i++ {
						send(false)
						jitter := time.Duration(rand.IntN(7)-3) * time.Millisecond
						time.Sleep(serverIdle + jitter)
						send(true)
					}
					st := tr.Stats()
					retries.Add(st.Retries)
					dials.Add(st.Dials)
					learned.Add(st.Closed[CloseLearnedIdleTimeout])
				}()
			}
			wg.Wait()
			t.Logf("%s: %d errors (%d where the server closed after the request was written), %d retries, %d dials, %d connections",
				kind.name, errs.Load(), closedAfterWrite.Load(), retries.Load(), dials.Load(), srv.Accepted())
			all := int64(2 * goroutines * iterations)
			t.Logf("%s: before each Transport saw %d server closes: %d errors of %d requests; after: %d errors of %d; %d closed for the learned idle timeout",
				kind.name, learnedAfter, errs.Load()-errsLearned.Load(), all-sentLearned.Load(), errsLearned.Load(), sentLearned.Load(), learned.Load())
			switch kind.name {
			case "GET":
				if errs.Load() != 0 {
					t.Errorf("%d GETs failed; want 0", errs.Load())
				}
			case "POST replayable":
				// Resent when nothing was written; after writing, a POST is not
				// idempotent, so only those failures may remain.
				if errs.Load() != closedAfterWrite.Load() {
					t.Errorf("%d errors, %d of them after the write; want only the latter", errs.Load(), closedAfterWrite.Load())
				}
			}
			if n := errsLearned.Load(); n != 0 {
				t.Errorf("%d requests failed after their Transport saw %d server closes; want 0", n, learnedAfter)
			}
		})
	}
}

func TestResetIdleConnectionIsNotAnError(t *testing.T) {
	closed := make(chan struct{}, 5)
	srv := idleClosingServerNotifying(t, 30*time.Millisecond, true, closed)
	// Learning would leave the later connections, idle past the server's
	// timeout, to the sweeper: this test counts what checkout notices.
	tr := newTransport(t, Config{DisableIdleTimeoutLearning: true})
	for i := 0; i < 5; i++ {
		get(t, tr, srv.URL)
		select {
		case <-closed: // the server reset the idle connection
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d: the server never reset the idle connection", i)
		}
	}
	st := tr.Stats()
	if st.Dials != 5 {
		t.Errorf("dials = %d, want 5: every reset connection replaced", st.Dials)
	}
	if st.Closed["server_closed"]+st.Retries != 4 {
		t.Errorf("stats = %+v: want each reset noticed at checkout or retried", st)
	}
}

func TestStaleConnectionNoticedBeforeWriting(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := idleClosingServerNotifying(t, 20*time.Millisecond, false, closed)
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	select {
	case <-closed: // the server closed the idle connection
	case <-time.After(10 * time.Second):
		t.Fatal("the server never closed the idle connection")
	}
	// A one-shot POST cannot be resent after it was written, so it only
	// succeeds if the closed connection is noticed before.
	req := mustRequest(t, "POST", srv.URL, oneShotBody{strings.NewReader("x")})
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST on a connection the server closed while idle: %v", err)
	}
	resp.Body.Close()
	if n := tr.Stats().Closed["server_closed"]; n != 1 {
		t.Errorf("closed for server_closed = %d, want 1", n)
	}
}

func TestFailedReusedConnectionErrorSaysWhatHappened(t *testing.T) {
	// The server answers once per connection, then reads the next request
	// and closes without answering: the worst case, after the write.
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		http.ReadRequest(br)
	})
	tr := newTransport(t, Config{MaxRetries: -1})
	get(t, tr, srv.URL)
	time.Sleep(5 * time.Millisecond)
	req := mustRequest(t, "POST", srv.URL, oneShotBody{strings.NewReader("x")})
	_, err := tr.RoundTrip(req)
	var ce *ConnError
	if !errors.As(err, &ce) || !errors.Is(err, ErrServerClosedIdle) {
		t.Fatalf("err = %v; want a ConnError matching ErrServerClosedIdle", err)
	}
	if !ce.Reused || !ce.RequestWritten || ce.IdleTime < 5*time.Millisecond {
		t.Errorf("ConnError = %+v; want reused, written, idle >= 5ms", ce)
	}
	if !strings.Contains(err.Error(), "reused connection") {
		t.Errorf("message %q does not say the connection was reused", err)
	}
}

func TestIdempotentRequestIsResentAfterWrite(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		http.ReadRequest(br) // then close without answering
	})
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	// Each request reuses the connection of the one before, which the server
	// closes after reading the request: each is resent once.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req := mustRequest(t, m, srv.URL, strings.NewReader("body"))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		resp.Body.Close()
	}
	keyed := mustRequest(t, "POST", srv.URL, strings.NewReader("body"))
	keyed.Header.Set("Idempotency-Key", "abc")
	resp, err := tr.RoundTrip(keyed)
	if err != nil {
		t.Fatalf("POST with Idempotency-Key: %v", err)
	}
	resp.Body.Close()
	if r := tr.Stats().Retries; r != 4 {
		t.Errorf("retries = %d, want 4", r)
	}
}

func TestServerClosingEveryConnectionCausesNoRetryStorm(t *testing.T) {
	srv := testserver.NewRaw(t, func(n int, c net.Conn) {
		if n == 1 {
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				http.ReadRequest(br)
			}
		}
		// every later connection is closed at once
	})
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	_, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConnError", err)
	}
	if ce.Reused {
		t.Errorf("the last attempt was on a reused connection: %+v", ce)
	}
	if a := srv.Accepted(); a > 1+DefaultMaxRetries {
		t.Errorf("server accepted %d connections for 2 requests; want at most %d", a, 1+DefaultMaxRetries)
	}
}

func TestKeepAliveHeaderTimeout(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore=%v", ignore), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Keep-Alive", "timeout=1")
					io.WriteString(w, "ok")
				})
				srv := testserver.NewPipe(h, nil)
				defer srv.Close()
				tr := New(Config{DialContext: srv.Dial, IgnoreKeepAliveHeader: ignore})
				defer tr.Close()
				get(t, tr, "http://example.test/")
				time.Sleep(500 * time.Millisecond)
				get(t, tr, "http://example.test/") // within timeout less margin: reused
				time.Sleep(time.Second)
				get(t, tr, "http://example.test/")
				want := int64(2)
				if ignore {
					want = 1
				}
				if n := srv.Dials.Load(); n != want {
					t.Errorf("dials = %d, want %d", n, want)
				}
				if !ignore && tr.Stats().Closed["keep_alive_header"] != 1 {
					t.Errorf("closed = %v, want one for keep_alive_header", tr.Stats().Closed)
				}
			})
		})
	}
}

// maxRequestsServer closes each connection after limit requests, announcing
// it in a Keep-Alive header: a fixed max, or, like Apache, the requests left.
func maxRequestsServer(t *testing.T, limit int, countDown bool) *testserver.Raw {
	return testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; i < limit; i++ {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			max := limit
			if countDown {
				max = limit - i
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=60, max=%d\r\nContent-Length: 2\r\n\r\nok", max)
		}
		// then the connection closes, whatever the client sends next
	})
}

func TestKeepAliveHeaderMax(t *testing.T) {
	for _, countDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("countDown=%v", countDown), func(t *testing.T) {
			srv := maxRequestsServer(t, 3, countDown)
			tr := newTransport(t, Config{MaxRetries: -1}) // a surprise close would fail a request
			for i := 0; i < 10; i++ {
				get(t, tr, srv.URL)
			}
			if a := srv.Accepted(); a != 4 {
				t.Errorf("accepted %d connections for 10 requests at 3 per connection, want 4", a)
			}
			if n := tr.Stats().Closed["keep_alive_header"]; n != 3 {
				t.Errorf("closed for keep_alive_header = %d, want 3", n)
			}
		})
	}
}

func TestParseKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		in      string
		timeout time.Duration
		max     int
	}{
		{"timeout=5, max=100", 5 * time.Second, 100},
		{"Timeout=5,MAX=3", 5 * time.Second, 3},
		{`timeout="7"`, 7 * time.Second, 0},
		{"timeout=-1, max=-4", 0, 0},
		{"timeout=abc, max=1e3", 0, 0},
		{"timeout=99999999999999999999999", maxKeepAliveTimeout, 0},
		{"max=99999999999999999999999", 0, 1 << 30},
		{"junk, ,,=, timeout", 0, 0},
		{"timeout=0", 0, 0},
	} {
		ka := parseKeepAlive([]string{tc.in})
		if ka.timeout != tc.timeout || ka.max != tc.max {
			t.Errorf("parseKeepAlive(%q) = %+v, want timeout %v max %d", tc.in, ka, tc.timeout, tc.max)
		}
	}
}

func FuzzParseKeepAlive(f *testing.F) {
	for _, s := range []string{"timeout=5, max=100", "timeout=-1", "max=99999999999999999999", `timeout="3"`, ",,=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ka := parseKeepAlive([]string{s})
		if ka.timeout < 0 || ka.timeout > maxKeepAliveTimeout || ka.max < 0 || ka.max > 1<<30 {
			t.Errorf("parseKeepAlive(%q) = %+v out of bounds", s, ka)
		}
	})
}

func TestKeepAliveMargin(t *testing.T) {
	var c Config
	if m := c.keepAliveMargin(time.Second); m != 250*time.Millisecond {
		t.Errorf("margin for 1s = %v", m)
	}
	if m := c.keepAliveMargin(time.Minute); m != time.Second {
		t.Errorf("margin for 1m = %v", m)
	}
	c.KeepAliveMargin = 10 * time.Millisecond
	if m := c.keepAliveMargin(time.Minute); m != 10*time.Millisecond {
		t.Errorf("configured margin = %v", m)
	}
}
