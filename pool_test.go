package httppool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool/internal/testserver"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hello answers every request with a short body.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello")
})

// get sends a GET through rt and returns the body, failing the test on error.
func get(t testing.TB, rt http.RoundTripper, url string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return string(b)
}

// fetchBody is get for goroutines other than the test's: it returns the error.
func fetchBody(rt http.RoundTripper, url string) (string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// waitUntil polls cond until it holds, failing t with what it waited for
// after 10 seconds: long enough for a loaded machine, short of the test
// binary's timeout.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

func newTransport(t testing.TB, cfg Config) *Transport {
	tr := New(cfg)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestSequentialRequestsShareOneConnection(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	for i := 0; i < 5; i++ {
		if got := get(t, tr, srv.URL+"/"+fmt.Sprint(i)); got != "hello" {
			t.Fatalf("body %q", got)
		}
	}
	if n := srv.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
	st := tr.Stats()
	if st.Requests != 5 || st.Reused != 4 || st.Dials != 1 || st.Idle != 1 || st.Open != 1 {
		t.Errorf("stats = %+v, want 5 requests, 4 reused, 1 dial, 1 idle, 1 open", st)
	}
}

func TestHostsNeverShareConnections(t *testing.T) {
	a := testserver.New(t, hello, nil)
	b := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	port := a.Addr[strings.LastIndexByte(a.Addr, ':'):]
	for i := 0; i < 3; i++ {
		get(t, tr, a.URL)
		get(t, tr, b.URL)
		get(t, tr, "http://localhost"+port) // same server as a, another host name
	}
	if a.Accepted() != 2 {
		t.Errorf("server a accepted %d connections, want 2 (one for 127.0.0.1, one for localhost)", a.Accepted())
	}
	if b.Accepted() != 1 {
		t.Errorf("server b accepted %d connections, want 1", b.Accepted())
	}
}

func TestHostKeyIsCaseInsensitiveAndPortDefaulted(t *testing.T) {
	c := &core{}
	for _, tc := range []struct{ url, want string }{
		{"http://Example.COM/x", "example.com:80"},
		{"http://example.com:80/x", "example.com:80"},
		{"https://example.com/", "example.com:443"},
		{"http://[::1]:8080/", "[::1]:8080"},
		{"http://[::1]/", "[::1]:80"},
	} {
		req, _ := http.NewRequest("GET", tc.url, nil)
		k, err := c.keyFor(req)
		if err != nil || k.addr != tc.want {
			t.Errorf("keyFor(%s) = %q, %v; want %q", tc.url, k.addr, err, tc.want)
		}
	}
	req, _ := http.NewRequest("GET", "ftp://example.com/", nil)
	if _, err := c.keyFor(req); err == nil || !strings.Contains(err.Error(), "unsupported protocol scheme") {
		t.Errorf("ftp URL: err = %v", err)
	}
}

func TestIdleTimeoutClosesAndRedials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(hello, nil)
		defer srv.Close()
		tr := New(Config{IdleTimeout: 10 * time.Second, DialContext: srv.Dial})
		defer tr.Close()

		get(t, tr, "http://example.test/")
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if srv.Closed() != 0 {
			t.Fatalf("connection closed before the idle timeout")
		}
		get(t, tr, "http://example.test/") // reuses: idle 9 s < 10 s
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if srv.Closed() != 1 || tr.Stats().Idle != 0 {
			t.Fatalf("after the idle timeout: server saw %d closed, %d idle; want 1 closed by the sweeper, 0 idle", srv.Closed(), tr.Stats().Idle)
		}
		get(t, tr, "http://example.test/")
		if n := srv.Dials.Load(); n != 2 {
			t.Errorf("dials = %d, want 2", n)
		}
		if n := tr.Stats().Closed["idle_timeout"]; n != 1 {
			t.Errorf("closed for idle_timeout = %d, want 1", n)
		}
	})
}

func TestIdleTimeoutLoopbackTCP(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{IdleTimeout: 50 * time.Millisecond})
	get(t, tr, srv.URL)
	srv.WaitClosed(t, 1) // closed by the client's sweeper
	get(t, tr, srv.URL)
	if srv.Accepted() != 2 {
		t.Errorf("accepted %d, want 2", srv.Accepted())
	}
}

func TestSweeperStopsWhenNothingIsIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(hello, nil)
		defer srv.Close()
		tr := New(Config{IdleTimeout: time.Second, DialContext: srv.Dial})
		defer tr.Close()
		get(t, tr, "http://example.test/")
		time.Sleep(1500 * time.Millisecond) // the connection expired at 1 s
		synctest.Wait()
		if !tr.c.sweeping.Load() {
			t.Error("sweeper stopped at once: it waits a period for the next idle connection")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if tr.c.sweeping.Load() {
			t.Error("sweeper still running after a whole period with no idle connection")
		}
	})
}

func TestNegativeIdleTimeoutNeverExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(hello, nil)
		defer srv.Close()
		tr := New(Config{IdleTimeout: -1, DialContext: srv.Dial})
		defer tr.Close()
		get(t, tr, "http://example.test/")
		time.Sleep(24 * time.Hour)
		get(t, tr, "http://example.test/")
		if n := srv.Dials.Load(); n != 1 {
			t.Errorf("dials = %d, want 1", n)
		}
	})
}

// barrier holds every request until n have arrived, so that n connections
// are open at once.
func barrier(n int) http.Handler {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "ok")
	})
}

func getConcurrently(t *testing.T, tr http.RoundTripper, url string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fetchBody(tr, url); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func mustRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestMaxIdlePerHostAfterBurst(t *testing.T) {
	srv := testserver.New(t, barrier(5), nil)
	tr := newTransport(t, Config{MaxIdlePerHost: 2})
	getConcurrently(t, tr, srv.URL, 5)
	if srv.Accepted() != 5 {
		t.Fatalf("accepted %d, want 5 concurrent connections", srv.Accepted())
	}
	srv.WaitClosed(t, 3)
	st := tr.Stats()
	if st.Idle != 2 || st.Open != 2 || st.Closed["max_idle_per_host"] != 3 {
		t.Errorf("stats = %+v; want 2 idle, 2 open, 3 closed for max_idle_per_host", st)
	}
	time.Sleep(20 * time.Millisecond)
	if srv.Open() != 2 {
		t.Errorf("server has %d open connections, want 2", srv.Open())
	}
}

func TestMaxIdleClosesLeastRecentlyUsedAcrossHosts(t *testing.T) {
	srvs := []*testserver.Server{
		testserver.New(t, hello, nil), testserver.New(t, hello, nil), testserver.New(t, hello, nil),
	}
	tr := newTransport(t, Config{MaxIdleConns: 2})
	for _, s := range srvs {
		get(t, tr, s.URL)
	}
	srvs[0].WaitClosed(t, 1) // the least recently used
	st := tr.Stats()
	if st.Idle != 2 || st.Closed["max_idle"] != 1 {
		t.Errorf("stats = %+v; want 2 idle, 1 closed for max_idle", st)
	}
	for _, s := range srvs[1:] {
		get(t, tr, s.URL)
		if s.Accepted() != 1 {
			t.Errorf("%s: accepted %d, want its idle connection reused", s.URL, s.Accepted())
		}
	}
}

func TestMaxConnsPerHostWaitsAndNeverExceeds(t *testing.T) {
	var cur, peak atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		io.WriteString(w, "ok")
	})
	srv := testserver.New(t, h, nil)
	tr := newTransport(t, Config{MaxConnsPerHost: 2})
	getConcurrently(t, tr, srv.URL, 20)
	if srv.Accepted() > 2 || peak.Load() > 2 {
		t.Errorf("accepted %d connections, %d requests at once; want at most 2", srv.Accepted(), peak.Load())
	}
	if st := tr.Stats(); st.WaitCount == 0 || st.Waiting != 0 {
		t.Errorf("stats = %+v; want waits counted and none waiting now", st)
	}
}

func TestMaxConnsPerHostServesWaitersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		// The one connection serves the waiters one after another, so the
		// order the server sees is the order they were granted it; the
		// order their goroutines return in is the scheduler's.
		var order []string
		var mu sync.Mutex
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				<-release
			} else {
				mu.Lock()
				order = append(order, r.URL.Path)
				mu.Unlock()
			}
			io.WriteString(w, r.URL.Path)
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{MaxConnsPerHost: 1, DialContext: srv.Dial})
		defer tr.Close()

		held := make(chan struct{})
		go func() {
			if _, err := fetchBody(tr, "http://example.test/hold"); err != nil {
				t.Error(err)
			}
			close(held)
		}()
		synctest.Wait()
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := fmt.Sprintf("/%d", i)
				if body, err := fetchBody(tr, "http://example.test"+path); err != nil || body != path {
					t.Errorf("%s: body %q, %v", path, body, err)
				}
			}()
			synctest.Wait() // queue them one after another
		}
		if w := tr.Stats().Waiting; w != 4 {
			t.Fatalf("waiting = %d, want 4", w)
		}
		close(release)
		wg.Wait()
		<-held
		if got := strings.Join(order, " "); got != "/0 /1 /2 /3" {
			t.Errorf("waiters served in order %q, want FIFO", got)
		}
		if n := srv.Dials.Load(); n != 1 {
			t.Errorf("dials = %d, want 1", n)
		}
	})
}

func TestWaiterGivesUpWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{MaxConnsPerHost: 1, DialContext: srv.Dial})
		defer tr.Close()
		go fetchBody(tr, "http://example.test/")
		synctest.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req := mustRequest(t, "GET", "http://example.test/", nil).WithContext(ctx)
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if w := tr.Stats().Waiting; w != 0 {
			t.Errorf("waiting = %d after the context ended", w)
		}
		close(release)
		synctest.Wait()
	})
}

func TestConnectionCloseResponseIsNotReused(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	srv := testserver.New(t, h, nil)
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	get(t, tr, srv.URL)
	if srv.Accepted() != 2 {
		t.Errorf("accepted %d, want 2", srv.Accepted())
	}
	if st := tr.Stats(); st.Idle != 0 || st.Closed["connection_close"] != 2 {
		t.Errorf("stats = %+v; want nothing idle, 2 closed for connection_close", st)
	}
}

func TestRequestCloseIsNotReused(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	for i := 0; i < 2; i++ {
		req := mustRequest(t, "GET", srv.URL, nil)
		req.Close = true
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if srv.Accepted() != 2 {
		t.Errorf("accepted %d, want 2", srv.Accepted())
	}
}

func TestDisableKeepAlivesOpensOneConnectionPerRequest(t *testing.T) {
	var keptAlive atomic.Int64
	srv := testserver.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.Close {
			keptAlive.Add(1) // the server was not told the connection closes
		}
	}), nil)
	tr := newTransport(t, Config{DisableKeepAlives: true})
	for i := 0; i < 3; i++ {
		get(t, tr, srv.URL)
	}
	if srv.Accepted() != 3 {
		t.Errorf("accepted %d, want 3", srv.Accepted())
	}
	srv.WaitClosed(t, 3)
	if st := tr.Stats(); st.Open != 0 || st.Idle != 0 {
		t.Errorf("stats = %+v; want nothing open", st)
	}
	if n := keptAlive.Load(); n != 0 {
		t.Errorf("%d requests without Connection: close", n)
	}
}

func TestMaxRequestsPerConn(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{MaxRequestsPerConn: 3})
	for i := 0; i < 7; i++ {
		get(t, tr, srv.URL)
	}
	if srv.Accepted() != 3 {
		t.Errorf("accepted %d, want 3 (3+3+1 requests)", srv.Accepted())
	}
}

func TestMaxLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(hello, nil)
		defer srv.Close()
		tr := New(Config{MaxLifetime: time.Minute, IdleTimeout: -1, DialContext: srv.Dial})
		defer tr.Close()
		for i := 0; i < 6; i++ {
			get(t, tr, "http://example.test/")
			time.Sleep(10 * time.Second) // 6 requests over 60 s, within jitter
		}
		time.Sleep(time.Second)
		get(t, tr, "http://example.test/")
		if n := srv.Dials.Load(); n != 2 {
			t.Errorf("dials = %d, want 2: the first connection outlived MaxLifetime", n)
		}
		if n := tr.Stats().Closed["max_lifetime"]; n != 1 {
			t.Errorf("closed for max_lifetime = %d, want 1", n)
		}
	})
}

func TestLifetimeJitterIsBounded(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if j := lifetimeJitter(time.Minute); j < 0 || j > 6*time.Second {
			t.Fatalf("jitter %v outside [0, 6s]", j)
		}
	}
}

func TestCloseClosesIdleAtOnceAndInFlightAfterResponse(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "done")
	})
	srv := testserver.New(t, h, nil)
	other := testserver.New(t, hello, nil)
	tr := New(Config{})
	get(t, tr, other.URL) // one idle connection

	result := make(chan string)
	go func() {
		b, err := fetchBody(tr, srv.URL+"/slow")
		if err != nil {
			b = err.Error()
		}
		result <- b
	}()
	waitUntil(t, "the server to accept a connection", func() bool { return srv.Accepted() > 0 })
	tr.Close()
	other.WaitClosed(t, 1)
	if srv.Closed() != 0 {
		t.Fatal("Close closed the connection of a request in flight")
	}
	if _, err := tr.RoundTrip(mustRequest(t, "GET", other.URL, nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("request after Close: err = %v, want ErrClosed", err)
	}
	close(release)
	if got := <-result; got != "done" {
		t.Errorf("in-flight request got %q, want its response", got)
	}
	srv.WaitClosed(t, 1)
}

func TestShutdownWaitsForInFlightRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(3 * time.Second)
			io.WriteString(w, "done")
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		body := make(chan string)
		go func() {
			b, err := fetchBody(tr, "http://example.test/")
			if err != nil {
				t.Error(err)
			}
			body <- b
		}()
		synctest.Wait()

		start := time.Now()
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if waited := time.Since(start); waited < 3*time.Second {
			t.Errorf("Shutdown returned after %v, before the request finished", waited)
		}
		if got := <-body; got != "done" {
			t.Errorf("body %q", got)
		}
		synctest.Wait()
		if srv.Open() != 0 {
			t.Errorf("%d connections open after Shutdown", srv.Open())
		}
	})
}

func TestShutdownGivesUpWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		errc := make(chan error)
		go func() {
			_, err := fetchBody(tr, "http://example.test/")
			errc <- err
		}()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
		if err := <-errc; err == nil {
			t.Error("request in flight succeeded after Shutdown closed its connection")
		}
		close(release)
		synctest.Wait()
	})
}

func TestUnreachableTransportClosesIdleConnections(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	func() {
		tr := New(Config{})
		get(t, tr, srv.URL)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Closed() == 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Closed() != 1 {
		t.Error("idle connection of an unreachable Transport still open")
	}
}

func TestCloseIdleConnections(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	client := tr.Client()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	srv.WaitClosed(t, 1)
	get(t, tr, srv.URL) // the Transport still works
	if srv.Accepted() != 2 {
		t.Errorf("accepted %d, want 2", srv.Accepted())
	}
}

// TestCountsStayConsistentUnderLoad checks that every connection is counted
// once: after a concurrent load, open equals idle and the server agrees.
func TestCountsStayConsistentUnderLoad(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{MaxIdlePerHost: 4, MaxConnsPerHost: 8})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := fetchBody(tr, srv.URL); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := tr.Stats()
	if st.Requests != 800 || st.InUse != 0 || st.Open != st.Idle || st.Idle > 4 {
		t.Errorf("stats = %+v; want 800 requests, none in use, open == idle <= 4", st)
	}
	if int(st.Dials) != srv.Accepted() || srv.Accepted() > 8 {
		t.Errorf("dials %d, server accepted %d; want equal and at most 8", st.Dials, srv.Accepted())
	}
	srv.WaitClosed(t, srv.Accepted()-st.Idle)
}

// The yield before reading a response pays off only when other requests of
// the pool are in flight; a lone request must read at once.
func TestYieldToReadOnlyWhenOthersInFlight(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 2 { // two connections, both idle afterwards
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			<-release
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	for deadline := time.Now().Add(5 * time.Second); tr.Stats().InUse < 2; {
		if time.Now().After(deadline) {
			close(release)
			wg.Wait()
			t.Fatal("two requests never were in flight together")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	key, err := tr.c.keyFor(req)
	if err != nil {
		t.Fatal(err)
	}
	hp := tr.c.hostPoolFor(key)
	first, err := hp.get(context.Background(), need{resendable: true})
	if err != nil {
		t.Fatal(err)
	}
	second, err := hp.get(context.Background(), need{resendable: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.busy {
		t.Error("a lone request yields before reading")
	}
	if !second.busy {
		t.Error("a request with another in flight does not yield before reading")
	}
	hp.release(first.conn, closeReasonNone)
	hp.release(second.conn, closeReasonNone)
}

// The last retry trades the oldest idle connection's slot for a new
// connection when the host is at MaxConnsPerHost: the slot passes to the
// dial, so the host never counts more or fewer connections than it has.
func TestFreshTradeKeepsTheSlot(t *testing.T) {
	srv := testserver.New(t, nil, nil)
	tr := newTransport(t, Config{MaxConnsPerHost: 2})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	key, err := tr.c.keyFor(req)
	if err != nil {
		t.Fatal(err)
	}
	hp := tr.c.hostPoolFor(key)
	ctx := context.Background()
	inUse, err := hp.get(ctx, need{})
	if err != nil {
		t.Fatal(err)
	}
	idle, err := hp.get(ctx, need{})
	if err != nil {
		t.Fatal(err)
	}
	hp.release(idle.conn, closeReasonNone)
	fresh, err := hp.get(ctx, need{fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.conn == idle.conn || fresh.conn == inUse.conn {
		t.Fatal("the last retry got a pooled connection, not a new one")
	}
	hs, _ := tr.HostStats(srv.URL)
	if hs.Open != 2 || hs.InUse != 2 || hs.Idle != 0 {
		t.Errorf("after the trade: %+v; want 2 open, both in use", hs)
	}
	hp.release(inUse.conn, closeReasonNone)
	hp.release(fresh.conn, closeReasonNone)
	st := tr.Stats()
	if hs, _ := tr.HostStats(srv.URL); hs.Open != 2 || hs.Idle != 2 || st.Dials != 3 || st.Closed[CloseRetryReplaced] != 1 {
		t.Errorf("after the releases: %+v, %d dials, closed %v; want 2 open and idle, 3 dials, 1 replaced", hs, st.Dials, st.Closed)
	}
}
