package httppool

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// barrierRounds answers no request until n are in the handler at once, in
// rounds of n, so that a burst of n requests needs n connections
// (HTTP/1.1) in flight together.
func barrierRounds(n int) http.HandlerFunc {
	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		round := all
		if arrived++; arrived == n {
			close(all)
			arrived, all = 0, make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-round:
		case <-r.Context().Done():
		}
		io.WriteString(w, "hello")
	}
}

// burst sends n GETs of url at once and fails t on any error.
func burst(t *testing.T, tr http.RoundTripper, url string, n int) {
	t.Helper()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := fetchBody(tr, url)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestPreconnectThenBurstDialsNothing is the target: after
// Preconnect of n connections, n concurrent requests dial nothing.
func TestPreconnectThenBurstDialsNothing(t *testing.T) {
	const n = 4
	srv := testserver.NewTLS(t, barrierRounds(n), nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	if err := tr.Preconnect(context.Background(), srv.URL, n); err != nil {
		t.Fatal(err)
	}
	st := tr.Stats()
	if st.Dials != n || st.Idle != n || srv.Accepted() != n || st.Requests != 0 {
		t.Fatalf("after Preconnect: Dials %d, Idle %d, server accepted %d, Requests %d; want %d, %d, %d, 0",
			st.Dials, st.Idle, srv.Accepted(), st.Requests, n, n, n)
	}
	var mu sync.Mutex
	var infos []httptrace.GotConnInfo
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		mu.Lock()
		infos = append(infos, i)
		mu.Unlock()
	}})
	errs := make(chan error, n)
	for range n {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			_, _, err := fetch(tr, req)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := tr.Stats(); st.Dials != n || srv.Accepted() != n || st.Reused != 0 {
		t.Errorf("after the burst: Dials %d, server accepted %d, Reused %d; want %d, %d, 0", st.Dials, srv.Accepted(), st.Reused, n, n)
	}
	for _, i := range infos {
		if i.Reused || !i.WasIdle {
			t.Errorf("GotConnInfo %+v: want a connection not reused before, taken idle", i)
		}
	}
}

// TestPreconnectKeepsToLimits checks that Preconnect dials only in free
// slots of MaxConnsPerHost, keeps at most MaxIdlePerHost idle, and counts
// the idle connections the host has.
func TestPreconnectKeepsToLimits(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	ctx := context.Background()

	tr := newTransport(t, Config{MaxConnsPerHost: 2})
	if err := tr.Preconnect(ctx, srv.URL, 5); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 2 || st.Idle != 2 {
		t.Errorf("MaxConnsPerHost 2, Preconnect 5: Dials %d, Idle %d; want 2 and 2", st.Dials, st.Idle)
	}

	tr = newTransport(t, Config{MaxIdlePerHost: 3})
	if err := tr.Preconnect(ctx, srv.URL+"/any/path", 5); err != nil {
		t.Fatal(err)
	}
	if err := tr.Preconnect(ctx, srv.URL, 5); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 3 || st.Idle != 3 || len(st.Closed) != 0 {
		t.Errorf("MaxIdlePerHost 3, Preconnect 5 twice: Dials %d, Idle %d, Closed %v; want 3, 3, none", st.Dials, st.Idle, st.Closed)
	}
	get(t, tr, srv.URL)
	if err := tr.Preconnect(ctx, srv.URL, 2); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 3 {
		t.Errorf("Preconnect 2 with 3 idle: Dials %d, want still 3", st.Dials)
	}
}

// TestPreconnectWaitsForNoSlot checks that Preconnect does not wait for a
// MaxConnsPerHost slot held by a request.
func TestPreconnectWaitsForNoSlot(t *testing.T) {
	release := make(chan struct{})
	srv := testserver.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}), nil)
	tr := newTransport(t, Config{MaxConnsPerHost: 1})
	done := make(chan error, 1)
	go func() {
		_, err := fetchBody(tr, srv.URL)
		done <- err
	}()
	waitUntil(t, "the request in flight", func() bool { return tr.Stats().InUse == 1 })
	if err := tr.Preconnect(context.Background(), srv.URL, 3); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 1 {
		t.Errorf("Dials %d, want 1", st.Dials)
	}
}

// TestPreconnectHTTP2 checks that an HTTP/2 host gets one connection, which
// then carries a burst.
func TestPreconnectHTTP2(t *testing.T) {
	const n = 8
	srv := testserver.NewH2(t, barrierRounds(n), nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	if err := tr.Preconnect(context.Background(), srv.URL, n); err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Dials != 1 || st.HTTP2 != 1 || st.Idle != 1 {
		t.Fatalf("after Preconnect: Dials %d, HTTP2 %d, Idle %d; want 1 each", st.Dials, st.HTTP2, st.Idle)
	}
	burst(t, tr, srv.URL, n)
	if st := tr.Stats(); st.Dials != 1 || srv.Accepted() != 1 {
		t.Errorf("after the burst: Dials %d, server accepted %d; want 1 and 1", st.Dials, srv.Accepted())
	}
	if err := tr.Preconnect(context.Background(), srv.URL, n); err != nil || tr.Stats().Dials != 1 {
		t.Errorf("Preconnect with a connection open: %v, Dials %d; want nil and still 1", err, tr.Stats().Dials)
	}
}

// TestPreconnectContextEnds checks that Preconnect returns when its context
// ends, and that a dial it abandoned leaves nothing behind.
func TestPreconnectContextEnds(t *testing.T) {
	accepted := make(chan struct{}, 1)
	srv := testserver.NewRaw(t, func(n int, c net.Conn) {
		accepted <- struct{}{}
		io.Copy(io.Discard, c) // never answers the TLS handshake
	})
	tr := newTransport(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Preconnect(ctx, "https://"+srv.Addr, 1) }()
	<-accepted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Preconnect: %v, want context.Canceled", err)
	}
	if st := tr.Stats(); st.Open != 0 || st.Dialing != 0 || st.DialErrors != 1 {
		t.Errorf("Stats: Open %d, Dialing %d, DialErrors %d; want 0, 0, 1", st.Open, st.Dialing, st.DialErrors)
	}
	if _, ok := tr.HostStats("https://" + srv.Addr); ok {
		t.Error("the host's pool outlived the failed Preconnect")
	}
	tr.Close()
	if err := tr.Preconnect(context.Background(), "https://"+srv.Addr, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Preconnect after Close: %v, want ErrClosed", err)
	}
}

// TestPreconnectedConnectionClosedIdleIsRetried checks that a request whose
// preconnected connection the server closed is resent, as on a reused one.
func TestPreconnectedConnectionClosedIdleIsRetried(t *testing.T) {
	srv := testserver.NewRaw(t, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || n == 1 {
			return // the first connection closes on the request, as after an idle timeout
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	})
	tr := newTransport(t, Config{})
	if err := tr.Preconnect(context.Background(), srv.URL, 1); err != nil {
		t.Fatal(err)
	}
	if body := get(t, tr, srv.URL); body != "hello" {
		t.Errorf("body %q", body)
	}
	if st := tr.Stats(); st.Retries != 1 || st.Dials != 2 {
		t.Errorf("Stats: Retries %d, Dials %d; want 1 and 2", st.Retries, st.Dials)
	}
}

// TestMinIdlePerHost checks the refill policy of Config.MinIdlePerHost:
// the host gets its warm connections after its first request, keeps them
// through quiet periods longer than IdleTimeout while those above the
// minimum expire, replaces those that reach MaxLifetime, and a burst after
// quiet dials nothing.
func TestMinIdlePerHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(barrierRounds(3), nil)
		defer srv.Close()
		tr := New(Config{MinIdlePerHost: 3, IdleTimeout: time.Minute, MaxLifetime: time.Hour, DialContext: srv.Dial})
		defer tr.Close()

		burst(t, tr, "http://example.test/", 3) // the barrier needs three at once
		synctest.Wait()
		if st := tr.Stats(); st.Idle != 3 || st.Dials != 3 {
			t.Fatalf("after a burst of 3: Idle %d, Dials %d; want 3 and 3", st.Idle, st.Dials)
		}
		srv2 := testserver.NewPipe(hello, nil)
		defer srv2.Close()
		tr2 := New(Config{MinIdlePerHost: 3, IdleTimeout: time.Minute, DialContext: srv2.Dial})
		defer tr2.Close()
		get(t, tr2, "http://example.test/")
		synctest.Wait()
		if st := tr2.Stats(); st.Idle != 3 || st.Dials != 3 {
			t.Fatalf("after one request: Idle %d, Dials %d; want 3 and 3 (refilled)", st.Idle, st.Dials)
		}

		time.Sleep(50 * time.Minute) // quiet, much longer than IdleTimeout
		synctest.Wait()
		if st := tr.Stats(); st.Idle != 3 || st.Dials != 3 || len(st.Closed) != 0 {
			t.Fatalf("after 50 quiet minutes: Idle %d, Dials %d, Closed %v; want 3, 3, none", st.Idle, st.Dials, st.Closed)
		}
		burst(t, tr, "http://example.test/", 3)
		if st := tr.Stats(); st.Dials != 3 {
			t.Errorf("a burst of 3 after quiet dialed: Dials %d, want 3", st.Dials)
		}

		time.Sleep(15 * time.Minute) // past MaxLifetime (less its jitter): every connection is replaced once
		synctest.Wait()
		st := tr.Stats()
		if st.Idle != 3 || st.Dials != 6 || st.Closed[CloseMaxLifetime] != 3 {
			t.Errorf("after MaxLifetime: Idle %d, Dials %d, Closed %v; want 3, 6, 3 max_lifetime", st.Idle, st.Dials, st.Closed)
		}
	})
}

// TestMinIdlePerHostAboveMinimumExpire checks that IdleTimeout still closes
// the idle connections above the minimum, and that the pool then stays at
// the minimum.
func TestMinIdlePerHostAboveMinimumExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(barrierRounds(4), nil)
		defer srv.Close()
		tr := New(Config{MinIdlePerHost: 2, IdleTimeout: time.Minute, DialContext: srv.Dial})
		defer tr.Close()
		burst(t, tr, "http://example.test/", 4)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		st := tr.Stats()
		if st.Idle != 2 || st.Closed[CloseIdleTimeout] != 2 || st.Dials != 4 {
			t.Errorf("Idle %d, Closed %v, Dials %d; want 2 idle, 2 closed for idle_timeout, 4 dials", st.Idle, st.Closed, st.Dials)
		}
	})
}

// TestMinIdlePerHostYieldsToLimits checks that the refill keeps under
// MaxIdleConns and MaxConnsPerHost, and that CloseIdleConnections is not
// undone.
func TestMinIdlePerHostYieldsToLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := testserver.NewPipe(hello, nil)
		defer srv.Close()
		tr := New(Config{MinIdlePerHost: 3, MaxIdleConns: 4, MaxConnsPerHost: 2, DialContext: srv.Dial})
		defer tr.Close()
		get(t, tr, "http://a.test/")
		get(t, tr, "http://b.test/")
		synctest.Wait()
		st := tr.Stats()
		if st.Idle != 4 || st.Closed[CloseMaxIdle] != 0 {
			t.Errorf("Idle %d, Closed %v; want 4 (2 per host, MaxConnsPerHost), none evicted", st.Idle, st.Closed)
		}
		get(t, tr, "http://c.test/")
		synctest.Wait()
		st = tr.Stats()
		if st.Idle != 4 || st.Dials != 5 || st.Closed[CloseMaxIdle] != 1 {
			t.Errorf("with a third host: Idle %d, Dials %d, Closed %v; want 4, 5, 1 max_idle and no refill over MaxIdleConns",
				st.Idle, st.Dials, st.Closed)
		}
		tr.CloseIdleConnections()
		synctest.Wait()
		if st := tr.Stats(); st.Idle != 0 || st.Dials != 5 {
			t.Errorf("after CloseIdleConnections: Idle %d, Dials %d; want 0 and still 5", st.Idle, st.Dials)
		}
	})
}
