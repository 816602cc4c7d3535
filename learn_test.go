package httppool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/httppool/httppool/internal/memnet"
	"golang.org/x/net/http2"
)

// memIdleServer is an HTTP/1.1 server in memory, over TCP-like connections
// with a one-way delay, that closes a connection left idle after a
// response for its idle timeout, without saying so in a header, as nginx,
// Go's http.Server and many others do. The timeout may change while it
// runs, and each connection's may jitter.
type memIdleServer struct {
	ln      *memnet.Listener
	timeout func(conn int) time.Duration // the idle timeout of the conn-th connection accepted
	closes  atomic.Int64                 // idle connections closed for the timeout
	conns   atomic.Int64
	wg      sync.WaitGroup
}

// newMemIdleServer starts a server; stop it with close before the bubble ends.
func newMemIdleServer(oneWay time.Duration, timeout func(conn int) time.Duration) *memIdleServer {
	s := &memIdleServer{ln: memnet.NewStreamListener(oneWay), timeout: timeout}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(n, c)
			}()
		}
	}()
	return s
}

func (s *memIdleServer) serve(n int, c net.Conn) {
	br := bufio.NewReader(c)
	for first := true; ; first = false {
		if !first {
			c.SetReadDeadline(time.Now().Add(s.timeout(n)))
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.closes.Add(1)
			}
			return
		}
		c.SetReadDeadline(time.Time{})
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

func (s *memIdleServer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	return s.ln.Dial(ctx)
}

func (s *memIdleServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

// sender sends requests of every kind through one Transport and counts
// their errors, apart for those sent after the Transport saw learnedAfter
// of the server's idle closes.
type sender struct {
	t      *testing.T
	tr     *Transport
	url    string
	phase  int64 // server closes seen when the current phase began
	errs   int   // errors in all
	late   int   // errors after learnedAfter closes in the phase
	sent   int   // requests after learnedAfter closes in the phase
	failed []string
}

const learnedAfter = 5

// post sends a POST, replayable (with GetBody) or one-shot.
func (s *sender) post(replayable bool) {
	var body io.Reader = strings.NewReader("payload")
	if !replayable {
		body = oneShotBody{body}
	}
	s.send(mustRequest(s.t, "POST", s.url, body))
}

func (s *sender) get() { s.send(mustRequest(s.t, "GET", s.url, nil)) }

// pairs sends n pairs of POSTs, replayable and one-shot in turn, the second
// of each pair gap() after the first.
func (s *sender) pairs(n int, gap func() time.Duration) {
	for i := range n {
		s.post(i%2 == 0)
		time.Sleep(gap())
		s.post(i%2 == 0)
	}
}

// around returns gaps of d give or take max, in whole milliseconds.
func around(r *rand.Rand, d, max time.Duration) func() time.Duration {
	return func() time.Duration { return d + jitter(r, max) }
}

func (s *sender) send(req *http.Request) {
	learned := serverCloses(s.tr.Stats())-s.phase >= learnedAfter
	if learned {
		s.sent++
	}
	resp, err := s.tr.RoundTrip(req)
	if err != nil {
		s.errs++
		if learned {
			s.late++
			s.failed = append(s.failed, fmt.Sprintf("%s: %v", req.Method, err))
		}
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// newPhase starts counting learnedAfter closes again, after the server changed.
func (s *sender) newPhase() {
	s.phase = serverCloses(s.tr.Stats())
	s.late, s.sent, s.failed = 0, 0, nil
}

func (s *sender) checkNoLateErrors(what string) {
	s.t.Helper()
	if s.late > 0 {
		s.t.Errorf("%s: %d of %d requests failed after %d server closes; want 0: %v",
			what, s.late, s.sent, learnedAfter, s.failed[:min(len(s.failed), 3)])
	}
	if s.sent == 0 {
		s.t.Errorf("%s: no request was sent after %d server closes", what, learnedAfter)
	}
}

// jitter returns a delay from -max to +max in whole milliseconds.
func jitter(r *rand.Rand, max time.Duration) time.Duration {
	ms := int(max / time.Millisecond)
	return time.Duration(r.IntN(2*ms+1)-ms) * time.Millisecond
}

// TestLearnedIdleTimeoutPOSTs sends pairs of POSTs, the second at the
// server's idle timeout ±3 ms. Without learning, a POST sent less than a
// round trip before the server closes the connection fails; once the
// Transport has seen a few closes, none does.
func TestLearnedIdleTimeoutPOSTs(t *testing.T) {
	const (
		serverIdle = 200 * time.Millisecond
		oneWay     = time.Millisecond
		pairs      = 200
	)
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("disable=%v", disable), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newMemIdleServer(oneWay, func(int) time.Duration { return serverIdle })
				defer srv.close()
				tr := New(Config{DialContext: srv.dial, DisableIdleTimeoutLearning: disable})
				defer tr.Close()
				s := &sender{t: t, tr: tr, url: "http://learn.test/"}
				r := rand.New(rand.NewPCG(1, 2))
				s.pairs(pairs, around(r, serverIdle, 3*time.Millisecond))
				hs, _ := tr.HostStats("http://learn.test")
				st := tr.Stats()
				t.Logf("errors %d, after %d closes %d of %d; learned %v; dials %d; closed %v",
					s.errs, learnedAfter, s.late, s.sent, hs.LearnedIdleTimeout, st.Dials, st.Closed)
				if disable {
					// The scenario races: without learning, POSTs fail.
					if s.errs < pairs/10 || hs.LearnedIdleTimeout != 0 {
						t.Errorf("without learning: %d errors, learned %v; want many errors and nothing learned", s.errs, hs.LearnedIdleTimeout)
					}
					return
				}
				s.checkNoLateErrors("POSTs at the server's idle timeout")
				// Closes show at the idle time the request was sent; the
				// request reached the server a round trip later.
				if lt := hs.LearnedIdleTimeout; lt < serverIdle-2*oneWay || lt > serverIdle+3*time.Millisecond {
					t.Errorf("learned idle timeout %v; want %v less a round trip (%v) to %v plus 3ms", lt, serverIdle, 2*oneWay, serverIdle)
				}
				if st.Closed[CloseLearnedIdleTimeout] == 0 {
					t.Errorf("closed %v: none for the learned idle timeout", st.Closed)
				}
			})
		})
	}
}

// TestLearnedIdleTimeoutFollowsServer changes the server's idle timeout
// twice, down then up, and checks that the Transport follows: no POST
// fails after a few closes at the new timeout, and connections idle for
// less than a raised timeout are reused again.
func TestLearnedIdleTimeoutFollowsServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const oneWay = time.Millisecond
		var serverIdle atomic.Int64
		serverIdle.Store(int64(200 * time.Millisecond))
		srv := newMemIdleServer(oneWay, func(int) time.Duration { return time.Duration(serverIdle.Load()) })
		defer srv.close()
		tr := New(Config{DialContext: srv.dial})
		defer tr.Close()
		s := &sender{t: t, tr: tr, url: "http://learn.test/"}
		r := rand.New(rand.NewPCG(3, 4))
		learned := func() time.Duration {
			hs, _ := tr.HostStats("http://learn.test")
			return hs.LearnedIdleTimeout
		}

		s.pairs(40, around(r, 200*time.Millisecond, 3*time.Millisecond))
		s.checkNoLateErrors("timeout 200ms")
		t.Logf("timeout 200ms: learned %v", learned())

		serverIdle.Store(int64(100 * time.Millisecond))
		s.newPhase()
		s.pairs(60, around(r, 100*time.Millisecond, 3*time.Millisecond))
		s.checkNoLateErrors("timeout lowered to 100ms")
		if lt := learned(); lt < 98*time.Millisecond || lt > 103*time.Millisecond {
			t.Errorf("timeout lowered to 100ms: learned %v", lt)
		}

		// Raised to 400ms: connections idle for 300ms serve POSTs again once
		// the estimate of 100ms is contradicted and the safe level was
		// raised, probe by probe.
		serverIdle.Store(int64(400 * time.Millisecond))
		s.pairs(40, func() time.Duration { return 300 * time.Millisecond })
		dials := tr.Stats().Dials
		s.pairs(10, func() time.Duration { return 300 * time.Millisecond })
		if d := tr.Stats().Dials - dials; d != 0 {
			t.Errorf("timeout raised to 400ms: 10 more pairs 300ms apart dialed %d times; want 0 (learned %v)", d, learned())
		}
		s.newPhase()
		s.pairs(60, around(r, 400*time.Millisecond, 3*time.Millisecond))
		s.checkNoLateErrors("timeout raised to 400ms")
		// Learned from the sweeper's checks, from above: within an eighth.
		if lt := learned(); lt < 398*time.Millisecond || lt > 450*time.Millisecond {
			t.Errorf("timeout raised to 400ms: learned %v; want 398ms to 450ms", lt)
		}
	})
}

// TestLearnedIdleTimeoutJitter runs against a server whose idle timeout
// differs by up to ±10ms from one connection to the next, with POSTs
// spaced anywhere from 20ms below to 20ms above it.
func TestLearnedIdleTimeoutJitter(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const serverIdle, spread = 200 * time.Millisecond, 10 * time.Millisecond
				srv := newMemIdleServer(time.Millisecond, func(conn int) time.Duration {
					r := rand.New(rand.NewPCG(seed, uint64(conn))) // fixed per connection
					return serverIdle + jitter(r, spread)
				})
				defer srv.close()
				tr := New(Config{DialContext: srv.dial})
				defer tr.Close()
				s := &sender{t: t, tr: tr, url: "http://learn.test/"}
				r := rand.New(rand.NewPCG(seed, 0))
				s.pairs(200, around(r, serverIdle, 2*spread))
				hs, _ := tr.HostStats("http://learn.test")
				t.Logf("errors %d, after %d closes %d of %d; learned %v; dials %d",
					s.errs, learnedAfter, s.late, s.sent, hs.LearnedIdleTimeout, tr.Stats().Dials)
				s.checkNoLateErrors("jittered timeout")
			})
		})
	}
}

// TestLearnedIdleTimeoutGETs checks that idempotent requests keep
// working, and mostly without retries, once the timeout is learned: a
// connection idle past it is not used, so that the request does not fail
// on it first.
func TestLearnedIdleTimeoutGETs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const serverIdle = 200 * time.Millisecond
		srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return serverIdle })
		defer srv.close()
		tr := New(Config{DialContext: srv.dial})
		defer tr.Close()
		s := &sender{t: t, tr: tr, url: "http://learn.test/"}
		r := rand.New(rand.NewPCG(5, 6))
		var lateRetries int64
		for range 200 {
			s.get()
			time.Sleep(serverIdle + jitter(r, 3*time.Millisecond))
			st := tr.Stats()
			s.get()
			if serverCloses(st) >= learnedAfter {
				lateRetries += tr.Stats().Retries - st.Retries
			}
		}
		if s.errs != 0 {
			t.Errorf("%d GETs failed", s.errs)
		}
		if lateRetries != 0 {
			t.Errorf("%d GETs were resent after the Transport saw %d closes; want 0", lateRetries, learnedAfter)
		}
	})
}

// TestLearnedIdleTimeoutUncertainBand checks the band left to requests
// that can be resent: with the timeout known only from one close, a GET
// takes a connection that a one-shot POST leaves alone, and the POST keeps
// to three quarters of the estimate less the margin.
func TestLearnedIdleTimeoutUncertainBand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const serverIdle = 200 * time.Millisecond
		srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return serverIdle })
		defer srv.close()
		tr := New(Config{DialContext: srv.dial})
		defer tr.Close()
		const url = "http://learn.test/"
		send := func(method string, idle time.Duration) (dialed int64, idleTime time.Duration) {
			t.Helper()
			time.Sleep(idle)
			var body io.Reader
			if method == "POST" {
				body = oneShotBody{strings.NewReader("x")}
			}
			req := mustRequest(t, method, url, body)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) { idleTime = i.IdleTime },
			}))
			dials := tr.Stats().Dials
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s after %v idle: %v", method, idle, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return tr.Stats().Dials - dials, idleTime
		}
		send("GET", 0)
		send("GET", 210*time.Millisecond) // finds the connection closed: learned 210ms
		if hs, _ := tr.HostStats("http://learn.test"); hs.LearnedIdleTimeout != 210*time.Millisecond {
			t.Fatalf("learned %v, want 210ms", hs.LearnedIdleTimeout)
		}
		// Every request keeps below 210ms less the margin (5ms and the
		// 2ms dial); one that cannot be resent below 3/4 of 210ms less
		// the margin: 150.5ms.
		if d, idle := send("GET", 190*time.Millisecond); d != 0 || idle != 190*time.Millisecond {
			t.Errorf("a GET after 190ms: dialed %d, took a connection idle for %v; want the one idle for 190ms", d, idle)
		}
		if d, _ := send("POST", 190*time.Millisecond); d != 1 {
			t.Errorf("a one-shot POST after 190ms dialed %d times; want 1", d)
		}
		if d, idle := send("POST", 140*time.Millisecond); d != 0 || idle != 140*time.Millisecond {
			t.Errorf("a one-shot POST after 140ms: dialed %d, took a connection idle for %v; want the one idle for 140ms", d, idle)
		}
	})
}

// blindConn hides the liveness check of a memnet connection, as on
// platforms without a non-blocking peek.
type blindConn struct{ net.Conn }

// TestLearnedIdleTimeoutBlind runs without a liveness check, so that only
// requests that fail teach the Transport that the server closed a
// connection: it still learns, and it still follows a timeout that rose,
// after learnForgetBlind connections retired.
func TestLearnedIdleTimeoutBlind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var serverIdle atomic.Int64
		serverIdle.Store(int64(200 * time.Millisecond))
		srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return time.Duration(serverIdle.Load()) })
		defer srv.close()
		tr := New(Config{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := srv.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return blindConn{c}, nil
		}})
		defer tr.Close()
		s := &sender{t: t, tr: tr, url: "http://learn.test/"}
		r := rand.New(rand.NewPCG(11, 12))
		s.pairs(50, around(r, 200*time.Millisecond, 3*time.Millisecond))
		s.checkNoLateErrors("POSTs at the server's idle timeout, without a liveness check")

		serverIdle.Store(int64(400 * time.Millisecond))
		s.pairs(learnForgetBlind+5, func() time.Duration { return 300 * time.Millisecond })
		dials := tr.Stats().Dials
		s.pairs(10, func() time.Duration { return 300 * time.Millisecond })
		if d := tr.Stats().Dials - dials; d != 0 {
			t.Errorf("timeout raised to 400ms: 10 pairs 300ms apart dialed %d times; want 0", d)
		}
	})
}

// TestLearnedIdleTimeoutNeverShortensReuse runs against a server that
// keeps idle connections longer than Config.IdleTimeout: learning must not
// cost a single dial.
func TestLearnedIdleTimeoutNeverShortensReuse(t *testing.T) {
	dials := make(map[bool]int64)
	for _, disable := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return 2 * time.Second })
			defer srv.close()
			tr := New(Config{DialContext: srv.dial, IdleTimeout: time.Second, DisableIdleTimeoutLearning: disable})
			defer tr.Close()
			r := rand.New(rand.NewPCG(7, 8))
			for range 100 {
				get(t, tr, "http://learn.test/")
				time.Sleep(time.Duration(500+r.IntN(1001)) * time.Millisecond)
			}
			if hs, _ := tr.HostStats("http://learn.test"); hs.LearnedIdleTimeout != 0 {
				t.Errorf("learned %v from a server that closes nothing", hs.LearnedIdleTimeout)
			}
			dials[disable] = tr.Stats().Dials
		})
	}
	if dials[false] != dials[true] {
		t.Errorf("dials with learning %d, without %d; want the same", dials[false], dials[true])
	}
}

// TestLearnedIdleTimeoutLogged checks the Logger event.
func TestLearnedIdleTimeoutLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return 100 * time.Millisecond })
		defer srv.close()
		rec := &recordingHandler{}
		tr := New(Config{DialContext: srv.dial, Logger: slog.New(rec)})
		defer tr.Close()
		get(t, tr, "http://learn.test/")
		time.Sleep(150 * time.Millisecond)
		get(t, tr, "http://learn.test/")
		var found []string
		for _, r := range rec.records() {
			if r.Message == "httppool: learned idle timeout" {
				attrs := map[string]string{}
				r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
				found = append(found, fmt.Sprint(attrs["host"], " ", attrs["timeout"]))
			}
		}
		if len(found) != 1 || found[0] != "http://learn.test:80 150ms" {
			t.Errorf("learned idle timeout events: %q; want one for http://learn.test:80 at 150ms", found)
		}
	})
}

// recordingHandler is a slog.Handler that keeps the debug records.
type recordingHandler struct {
	mu  sync.Mutex
	all []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, r.Clone())
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }
func (h *recordingHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.all...)
}

// TestLearnedIdleTimeoutManyHosts learns the idle timeout of more hosts
// than are remembered: the memory stays bounded, and so does each host's.
func TestLearnedIdleTimeoutManyHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("visits 12,000 hosts")
	}
	if size := unsafe.Sizeof(idleLearner{}); size > 64 {
		t.Errorf("a host's learned idle timeout takes %d bytes; want at most 64", size)
	}
	synctest.Test(t, func(t *testing.T) {
		const hosts, workers = maxLearnedHosts + 2000, 100
		srv := newMemIdleServer(time.Millisecond, func(int) time.Duration { return 100 * time.Millisecond })
		defer srv.close()
		tr := New(Config{DialContext: srv.dial})
		defer tr.Close()
		var before, after runtime.MemStats
		visit := func(first, last int) {
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for h := first + w; h < last; h += workers {
						url := fmt.Sprintf("http://h%d.test/", h)
						get(t, tr, url)
						time.Sleep(150 * time.Millisecond)
						get(t, tr, url) // the server closed the first connection: learned
					}
				}()
			}
			wg.Wait()
			tr.CloseIdleConnections()
		}
		visit(0, 100) // warm up: the pools' memory, the server's
		runtime.GC()
		runtime.ReadMemStats(&before)
		visit(100, maxLearnedHosts)
		runtime.GC()
		runtime.ReadMemStats(&after)
		remembered := countLearned(tr)
		perHost := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(maxLearnedHosts-100)
		t.Logf("%d hosts remembered, %d bytes of heap each", remembered, perHost)
		if remembered != maxLearnedHosts {
			t.Errorf("%d hosts remembered, want %d", remembered, maxLearnedHosts)
		}
		// The learner (64 bytes) and the map's entry with the key.
		if perHost > 320 {
			t.Errorf("%d bytes of heap per host remembered; want at most 320", perHost)
		}
		visit(maxLearnedHosts, hosts)
		if n := countLearned(tr); n > maxLearnedHosts {
			t.Errorf("%d hosts remembered after %d visited; want at most %d", n, hosts, maxLearnedHosts)
		}
		if hs, ok := tr.HostStats(fmt.Sprintf("http://h%d.test", hosts-1)); !ok || hs.LearnedIdleTimeout == 0 {
			t.Errorf("the last host visited: %+v, %v; want its idle timeout learned", hs, ok)
		}
	})
}

func countLearned(tr *Transport) int {
	n := 0
	tr.c.learned.Range(func(_, _ any) bool { n++; return true })
	return n
}

// TestLearnedIdleTimeoutH2 runs pairs of POSTs over HTTP/2 (h2c) against a
// server that closes connections idle for its timeout without a GOAWAY.
func TestLearnedIdleTimeoutH2(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const serverIdle, oneWay = 200 * time.Millisecond, time.Millisecond
		ln := memnet.NewStreamListener(oneWay)
		h2srv := &http2.Server{}
		var wg sync.WaitGroup
		var closes atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				ic := newIdleCloser(c, serverIdle, &closes)
				wg.Add(2)
				go func() { defer wg.Done(); ic.watch() }()
				go func() {
					defer wg.Done()
					h2srv.ServeConn(ic, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						io.Copy(io.Discard, r.Body)
						io.WriteString(w, "ok")
					})})
				}()
			}
		}()
		defer wg.Wait()
		defer ln.Close()
		tr := New(Config{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.Dial(ctx) },
			HTTP2:       HTTP2Config{H2C: true},
		})
		defer tr.Close()
		s := &sender{t: t, tr: tr, url: "http://learn.test/"}
		r := rand.New(rand.NewPCG(9, 10))
		s.pairs(200, around(r, serverIdle, 3*time.Millisecond))
		st := tr.Stats()
		hs, _ := tr.HostStats("http://learn.test")
		t.Logf("errors %d, after %d closes %d of %d; learned %v; dials %d; server closes %d; closed %v",
			s.errs, learnedAfter, s.late, s.sent, hs.LearnedIdleTimeout, st.Dials, closes.Load(), st.Closed)
		if st.HTTP2 == 0 && st.Open > 0 {
			t.Errorf("the connections are not HTTP/2: %+v", st)
		}
		s.checkNoLateErrors("HTTP/2 POSTs at the server's idle timeout")
		if hs.LearnedIdleTimeout == 0 {
			t.Error("nothing learned from HTTP/2 connections closed without GOAWAY")
		}
	})
}

// idleCloser closes a connection, without a word, once nothing was read
// from or written to it for timeout: a server or a proxy in front of it
// that drops idle HTTP/2 connections without GOAWAY.
type idleCloser struct {
	net.Conn
	timeout time.Duration
	closes  *atomic.Int64
	mu      sync.Mutex
	last    time.Time
	done    chan struct{}
	once    sync.Once
}

func newIdleCloser(c net.Conn, timeout time.Duration, closes *atomic.Int64) *idleCloser {
	return &idleCloser{Conn: c, timeout: timeout, closes: closes, last: time.Now(), done: make(chan struct{})}
}

func (c *idleCloser) touch() {
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
}

func (c *idleCloser) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *idleCloser) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.touch()
	return n, err
}

func (c *idleCloser) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// watch closes the connection once it has been idle for the timeout.
func (c *idleCloser) watch() {
	for {
		c.mu.Lock()
		wait := c.timeout - time.Since(c.last)
		c.mu.Unlock()
		if wait <= 0 {
			c.closes.Add(1)
			c.Close()
			return
		}
		select {
		case <-time.After(wait):
		case <-c.done:
			return
		}
	}
}

// TestLearnedIdleTimeoutLoopback learns, over loopback TCP, from what the
// liveness check finds: connections the server closed while idle.
func TestLearnedIdleTimeoutLoopback(t *testing.T) {
	const serverIdle = 30 * time.Millisecond
	closed := make(chan struct{}, 10)
	srv := idleClosingServerNotifying(t, serverIdle, false, closed)
	tr := newTransport(t, Config{})
	for i := range 6 {
		get(t, tr, srv.URL)
		select {
		case <-closed: // the server closed the idle connection
		case <-time.After(10 * time.Second):
			t.Fatalf("request %d: the server never closed the idle connection", i)
		}
	}
	hs, _ := tr.HostStats(srv.URL)
	st := tr.Stats()
	t.Logf("learned %v; closed %v", hs.LearnedIdleTimeout, st.Closed)
	// The server closed each connection before the check found it closed.
	if hs.LearnedIdleTimeout < serverIdle/2 {
		t.Errorf("learned %v; want at least about the server's %v", hs.LearnedIdleTimeout, serverIdle)
	}
	// Once learned, the connection idle past the timeout is not even taken:
	// fewer are found closed at checkout than the server closed.
	if n := st.Closed[CloseServerClosed]; n >= 5 {
		t.Errorf("%d connections found closed at checkout; want fewer than 5 once the timeout is learned", n)
	}
}

// idleClosingListener wraps the connections it accepts in an idleCloser.
type idleClosingListener struct {
	net.Listener
	timeout time.Duration
	closes  atomic.Int64
}

func (l *idleClosingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ic := newIdleCloser(c, l.timeout, &l.closes)
	go ic.watch()
	return ic, nil
}

// TestLearnedIdleTimeoutH2Loopback runs pairs of POSTs over HTTP/2 with
// TLS on loopback against a server whose connections are dropped, without
// GOAWAY, once idle for its timeout; the second POST of each pair goes at
// that timeout ±3ms.
func TestLearnedIdleTimeoutH2Loopback(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	const serverIdle, pairs = 100 * time.Millisecond, 30
	hts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	ln := &idleClosingListener{Listener: hts.Listener, timeout: serverIdle}
	hts.Listener = ln
	hts.EnableHTTP2 = true
	hts.StartTLS()
	defer hts.Close()
	tr := newTransport(t, Config{TLSClientConfig: hts.Client().Transport.(*http.Transport).TLSClientConfig})
	s := &sender{t: t, tr: tr, url: hts.URL}
	r := rand.New(rand.NewPCG(13, 14))
	s.pairs(pairs, around(r, serverIdle, 3*time.Millisecond))
	st := tr.Stats()
	hs, _ := tr.HostStats(hts.URL)
	t.Logf("errors %d, after %d closes %d of %d; learned %v; dials %d; server drops %d; closed %v",
		s.errs, learnedAfter, s.late, s.sent, hs.LearnedIdleTimeout, st.Dials, ln.closes.Load(), st.Closed)
	if st.HTTP2 != st.Open {
		t.Errorf("not every connection speaks HTTP/2: %+v", st)
	}
	s.checkNoLateErrors("HTTP/2 POSTs at the server's idle timeout, over loopback")
}

// A close sooner than the margin could keep clear of (a server that
// restarted, a connection cut) teaches nothing. Once contradicted, what
// was learned goes whole, the safe level too, so that a server that keeps
// connections longer than IdleTimeout (where no probe runs) is not held to
// an early close.
func TestIdleLearnerForgetsWhole(t *testing.T) {
	const idleTimeout = 90 * time.Second
	l := new(idleLearner)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rtt = micros(80 * time.Millisecond) // a slow dial: DNS and TLS
	l.closedLocked(100 * time.Millisecond)
	if l.est.Load() != 0 || l.cutOnce.Load() != 0 {
		t.Errorf("learned %v (safe level %v) from a close 100ms idle with a margin of %v",
			fromMicros(l.est.Load()), time.Duration(l.cutOnce.Load()), l.marginLocked())
	}
	l.closedLocked(10 * time.Second)
	l.publishLocked(idleTimeout)
	if l.est.Load() == 0 || l.cutOnce.Load() == 0 {
		t.Fatal("nothing learned from a close at 10s")
	}
	for range learnForgetAfter {
		l.aliveLocked(20 * time.Second)
	}
	l.publishLocked(idleTimeout)
	if l.est.Load() != 0 || l.cutAll.Load() != 0 || l.cutOnce.Load() != 0 || l.probeAt.Load() != 0 {
		t.Errorf("after %d connections open at 20s: estimate %v, cut %v, safe level %v, probe %v; want all gone",
			learnForgetAfter, fromMicros(l.est.Load()), time.Duration(l.cutAll.Load()),
			time.Duration(l.cutOnce.Load()), time.Duration(l.probeAt.Load()))
	}
}

// An estimate of over an hour (IdleTimeout off) and its noise do not wrap.
func TestIdleLearnerLongEstimate(t *testing.T) {
	est := micros(70 * time.Minute)
	if !withinNoise(est+1, est) {
		t.Error("a connection open 1µs past a 70-minute estimate contradicts it")
	}
}
