package httppool

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const testH3Origin = "https://example.test"

// h3Rig is a Transport with HTTP/3 on, an https server on in-memory TCP
// whose responses offer h3 through Alt-Svc, and fakeH3 for the QUIC side.
type h3Rig struct {
	tcp *tlsPipe
	h3  *fakeH3
	tr  *Transport
}

func newH3Rig(cfg Config, h3Handler http.Handler) *h3Rig {
	r := &h3Rig{}
	r.tcp = newTLSPipe(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Alt-Svc", `h3=":443"; ma=3600`)
		io.WriteString(w, "tcp")
	}))
	if h3Handler == nil {
		h3Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Alt-Svc", `h3=":443"; ma=3600`)
			io.WriteString(w, "h3")
		})
	}
	r.h3 = &fakeH3{handler: h3Handler}
	cfg.DialContext = r.tcp.Dial
	cfg.TLSClientConfig = clientTLS()
	cfg.HTTP3.Dialer = r.h3
	r.tr = New(cfg)
	return r
}

func (r *h3Rig) close() {
	r.tr.Close()
	r.tcp.Close()
}

// seed makes the Transport know the origin's h3 alternative, as if a
// response had told it, without the background dial that a response starts.
func (r *h3Rig) seed() {
	r.tr.c.h3.alts.note("example.test:443", "example.test", []string{`h3=":443"; ma=86400`}, time.Now())
}

// get sends a GET and returns the response's major protocol version,
// having read its body.
func (r *h3Rig) get(t *testing.T) int {
	t.Helper()
	resp, err := r.do(t, "GET", nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp.ProtoMajor
}

func (r *h3Rig) do(t *testing.T, method string, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, testH3Origin+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func (r *h3Rig) status(t *testing.T) HTTP3Status {
	t.Helper()
	s, ok := r.tr.HTTP3Status(testH3Origin)
	if !ok {
		t.Fatal("the Transport knows nothing of the origin's HTTP/3")
	}
	return s
}

// upgraded runs the discovery: a request over TCP whose response offers h3,
// then the HTTP/3 connection it makes in the background.
func (r *h3Rig) upgraded(t *testing.T) {
	t.Helper()
	if p := r.get(t); p != 2 {
		t.Fatalf("first request over HTTP/%d, want HTTP/2 over TCP", p)
	}
	synctest.Wait()
	if s := r.tr.Stats(); s.HTTP3 != 1 {
		t.Fatalf("after the Alt-Svc response: %d HTTP/3 connections, want 1", s.HTTP3)
	}
}

func TestH3AltSvcDiscoveryThenHTTP3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 100
		var arrived, inFlight, peak atomic.Int64
		allIn := make(chan struct{})
		r := newH3Rig(Config{}, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Query().Has("wait") {
				cur := inFlight.Add(1)
				for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
				}
				if arrived.Add(1) == n {
					close(allIn)
				}
				select {
				case <-allIn:
				case <-time.After(time.Minute):
				}
				inFlight.Add(-1)
			}
			io.WriteString(w, "h3")
		}))
		defer r.close()

		r.upgraded(t)
		s := r.status(t)
		if s.Alternative != "example.test:443" || !s.BrokenUntil.IsZero() {
			t.Errorf("status %+v, want the alternative example.test:443, not broken", s)
		}
		if addr := r.h3.addrs[0]; addr != "example.test:443" {
			t.Errorf("QUIC dialed %q, want example.test:443", addr)
		}
		if p := r.get(t); p != 3 {
			t.Fatalf("second request over HTTP/%d, want HTTP/3", p)
		}

		var wg sync.WaitGroup
		protos := make(chan int, n)
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", testH3Origin+"/?wait", nil)
				resp, err := r.tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				protos <- resp.ProtoMajor
			})
		}
		wg.Wait()
		close(protos)
		for p := range protos {
			if p != 3 {
				t.Fatalf("a concurrent request went over HTTP/%d", p)
			}
		}
		if peak.Load() != n {
			t.Errorf("%d requests in flight at once, want %d", peak.Load(), n)
		}
		if d := r.h3.dials.Load(); d != 1 {
			t.Errorf("%d QUIC dials, want 1", d)
		}
		st := r.tr.Stats()
		if st.HTTP3 != 1 || st.InUse != 0 {
			t.Errorf("stats %+v: want 1 HTTP/3 connection, none in use", st)
		}
		if hs, _ := r.tr.HostStats(testH3Origin); hs.HTTP3 != 1 || hs.HTTP2 != 1 {
			t.Errorf("host stats %+v: want 1 HTTP/3 and 1 HTTP/2 connection", hs)
		}
	})
}

func TestH3RaceUDPBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.h3.set(func(f *fakeH3) { f.block = true })
		r.seed()

		// QUIC first; TCP after the race delay wins.
		start := time.Now()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		dials := r.tcp.dialTimes()
		if len(dials) != 1 || dials[0].Sub(start) != DefaultHTTP3RaceDelay {
			t.Fatalf("TCP dials at %v after the request, want one at the race delay %v", durations(dials, start), DefaultHTTP3RaceDelay)
		}
		if s := r.status(t); !s.BrokenUntil.IsZero() {
			t.Fatalf("broken before QUIC failed: %+v", s)
		}

		// While QUIC still waits for an answer, a new connection, even
		// from a pool made again, dials TCP at once.
		r.tr.CloseIdleConnections()
		start2 := time.Now()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		if dials := r.tcp.dialTimes(); len(dials) != 2 || !dials[1].Equal(start2) || r.h3.dials.Load() != 1 {
			t.Fatalf("TCP dials at %v, %d QUIC dials: want the second TCP dial at once, no second QUIC dial", durations(dials, start2), r.h3.dials.Load())
		}

		// QUIC fails at the handshake timeout while TCP works: broken 5 min.
		time.Sleep(DefaultHandshakeTimeout)
		synctest.Wait()
		s := r.status(t)
		if s.Failures != 1 || s.BrokenUntil.Sub(start) != DefaultHandshakeTimeout+5*time.Minute {
			t.Fatalf("status %+v, want broken until 5 min after the QUIC failure", s)
		}

		// While broken, a new connection dials TCP at once and QUIC not at all.
		r.tr.CloseIdleConnections()
		start = time.Now()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		if dials := r.tcp.dialTimes(); len(dials) != 3 || !dials[2].Equal(start) {
			t.Fatalf("TCP dials at %v after the request, want the third at once", durations(dials, start))
		}
		if d := r.h3.dials.Load(); d != 1 {
			t.Fatalf("%d QUIC dials while broken, want the first only", d)
		}

		// Expired, QUIC is raced again; failing again, it is broken twice as long.
		time.Sleep(time.Until(s.BrokenUntil))
		r.tr.CloseIdleConnections()
		start = time.Now()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		if d := r.h3.dials.Load(); d != 2 {
			t.Fatalf("%d QUIC dials after the broken time, want 2", d)
		}
		time.Sleep(DefaultHandshakeTimeout)
		synctest.Wait()
		if s = r.status(t); s.Failures != 2 || s.BrokenUntil.Sub(start) != DefaultHandshakeTimeout+10*time.Minute {
			t.Fatalf("status %+v, want broken for 10 min after the second failure", s)
		}

		// UDP works again: after the broken time QUIC wins and its failures
		// are forgotten.
		r.h3.set(func(f *fakeH3) { f.block = false })
		time.Sleep(time.Until(s.BrokenUntil))
		r.tr.CloseIdleConnections()
		start = time.Now()
		if p := r.get(t); p != 3 {
			t.Fatalf("request over HTTP/%d, want HTTP/3", p)
		}
		if time.Since(start) != 0 {
			t.Errorf("the QUIC winner took %v", time.Since(start))
		}
		synctest.Wait()
		if s = r.status(t); s.Failures != 0 || !s.BrokenUntil.IsZero() {
			t.Errorf("status %+v after HTTP/3 worked, want no failures", s)
		}
		if n := len(r.tcp.dialTimes()); n != 4 {
			t.Errorf("%d TCP dials, want 4: QUIC won before the race delay", n)
		}
	})
}

func durations(ts []time.Time, since time.Time) []time.Duration {
	var ds []time.Duration
	for _, t := range ts {
		ds = append(ds, t.Sub(since))
	}
	return ds
}

func TestH3RaceQUICFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.h3.set(func(f *fakeH3) {
			f.dialErr = &HTTP3Error{Kind: HTTP3ConnLost, Err: errors.New("fake: port unreachable")}
		})
		r.seed()
		start := time.Now()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		if dials := r.tcp.dialTimes(); len(dials) != 1 || !dials[0].Equal(start) {
			t.Errorf("TCP dials at %v after the request, want one at once when QUIC failed", durations(dials, start))
		}
		synctest.Wait()
		if s := r.status(t); s.Failures != 1 {
			t.Errorf("status %+v, want broken", s)
		}
		st := r.tr.Stats()
		if st.Dials != 2 || st.DialErrors != 1 || st.Dialing != 0 {
			t.Errorf("stats: %d dials, %d errors, %d dialing; want 2, 1, 0", st.Dials, st.DialErrors, st.Dialing)
		}
	})
}

func TestH3RaceBothFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.tcp.Close()
		r.tcp.ln.Close() // TCP dials fail
		r.h3.set(func(f *fakeH3) { f.dialErr = errors.New("fake: no network") })
		r.seed()
		if _, err := r.do(t, "GET", nil); err == nil {
			t.Fatal("request succeeded with neither QUIC nor TCP")
		}
		synctest.Wait()
		if s := r.status(t); s.Failures != 0 {
			t.Errorf("status %+v: QUIC marked broken although TCP failed too", s)
		}
		if st := r.tr.Stats(); st.Dials != 2 || st.DialErrors != 2 || st.Dialing != 0 || st.Open != 0 {
			t.Errorf("stats %+v, want 2 dials, 2 errors, nothing open", st)
		}
	})
}

// When both legs fail the caller gets TCP's error, as it would without
// HTTP/3, even when QUIC's failure comes last.
func TestH3RaceBothFailGivesTCPError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.tcp.Close()
		r.tcp.ln.Close() // TCP dials fail at once
		quicErr := errors.New("fake: no QUIC")
		r.h3.set(func(f *fakeH3) { f.dialErr, f.delay = quicErr, time.Second })
		r.seed()
		_, err := r.do(t, "GET", nil)
		if err == nil || errors.Is(err, quicErr) {
			t.Errorf("err = %v; want TCP's error, not QUIC's", err)
		}
	})
}

func TestH3RequestCancelledDuringRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.h3.set(func(f *fakeH3) { f.block = true })
		r.seed()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", testH3Origin+"/", nil)
		if _, err := r.tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's deadline", err)
		}
		synctest.Wait()
		if n := len(r.tcp.dialTimes()); n != 0 {
			t.Errorf("%d TCP dials after the request ended before the race delay", n)
		}
		if s := r.status(t); s.Failures != 0 {
			t.Errorf("status %+v: a cancelled race marked QUIC broken", s)
		}
		// The pool's QUIC dial was released: the next race dials QUIC again.
		r.h3.set(func(f *fakeH3) { f.block = false })
		if p := r.get(t); p != 3 {
			t.Errorf("request over HTTP/%d, want HTTP/3", p)
		}
	})
}

func TestH3TCPLoserIsPooled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{HTTP3: HTTP3Config{RaceDelay: time.Millisecond}}, nil)
		defer r.close()
		r.h3.delay = 10 * time.Millisecond  // QUIC ready at 10 ms
		r.tcp.delay = 50 * time.Millisecond // TCP started at 1 ms, ready at 51 ms
		r.seed()
		if p := r.get(t); p != 3 {
			t.Fatalf("request over HTTP/%d, want HTTP/3, ready first", p)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st := r.tr.Stats()
		if st.HTTP3 != 1 || st.HTTP2 != 1 || st.Idle != 2 {
			t.Errorf("stats %+v, want the TCP connection that lost pooled beside HTTP/3", st)
		}
		if st.Dials != 2 || st.Dialing != 0 || st.DialErrors != 0 {
			t.Errorf("stats %+v, want 2 dials, none failed or running", st)
		}
	})
}

func TestH3QUICLoserIsPooled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{HTTP3: HTTP3Config{RaceDelay: time.Millisecond}}, nil)
		defer r.close()
		r.h3.delay = 10 * time.Millisecond // TCP, started at 1 ms, is ready first
		r.seed()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP while QUIC is slow", p)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := r.tr.Stats(); st.HTTP3 != 1 || st.HTTP2 != 1 {
			t.Fatalf("stats %+v, want the late QUIC connection pooled beside TCP", st)
		}
		if p := r.get(t); p != 3 {
			t.Errorf("next request over HTTP/%d, want HTTP/3, preferred", p)
		}
		if s := r.status(t); s.Failures != 0 {
			t.Errorf("status %+v: QUIC was slow, not broken", s)
		}
	})
}

func TestH3FailureResentOverTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		lost := &HTTP3Error{Kind: HTTP3ConnLost, Err: errors.New("fake: idle timeout")}
		r.h3.set(func(f *fakeH3) {
			f.fail = func(*http.Request) error { f.conns[0].closeByServer(lost); return lost }
		})
		resp, err := r.do(t, "GET", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("resent over HTTP/%d, want TCP", resp.ProtoMajor)
		}
		synctest.Wait()
		st := r.tr.Stats()
		if st.Retries != 1 || st.HTTP3 != 0 {
			t.Errorf("stats %+v, want 1 retry and the lost HTTP/3 connection gone", st)
		}
		if s := r.status(t); s.Failures != 1 {
			t.Errorf("status %+v, want broken: QUIC failed where TCP worked", s)
		}
	})
}

func TestH3FailureNotResentWhenUnsafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		lost := &HTTP3Error{Kind: HTTP3ConnLost, Err: errors.New("fake: stateless reset")}
		r.h3.set(func(f *fakeH3) { f.fail = func(*http.Request) error { return lost } })
		_, err := r.do(t, "POST", strings.NewReader("order"))
		var ce *ConnError
		if !errors.As(err, &ce) || !errors.Is(err, lost) || !ce.RequestWritten {
			t.Fatalf("POST: err = %v, want a *ConnError wrapping the HTTP/3 error, request written", err)
		}
		if n := len(r.tcp.dialTimes()); n != 1 {
			t.Errorf("%d TCP dials: a POST that may have been processed was resent", n)
		}
	})
}

func TestH3GoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		var once sync.Once
		r.h3.set(func(f *fakeH3) {
			f.fail = func(*http.Request) (err error) {
				once.Do(func() { err = &HTTP3Error{Kind: HTTP3GoAway} })
				return err
			}
		})
		// A body that cannot be replayed is fine: the request was not sent.
		resp, err := r.do(t, "POST", io.NopCloser(strings.NewReader("x")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("resent over HTTP/%d, want TCP", resp.ProtoMajor)
		}
		synctest.Wait()
		st := r.tr.Stats()
		if st.Closed[CloseGoAway] != 1 || st.Retries != 1 {
			t.Errorf("stats %+v: want the HTTP/3 connection closed for goaway, the request resent", st)
		}
		// The response over TCP offered h3 again: a new connection replaces it.
		if st.HTTP3 != 1 || r.h3.dials.Load() != 2 {
			t.Errorf("stats %+v, %d QUIC dials: want a new HTTP/3 connection", st, r.h3.dials.Load())
		}
		if s := r.status(t); s.Failures != 0 {
			t.Errorf("status %+v: a GOAWAY is no failure of QUIC", s)
		}

		// Without retries, the caller sees the GOAWAY.
		r2 := newH3Rig(Config{MaxRetries: -1}, nil)
		defer r2.close()
		r2.upgraded(t)
		r2.h3.set(func(f *fakeH3) { f.fail = func(*http.Request) error { return &HTTP3Error{Kind: HTTP3GoAway} } })
		_, err = r2.do(t, "GET", nil)
		var ga *GoAwayError
		if !errors.As(err, &ga) || ga.Proto != "HTTP/3.0" {
			t.Errorf("err = %v, want a *GoAwayError for HTTP/3.0", err)
		}
	})
}

func TestH3ConnectionClosedLeavesPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		r.h3.conns[0].closeByServer(&HTTP3Error{Kind: HTTP3GoAway})
		synctest.Wait()
		st := r.tr.Stats()
		if st.HTTP3 != 0 || st.Closed[CloseGoAway] != 1 {
			t.Errorf("stats %+v: want the closed HTTP/3 connection out of the pool, for goaway", st)
		}
	})
}

func TestH3RequestRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		rejected := &HTTP3Error{Kind: HTTP3StreamReset, Code: h3RequestRejected, Remote: true}
		var first atomic.Bool
		r.h3.set(func(f *fakeH3) {
			f.fail = func(*http.Request) error {
				if first.CompareAndSwap(false, true) {
					return rejected
				}
				return nil
			}
		})
		// Not processed: resent, the body replayed through GetBody.
		resp, err := r.do(t, "POST", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 || r.tr.Stats().Retries != 1 {
			t.Errorf("over HTTP/%d with %d retries; want resent once over TCP", resp.ProtoMajor, r.tr.Stats().Retries)
		}

		// A body that cannot be replayed: the caller gets the reset.
		first.Store(false)
		_, err = r.do(t, "POST", io.NopCloser(strings.NewReader("x")))
		var se *StreamResetError
		if !errors.As(err, &se) || se.Proto != "HTTP/3.0" || se.Code != h3RequestRejected {
			t.Fatalf("err = %v, want *StreamResetError HTTP/3.0 H3_REQUEST_REJECTED", err)
		}
		if !strings.Contains(err.Error(), "H3_REQUEST_REJECTED") {
			t.Errorf("error %q does not name the code", err)
		}
		if st := r.tr.Stats(); st.HTTP3 != 1 {
			t.Errorf("a stream reset closed the connection: %+v", st)
		}
	})
}

func TestH3MalformedResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		r.h3.set(func(f *fakeH3) {
			f.fail = func(*http.Request) error {
				return &HTTP3Error{Kind: HTTP3Malformed, Code: 0x10e, Err: ErrResponseHeaderTooLarge}
			}
		})
		_, err := r.do(t, "GET", nil)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Proto != "HTTP/3.0" || pe.Code != 0x10e || !errors.Is(err, ErrResponseHeaderTooLarge) {
			t.Fatalf("err = %v, want a *ProtocolError HTTP/3.0 for a header too large", err)
		}
		if r.tr.Stats().Retries != 0 {
			t.Error("a malformed response was resent")
		}
	})
}

func TestH3StreamLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		r := newH3Rig(Config{}, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			<-unblock
		}))
		defer r.close()
		r.h3.limit = 2
		r.seed()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := r.do(t, "GET", nil); err != nil {
					t.Error(err)
				}
			})
			synctest.Wait() // in flight before the next
		}
		st := r.tr.Stats()
		if st.HTTP3 != 2 || st.InUse != 2 || r.h3.dials.Load() != 2 {
			t.Errorf("3 requests on connections of 2 streams: %+v, %d QUIC dials; want 2 connections", st, r.h3.dials.Load())
		}
		close(unblock)
		wg.Wait()
		if st := r.tr.Stats(); st.InUse != 0 || st.Idle != 2 {
			t.Errorf("after the responses: %+v, want both connections idle", st)
		}
	})
}

func TestH3BodyAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		r.upgraded(t)
		req, _ := http.NewRequest("GET", testH3Origin+"/", nil)
		resp, err := r.tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if st := r.tr.Stats(); st.InUse != 1 {
			t.Errorf("in use %d while the body is unread, want 1", st.InUse)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 1)); err != ErrBodyClosed {
			t.Errorf("Read after Close: %v, want ErrBodyClosed", err)
		}
		if st := r.tr.Stats(); st.InUse != 0 || st.Idle != 2 {
			t.Errorf("after Close: %+v, want the HTTP/3 connection idle", st)
		}
		r.close()
		synctest.Wait()
		if n := r.h3.closedConns(); n != 1 {
			t.Errorf("%d HTTP/3 connections closed by Close, want 1", n)
		}
		if st := r.tr.Stats(); st.Open != 0 || st.Closed[CloseTransportClosed] != 2 {
			t.Errorf("after Close: %+v", st)
		}
	})
}

func TestH3TraceAndLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		r := newH3Rig(Config{Logger: logger, DisableCompression: true}, nil)
		defer r.close()
		r.seed()
		var mu sync.Mutex
		var events []string
		note := func(s string) {
			mu.Lock()
			events = append(events, s)
			mu.Unlock()
		}
		trace := &httptrace.ClientTrace{
			ConnectStart:         func(network, addr string) { note("connect " + network + " " + addr) },
			TLSHandshakeDone:     func(s tls.ConnectionState, err error) { note("tls " + s.NegotiatedProtocol) },
			GotConn:              func(i httptrace.GotConnInfo) { note("got " + i.Conn.RemoteAddr().Network()) },
			PutIdleConn:          func(err error) { note("put " + errString(err)) },
			GotFirstResponseByte: func() {},
		}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", testH3Origin+"/", nil)
		resp, err := r.tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want := []string{"connect udp example.test:443", "tls h3", "got udp", "put no error"}
		mu.Lock()
		got := strings.Join(events, ", ")
		mu.Unlock()
		if got != strings.Join(want, ", ") {
			t.Errorf("trace events: %s\nwant %s", got, strings.Join(want, ", "))
		}
		if !r.h3.opts.DisableCompression || r.h3.opts.MaxResponseHeaderBytes != DefaultMaxResponseHeaderBytes {
			t.Errorf("dial options %+v do not carry the Config", r.h3.opts)
		}
		if !strings.Contains(logs.String(), "proto=HTTP/3.0") {
			t.Errorf("log has no HTTP/3 dial:\n%s", logs.String())
		}
	})
}

func TestH3NotForProxiesOrHTTP(t *testing.T) {
	tr := New(Config{HTTP3: HTTP3Config{Dialer: &fakeH3{}}})
	defer tr.Close()
	for _, tt := range []struct {
		key  connectKey
		r    route
		want bool
	}{
		{connectKey{scheme: "https", addr: "a:443"}, routeDirect, true},
		{connectKey{scheme: "http", addr: "a:80"}, routeDirect, false},
		{connectKey{scheme: "https", addr: "a:443", proxy: "http://p:3128"}, routeTunnel, false},
		{connectKey{scheme: "https", addr: "a:443", proxy: "socks5://p:1080"}, routeSOCKS, false},
	} {
		if got := tr.c.h3Eligible(tt.key, tt.r); got != tt.want {
			t.Errorf("h3Eligible(%v) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if _, ok := New(Config{}).HTTP3Status(testH3Origin); ok {
		t.Error("HTTP3Status without HTTP/3 reports something")
	}
}

func TestH3AltSvcRenewedAtMostOncePerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{HTTP2: HTTP2Config{Disable: true}}, nil)
		defer r.close()
		r.h3.set(func(f *fakeH3) { f.dialErr = errors.New("fake: no QUIC") }) // stay on TCP
		r.get(t)
		first := r.status(t).Expires
		time.Sleep(500 * time.Millisecond)
		r.get(t)
		if got := r.status(t).Expires; !got.Equal(first) {
			t.Errorf("expiry renewed %v after half a second", got.Sub(first))
		}
		time.Sleep(600 * time.Millisecond)
		r.get(t)
		if got := r.status(t).Expires; got.Sub(first) != 1100*time.Millisecond {
			t.Errorf("expiry moved by %v after 1.1 s, want renewed", got.Sub(first))
		}
	})
}

func TestH3AltSvcClear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var clear atomic.Bool
		r := newH3Rig(Config{}, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if clear.Load() {
				w.Header().Set("Alt-Svc", "clear")
			}
		}))
		defer r.close()
		r.upgraded(t)
		clear.Store(true)
		if p := r.get(t); p != 3 {
			t.Fatalf("request over HTTP/%d", p)
		}
		if s := r.status(t); s.Alternative != "" {
			t.Errorf("status %+v after Alt-Svc: clear, want no alternative", s)
		}
		// No alternative: a new connection dials TCP at once, no race.
		r.h3.set(func(f *fakeH3) { f.block = true })
		r.tr.CloseIdleConnections()
		start := time.Now()
		if p := r.get(t); p != 2 {
			t.Errorf("request over HTTP/%d after clear, want TCP", p)
		}
		if dials := r.tcp.dialTimes(); !dials[len(dials)-1].Equal(start) {
			t.Errorf("TCP dialed %v after the request, want at once", dials[len(dials)-1].Sub(start))
		}
	})
}

func TestH3MaxConnsPerHostClosesLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{MaxConnsPerHost: 1, HTTP3: HTTP3Config{RaceDelay: time.Millisecond}}, nil)
		defer r.close()
		r.h3.delay = 10 * time.Millisecond
		r.seed()
		if p := r.get(t); p != 2 {
			t.Fatalf("request over HTTP/%d, want TCP", p)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st := r.tr.Stats()
		if st.Open != 1 || st.HTTP3 != 0 || r.h3.closedConns() != 1 {
			t.Errorf("stats %+v, %d QUIC connections closed: the late QUIC connection must not exceed MaxConnsPerHost", st, r.h3.closedConns())
		}
	})
}

func TestH3ResponseHeaderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{ResponseHeaderTimeout: time.Second}, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Query().Has("slow") {
				select {
				case <-req.Context().Done():
				case <-time.After(time.Minute):
				}
			}
		}))
		defer r.close()
		r.upgraded(t)
		r.h3.set(func(f *fakeH3) {
			f.fail = func(req *http.Request) error {
				if req.URL.Query().Has("slow") {
					<-req.Context().Done() // as quic-go does: the request's context ends it
					return req.Context().Err()
				}
				return nil
			}
		})
		req, _ := http.NewRequest("GET", testH3Origin+"/?slow", nil)
		start := time.Now()
		_, err := r.tr.RoundTrip(req)
		if !errors.Is(err, ErrResponseHeaderTimeout) || time.Since(start) != time.Second {
			t.Fatalf("err = %v after %v, want ErrResponseHeaderTimeout after 1s", err, time.Since(start))
		}
		if p := r.get(t); p != 3 {
			t.Errorf("next request over HTTP/%d: the timeout must not close the connection", p)
		}
	})
}

func TestH3OffWithDisableKeepAlives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{DisableKeepAlives: true}, nil)
		defer r.close()
		for range 3 {
			if p := r.get(t); p != 2 {
				t.Fatalf("request over HTTP/%d", p)
			}
		}
		synctest.Wait()
		if d := r.h3.dials.Load(); d != 0 {
			t.Errorf("%d QUIC dials with keep-alives off, want none", d)
		}
	})
}

func TestH3PoolLimitsApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{MaxRequestsPerConn: 2}, nil)
		defer r.close()
		r.upgraded(t)
		for range 2 {
			if p := r.get(t); p != 3 {
				t.Fatalf("request over HTTP/%d", p)
			}
		}
		r.get(t) // the HTTP/3 connection served its 2: it closes, another is dialed
		synctest.Wait()
		st := r.tr.Stats()
		if st.Closed[CloseMaxRequests] != 1 || st.HTTP3 != 1 || r.h3.dials.Load() != 2 {
			t.Errorf("stats %+v, %d QUIC dials: want the first HTTP/3 connection closed for max_requests and a new one", st, r.h3.dials.Load())
		}
	})
}

func TestH3SessionsApartFromTCP(t *testing.T) {
	base := tls.NewLRUClientSessionCache(4)
	h3 := h3SessionCache{base}
	tcpState, h3State := &tls.ClientSessionState{}, &tls.ClientSessionState{}
	base.Put("example.test", tcpState)
	h3.Put("example.test", h3State)
	if got, _ := base.Get("example.test"); got != tcpState {
		t.Error("the QUIC session replaced the TCP one")
	}
	if got, _ := h3.Get("example.test"); got != h3State {
		t.Error("QUIC got the TCP session")
	}
}

// QUIC announces its idle timeout and keeps to it itself: an HTTP/3
// connection that ends while idle teaches the pool nothing of the
// origin's idle timeout, which would otherwise cut its TCP connections.
func TestH3IdleCloseTeachesNoIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		if p := r.get(t); p != 3 {
			t.Fatalf("request over HTTP/%d, want HTTP/3", p)
		}
		time.Sleep(200 * time.Millisecond)
		var hc *fakeH3Conn
		r.h3.set(func(f *fakeH3) { hc = f.conns[len(f.conns)-1] })
		hc.closeByServer(&HTTP3Error{Kind: HTTP3ConnLost, Err: errors.New("fake: idle timeout")})
		synctest.Wait()
		if st := r.tr.Stats(); st.HTTP3 != 0 || st.Closed[CloseServerClosed] != 1 {
			t.Fatalf("stats %+v, want the HTTP/3 connection closed by the server", st)
		}
		if hs, _ := r.tr.HostStats(testH3Origin); hs.LearnedIdleTimeout != 0 {
			t.Errorf("learned an idle timeout of %v from a QUIC connection's end", hs.LearnedIdleTimeout)
		}
	})
}

// A QUIC connection that served and then ended (the server restarted or
// closed it) says nothing against HTTP/3: the request is resent over TCP as
// a stale TCP connection's would be, and HTTP/3 is not marked broken.
func TestH3ReusedConnectionLostIsNotBroken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{}, nil)
		defer r.close()
		r.upgraded(t)
		if p := r.get(t); p != 3 {
			t.Fatalf("request over HTTP/%d, want HTTP/3", p)
		}
		closed := &HTTP3Error{Kind: HTTP3ConnClosed, Remote: true, Err: errors.New("fake: H3_NO_ERROR")}
		r.h3.set(func(f *fakeH3) {
			f.fail = func(*http.Request) error { f.conns[0].closeByServer(closed); return closed }
		})
		resp, err := r.do(t, "GET", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("resent over HTTP/%d, want TCP", resp.ProtoMajor)
		}
		if s := r.status(t); s.Failures != 0 || !s.BrokenUntil.IsZero() {
			t.Errorf("status %+v; want HTTP/3 not broken by a served connection's end", s)
		}
	})
}

// At MaxConnsPerHost the origin's TCP connection fills the host: no QUIC
// connection could join it, so none is dialed, however many responses
// offer HTTP/3.
func TestH3NoUpgradeAtConnectionLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newH3Rig(Config{MaxConnsPerHost: 1}, nil)
		defer r.close()
		for range 5 {
			if p := r.get(t); p != 2 {
				t.Fatalf("request over HTTP/%d, want TCP", p)
			}
			synctest.Wait()
		}
		if d, c := r.h3.dials.Load(), r.h3.closedConns(); d != 0 || c != 0 {
			t.Errorf("%d QUIC dials, %d closed unused; want none at the limit", d, c)
		}
	})
}
