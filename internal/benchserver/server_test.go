package benchserver

import (
	"bytes"
	"context"
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

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	ChildMain()
	goleak.VerifyTestMain(m)
}

// startServer serves opts on a loopback port until the test ends.
func startServer(t *testing.T, opts Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ln, opts) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// countingTransport is a net/http Transport that counts its dials.
type countingTransport struct {
	*http.Transport
	dials atomic.Int64
}

func newCountingTransport(t *testing.T, maxIdle int) *countingTransport {
	ct := &countingTransport{}
	var d net.Dialer
	ct.Transport = &http.Transport{
		MaxIdleConnsPerHost: maxIdle,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ct.dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(ct.CloseIdleConnections)
	return ct
}

// do sends req through rt and returns the response's status and body.
func do(rt http.RoundTripper, req *http.Request) (int, []byte, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func get(t *testing.T, rt http.RoundTripper, url string) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := do(rt, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if status != 200 {
		t.Fatalf("GET %s: status %d", url, status)
	}
	return body
}

func TestKeepAliveGET(t *testing.T) {
	addr := startServer(t, Options{})
	tr := newCountingTransport(t, 1)
	for i := range 3 {
		if body := get(t, tr, fmt.Sprintf("http://%s/%d?q=1", addr, i)); string(body) != "Hello, World!" {
			t.Fatalf("body %q, want %q", body, "Hello, World!")
		}
	}
	if n := tr.dials.Load(); n != 1 {
		t.Errorf("%d dials for 3 sequential requests, want 1", n)
	}
}

func TestBodySize(t *testing.T) {
	addr := startServer(t, Options{BodySize: 100})
	tr := newCountingTransport(t, 1)
	if body := get(t, tr, "http://"+addr+"/"); !bytes.Equal(body, Body(100)) {
		t.Errorf("default body of %d bytes, want the 100 bytes of Body(100)", len(body))
	}
	const size = 1 << 20
	if body := get(t, tr, fmt.Sprintf("http://%s/size/%d", addr, size)); !bytes.Equal(body, Body(size)) {
		t.Errorf("/size/%d: body of %d bytes, want Body(%d)", size, len(body), size)
	}
}

// TestRequestBodiesAreDiscarded checks that bodies sized by Content-Length
// and chunked bodies are consumed, so the connection serves the next request.
func TestRequestBodiesAreDiscarded(t *testing.T) {
	addr := startServer(t, Options{})
	tr := newCountingTransport(t, 1)
	payload := strings.Repeat("x", 10000)
	for _, chunked := range []bool{false, true, false} {
		var body io.Reader = strings.NewReader(payload)
		if chunked {
			body = io.MultiReader(body) // hides the length: net/http sends it chunked
		}
		req, err := http.NewRequest("POST", "http://"+addr+"/", body)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, err := do(tr, req); err != nil || status != 200 {
			t.Fatalf("POST (chunked %v): status %d, %v", chunked, status, err)
		}
	}
	if n := tr.dials.Load(); n != 1 {
		t.Errorf("%d dials for 3 sequential POSTs, want 1", n)
	}
}

// rawExchange writes request to a new connection to addr and returns all
// the server sends until it closes the connection.
func rawExchange(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading until the server closes: %v", err)
	}
	return string(got)
}

func TestRawExchanges(t *testing.T) {
	addr := startServer(t, Options{})
	const ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
	tests := []struct {
		name, request, want string
	}{
		{
			name:    "connection close",
			request: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			want:    ok + "Connection: close\r\n\r\nHello, World!",
		},
		{
			name:    "HTTP/1.0 closes",
			request: "GET / HTTP/1.0\r\n\r\n",
			want:    ok + "Connection: close\r\n\r\nHello, World!",
		},
		{
			name:    "HEAD has no body",
			request: "HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n",
			want:    ok + "Connection: close\r\n\r\n",
		},
		{
			name: "pipelined",
			request: "GET / HTTP/1.1\r\n\r\n" +
				"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext\r\nabc\r\n0\r\nTrailer: x\r\n\r\n" +
				"GET /size/3 HTTP/1.1\r\nConnection: close\r\n\r\n",
			want: ok + "\r\nHello, World!" +
				ok + "\r\nHello, World!" +
				"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nHel",
		},
		{
			name:    "expect 100-continue",
			request: "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
			want:    "HTTP/1.1 100 Continue\r\n\r\n" + ok + "Connection: close\r\n\r\nHello, World!",
		},
		{
			name:    "garbage",
			request: "hello\r\n\r\n",
			want:    string(badRequest),
		},
		{
			name:    "bad size",
			request: "GET /size/x HTTP/1.1\r\n\r\n",
			want:    string(badRequest),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawExchange(t, addr, tt.request); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestBarrierForcesDistinctConnections checks that N concurrent requests on
// /barrier/N are all answered, each on its own connection, and that the
// barrier can be used again.
func TestBarrierForcesDistinctConnections(t *testing.T) {
	const n = 20
	addr := startServer(t, Options{})
	tr := newCountingTransport(t, n)
	for round := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/barrier/%d", addr, n), nil)
				status, body, err := do(tr, req)
				if err == nil && (status != 200 || string(body) != "Hello, World!") {
					err = fmt.Errorf("status %d, body %q", status, body)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := tr.dials.Load(); got != n {
			t.Fatalf("round %d: %d connections dialed, want %d", round, got, n)
		}
	}
}

// TestBarrierTimesOut checks that requests short of the barrier's count are
// eventually answered 504 instead of holding the server forever.
func TestBarrierTimesOut(t *testing.T) {
	addr := startServer(t, Options{BarrierTimeout: 50 * time.Millisecond})
	got := rawExchange(t, addr, "GET /barrier/2 HTTP/1.1\r\n\r\n")
	if got != string(barrierTimedOut) {
		t.Errorf("got %q, want %q", got, barrierTimedOut)
	}
}

// TestServeReturnsWithWaiters checks that closing the listener releases a
// request held at a barrier and leaves no goroutine behind.
func TestServeReturnsWithWaiters(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(Options{})
	done := make(chan error, 1)
	go func() { done <- s.serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /barrier/2 HTTP/1.1\r\n\r\n")
	for i := 0; s.barriers.waiting(2) == 0; i++ {
		if i == 10000 {
			t.Fatal("the request never reached its barrier")
		}
		time.Sleep(time.Millisecond)
	}
	ln.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its listener was closed")
	}
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read from the held connection: %d bytes, %v; want EOF", n, err)
	}
}
