package faults_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

// Latency under the header timeout slows requests down but breaks nothing:
// they all succeed on one connection. Latency over it makes the header
// timeout fire, and a connection without the latency then serves normally.
func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newPipeRig(fp.Always(fp.Plan{Latency: 400 * time.Millisecond}),
			httppool.Config{ResponseHeaderTimeout: 2 * time.Second})
		defer r.close()
		for range 10 {
			r.mustGet(t, "/small", 5)
		}
		if n := r.px.Accepted(); n != 1 {
			t.Errorf("10 slow requests used %d connections, want 1", n)
		}
		checkRest(t, r, "")
	})
	synctest.Test(t, func(t *testing.T) {
		const timeout = 2 * time.Second
		r := newPipeRig(fp.First(fp.Plan{Latency: 3 * time.Second}),
			httppool.Config{ResponseHeaderTimeout: timeout})
		defer r.close()
		start := time.Now()
		_, err := r.get("/small", requestTimeout)
		elapsed := time.Since(start)
		within(t, err)
		if !errors.Is(err, httppool.ErrResponseHeaderTimeout) {
			t.Errorf("error %v, want ErrResponseHeaderTimeout", err)
		}
		if elapsed > timeout+margin {
			t.Errorf("the request failed after %v, past its %v header timeout", elapsed, timeout)
		}
		// The slow connection had no fault to strike; what matters is that
		// it is not reused and the next connection serves.
		for range 3 {
			r.mustGet(t, "/small", 5)
		}
		if c, _ := r.px.Conn(1); c.ClientBytesAfterFault != 0 || c.Responses != 0 {
			t.Errorf("the timed-out connection carried more: %+v", c)
		}
		if n := r.px.Accepted(); n != 2 {
			t.Errorf("the proxy accepted %d connections, want 2", n)
		}
		checkRest(t, r, httppool.CloseError)
	})
}

// A bandwidth limit makes bodies slow: a download longer than the header
// timeout succeeds (the timeout covers the header only), an upload
// succeeds, and a download longer than the request's deadline fails with
// the context's error in the middle of the body.
func TestBandwidthLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bandwidth = 64 << 10 // bytes per second
		r := newPipeRig(fp.Always(fp.Plan{Bandwidth: bandwidth}), httppool.Config{ResponseHeaderTimeout: time.Second})
		defer r.close()

		start := time.Now()
		r.mustGet(t, "/big?n="+strconv.Itoa(4*bandwidth), 4*bandwidth)
		if took := time.Since(start); took < 3*time.Second {
			t.Errorf("a 4 s download took %v: the limit did not apply", took)
		}
		b, err := r.do(http.MethodPost, "/echo", strings.NewReader(strings.Repeat("u", 2*bandwidth)), requestTimeout)
		if err != nil || string(b) != strconv.Itoa(2*bandwidth) {
			t.Fatalf("upload: %q, %v; want the server to count %d bytes", b, err, 2*bandwidth)
		}
		if n := r.px.Accepted(); n != 1 {
			t.Errorf("the slow requests used %d connections, want 1", n)
		}

		const deadline = 2 * time.Second
		start = time.Now()
		b, err = r.get("/big?n="+strconv.Itoa(bigBody), deadline)
		elapsed := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("body error %v, want context.DeadlineExceeded", err)
		}
		if len(b) == 0 || len(b) >= bigBody {
			t.Errorf("read %d bytes before the deadline, want part of the body", len(b))
		}
		if elapsed > deadline+margin {
			t.Errorf("the body failed after %v, past its %v deadline", elapsed, deadline)
		}
		r.mustGet(t, "/small", 5)
		if n := r.px.Accepted(); n != 2 {
			t.Errorf("the proxy accepted %d connections, want 2: the cut one was not replaced", n)
		}
		checkRest(t, r, httppool.CloseError)
	})
}
