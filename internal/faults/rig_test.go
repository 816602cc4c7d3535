package faults_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/internal/faultproxy"
	"github.com/httppool/httppool/internal/memnet"
)

// requestTimeout is the deadline of requests that must fail by themselves:
// far longer than any fault takes to surface, so that a fault that hangs a
// request shows up as context.DeadlineExceeded rather than as slowness.
const requestTimeout = 10 * time.Second

// bigBody is the size of the responses that faults cut in the middle.
const bigBody = 1 << 20

// origin is the server behind the proxy. Its paths:
//
//	/small        "hello", with a Content-Length
//	/big?n=N      N bytes with a Content-Length
//	/chunked?n=N  N bytes, chunked
//	/echo         reads the request body and answers its length
//	/reject       reads 64 KiB of the body, then answers 413 and closes
func origin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		writeN(w, n, false)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		writeN(w, n, true)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		s := strconv.FormatInt(n, 10)
		w.Header().Set("Content-Length", strconv.Itoa(len(s)))
		io.WriteString(w, s)
	})
	mux.HandleFunc("/reject", func(w http.ResponseWriter, r *http.Request) {
		io.CopyN(io.Discard, r.Body, 64<<10)
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})
	return mux
}

// writeN writes n bytes of a repeating pattern, flushing each piece when
// flush is set so that the body goes out chunked.
func writeN(w http.ResponseWriter, n int, flush bool) {
	piece := []byte(strings.Repeat("0123456789abcdef", 2048)) // 32 KiB
	for n > 0 {
		k := min(n, len(piece))
		if _, err := w.Write(piece[:k]); err != nil {
			return
		}
		if flush {
			w.(http.Flusher).Flush()
		}
		n -= k
	}
}

// rig is a Transport talking to the origin through a fault proxy.
type rig struct {
	tr   *httppool.Transport
	px   *faultproxy.Proxy
	base string       // "http://" + the address the Transport dials
	srv  *http.Server // the origin, unless stop is set
	stop func()       // stops an origin that is not srv
	open atomic.Int64 // the origin's connections not yet done
}

// newOrigin returns the origin's server, counting its live connections in open.
func newOrigin(open *atomic.Int64) *http.Server {
	return &http.Server{Handler: origin(), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}}
}

// newTCPRig starts the origin and the proxy on loopback TCP and a Transport
// configured by cfg; everything is closed when the test ends.
func newTCPRig(t *testing.T, script faultproxy.Script, cfg httppool.Config) *rig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{}
	r.srv = newOrigin(&r.open)
	go r.srv.Serve(ln)
	r.px = faultproxy.New(faultproxy.TCP(ln.Addr().String()), script)
	addr, err := r.px.Listen()
	if err != nil {
		t.Fatal(err)
	}
	r.tr, r.base = httppool.New(cfg), "http://"+addr
	t.Cleanup(r.close)
	return r
}

// newPipeRig is newTCPRig in memory, for a testing/synctest bubble: the
// caller must call close before the bubble ends.
func newPipeRig(script faultproxy.Script, cfg httppool.Config) *rig {
	ln := memnet.NewListener()
	r := &rig{base: "http://origin.test"}
	r.srv = newOrigin(&r.open)
	go r.srv.Serve(ln)
	r.px = faultproxy.New(ln.Dial, script)
	cfg.DialContext = r.px.DialContext
	r.tr = httppool.New(cfg)
	return r
}

// close closes the Transport, the proxy and the origin, and waits, a
// bounded time, for the origin's connections to end: net/http lingers half
// a second on a connection it closes after a response, so as not to reset it.
func (r *rig) close() {
	r.tr.Close()
	r.px.Close()
	if r.stop != nil {
		r.stop()
		return
	}
	r.srv.Close()
	for i := 0; i < 500 && r.open.Load() > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends a request and reads its whole body, returning the body and the
// first error met, with the request's context ending after timeout.
func (r *rig) do(method, path string, body io.Reader, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return b, err
}

// get is do for a GET.
func (r *rig) get(path string, timeout time.Duration) ([]byte, error) {
	return r.do(http.MethodGet, path, nil, timeout)
}

// mustGet sends a GET that must succeed with a body of want bytes.
func (r *rig) mustGet(t *testing.T, path string, want int) {
	t.Helper()
	b, err := r.get(path, requestTimeout)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if len(b) != want {
		t.Fatalf("GET %s: %d bytes, want %d", path, len(b), want)
	}
}

// recovers checks what must hold after the fault on the proxy's first
// connection: the fault struck, the client sent nothing more on that
// connection, the next requests succeed on one new connection, and the
// pool's statistics add up with the broken connection closed for reason.
func (r *rig) recovers(t *testing.T, reason string) {
	t.Helper()
	const next = 3
	before, _ := r.px.Conn(2) // a retry may have used it already
	for range next {
		r.mustGet(t, "/small", 5)
	}
	waitFired(t, r.px, 1) // the client may see a reset before the proxy records it
	broken, _ := r.px.Conn(1)
	if broken.ClientBytesAfterFault != 0 {
		t.Errorf("the client sent %d bytes on the broken connection after the fault: it was reused", broken.ClientBytesAfterFault)
	}
	if n := r.px.Accepted(); n != 2 {
		t.Errorf("the proxy accepted %d connections, want 2: the broken one and one for the next requests", n)
	} else if c, _ := r.px.Conn(2); c.Responses-before.Responses != next {
		t.Errorf("the new connection carried %d of the next responses, want %d", c.Responses-before.Responses, next)
	}
	checkRest(t, r, reason)
}

// checkRest checks the pool's statistics with no request in flight: nothing
// in use, every open connection idle, every dial accounted for (open or
// closed for a reason), the proxy having seen every dial, and at least one
// connection closed for reason when reason is not empty.
func checkRest(t *testing.T, r *rig, reason string) httppool.Stats {
	t.Helper()
	st := r.tr.Stats()
	var closed int64
	for _, n := range st.Closed {
		closed += n
	}
	if st.InUse != 0 || st.Open != st.Idle || st.Dialing != 0 || st.Waiting != 0 {
		t.Errorf("stats at rest: InUse %d, Open %d, Idle %d, Dialing %d, Waiting %d; want Open == Idle and nothing else",
			st.InUse, st.Open, st.Idle, st.Dialing, st.Waiting)
	}
	if int64(st.Open)+closed != st.Dials-st.DialErrors {
		t.Errorf("stats: Open %d + closed %d != successful dials %d", st.Open, closed, st.Dials-st.DialErrors)
	}
	// A dial cancelled by its request's context may never reach the proxy.
	if n := int64(r.px.Accepted()); n > st.Dials || n < st.Dials-st.DialErrors {
		t.Errorf("stats: Dials = %d, DialErrors = %d, but the proxy accepted %d connections", st.Dials, st.DialErrors, n)
	}
	if reason != "" && st.Closed[reason] < 1 {
		t.Errorf("stats: Closed = %v, want a connection closed for %q", st.Closed, reason)
	}
	t.Logf("requests %d, retries %d, dials %d, reused %d, open %d, closed %v",
		st.Requests, st.Retries, st.Dials, st.Reused, st.Open, st.Closed)
	return st
}

// connError returns err's *httppool.ConnError, failing the test if it has none.
func connError(t *testing.T, err error) *httppool.ConnError {
	t.Helper()
	var ce *httppool.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *httppool.ConnError", err, err)
	}
	return ce
}

// within checks that a failed request failed by itself, well before the
// deadline of its context: a request that hangs fails with
// context.DeadlineExceeded instead.
func within(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the request succeeded; want an error")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the request hung until its deadline: %v", err)
	}
}

// waitFired waits, a bounded time, until the fault of connection n struck,
// then a moment more: the proxy's RST or FIN was sent, and over loopback
// it reaches the client's socket at once unless the machine is very busy.
func waitFired(t *testing.T, px *faultproxy.Proxy, n int) {
	t.Helper()
	for range 500 {
		if c, ok := px.Conn(n); ok && c.Fired {
			time.Sleep(20 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the fault of connection %d never struck", n)
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
