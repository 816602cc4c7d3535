package faults_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

// A reset before any byte of the response, on a new connection, reaches the
// caller as a *ConnError that says so: nothing is retried, since a new
// connection cannot be stale.
func TestResetBeforeHeaders(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset}}), httppool.Config{})
	_, err := r.get("/small", requestTimeout)
	within(t, err)
	ce := connError(t, err)
	if ce.Reused || !ce.RequestWritten || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("error %v: Reused %v, RequestWritten %v; want a reset on a new connection whose request was written",
			err, ce.Reused, ce.RequestWritten)
	}
	if errors.Is(err, httppool.ErrServerClosedIdle) {
		t.Errorf("error %v says the server closed an idle connection, but the connection was new", err)
	}
	r.recovers(t, httppool.CloseError)
}

// A reset before the response of a GET on a reused connection looks like a
// server that closed the idle connection: the connection is counted as
// closed by the server, and the GET is sent again on a new connection and
// succeeds.
func TestResetBeforeHeadersOnReuseRetriesGET(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Response: 1}}), httppool.Config{})
	r.mustGet(t, "/small", 5)
	r.mustGet(t, "/small", 5) // reset, then retried
	if st := r.tr.Stats(); st.Retries != 1 {
		t.Errorf("Retries = %d, want 1", st.Retries)
	}
	r.recovers(t, httppool.CloseServerClosed)
}

// The same reset under a POST, which is not idempotent, is not retried: the
// server may have acted on it. The caller learns that the connection was
// reused and that the request was written.
func TestResetBeforeHeadersOnReuseFailsPOST(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Response: 1}}), httppool.Config{})
	r.mustGet(t, "/small", 5)
	_, err := r.do(http.MethodPost, "/echo", strings.NewReader("payload"), requestTimeout)
	within(t, err)
	ce := connError(t, err)
	if !ce.Reused || !ce.RequestWritten || !errors.Is(err, httppool.ErrServerClosedIdle) {
		t.Errorf("error %v: Reused %v, RequestWritten %v; want ErrServerClosedIdle on a reused connection with the request written",
			err, ce.Reused, ce.RequestWritten)
	}
	if st := r.tr.Stats(); st.Retries != 0 {
		t.Errorf("Retries = %d, want 0: a POST must not be resent", st.Retries)
	}
	r.recovers(t, httppool.CloseServerClosed)
}

// A reset inside the response header fails the request: part of the
// response arrived, so the server did act on it.
func TestResetDuringHeaders(t *testing.T) {
	t.Parallel()
	for _, reused := range []bool{false, true} {
		t.Run("reused="+strconv.FormatBool(reused), func(t *testing.T) {
			t.Parallel()
			resp := 0
			if reused {
				resp = 1
			}
			r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Response: resp, Offset: 12}}), httppool.Config{})
			if reused {
				r.mustGet(t, "/small", 5)
			}
			_, err := r.get("/small", requestTimeout)
			within(t, err)
			if ce := connError(t, err); ce.Reused != reused {
				t.Errorf("error %v: Reused %v, want %v", err, ce.Reused, reused)
			}
			if errors.Is(err, httppool.ErrServerClosedIdle) {
				t.Errorf("error %v says the server closed an idle connection, but part of a response arrived", err)
			}
			if st := r.tr.Stats(); st.Retries != 0 {
				t.Errorf("Retries = %d, want 0 once part of the response arrived", st.Retries)
			}
			r.recovers(t, httppool.CloseError)
		})
	}
}

// A reset after the header, in the middle of the body, fails the body's Read
// with the reset itself.
func TestResetMidBody(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Phase: fp.Body, Offset: 64 << 10}}), httppool.Config{})
	b, err := r.get("/big?n="+strconv.Itoa(bigBody), requestTimeout)
	within(t, err)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("body error %v, want a connection reset", err)
	}
	if len(b) > 64<<10 {
		t.Errorf("read %d bytes of the body, more than the %d sent before the reset", len(b), 64<<10)
	}
	r.recovers(t, httppool.CloseError)
}

// A reset while the connection is idle in the pool is noticed when the
// connection is taken: it is closed as closed by the server, and the
// request goes out on a new connection without an error or a retry.
func TestResetWhileIdle(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Phase: fp.End}}), httppool.Config{})
	r.mustGet(t, "/small", 5)
	waitFired(t, r.px, 1)
	r.recovers(t, httppool.CloseServerClosed)
	if st := r.tr.Stats(); st.Retries != 0 {
		t.Errorf("Retries = %d, want 0: the liveness check should have caught the reset", st.Retries)
	}
}

// A reset while the request body is being written (the server answered
// early and the connection broke) fails the request with a clear error
// rather than a hang, and the connection is dropped.
func TestResetDuringUpload(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset}}), httppool.Config{})
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 8<<20))}
	start := time.Now()
	_, err := r.do(http.MethodPost, "/reject", body, requestTimeout)
	within(t, err)
	t.Logf("upload failed after %v and %d body bytes: %v", time.Since(start).Round(time.Millisecond), body.n.Load(), err)
	// The client was still sending when the fault struck, so the bytes it
	// sent afterwards are the rest of this request, not a reuse.
	if n := r.px.Accepted(); n != 1 {
		t.Fatalf("the proxy accepted %d connections before the next requests, want 1", n)
	}
	for range 3 {
		r.mustGet(t, "/small", 5)
	}
	if c, _ := r.px.Conn(2); c.Responses != 3 {
		t.Errorf("the next requests used %d responses on a new connection, want 3", c.Responses)
	}
	checkRest(t, r, httppool.CloseError)
}
