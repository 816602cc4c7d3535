package faults_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

// margin is how late, in a synctest bubble's exact time, a timeout may
// surface after it fired: the time it takes to close the connection.
const margin = 100 * time.Millisecond

// A server that stalls before or inside the response header is cut off by
// Config.ResponseHeaderTimeout, with an error that says so and is a timeout.
func TestStalledHeadersHitResponseHeaderTimeout(t *testing.T) {
	for _, offset := range []int64{0, 12} {
		t.Run("after "+strconv.FormatInt(offset, 10)+" bytes", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const timeout = 2 * time.Second
				r := newPipeRig(fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Stall, Offset: offset}}),
					httppool.Config{ResponseHeaderTimeout: timeout})
				defer r.close()
				start := time.Now()
				_, err := r.get("/small", requestTimeout)
				elapsed := time.Since(start)
				within(t, err)
				var ne net.Error
				if !errors.Is(err, httppool.ErrResponseHeaderTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error %v, want ErrResponseHeaderTimeout, a timeout", err)
				}
				if elapsed > timeout+margin {
					t.Errorf("the request failed after %v, past its %v header timeout", elapsed, timeout)
				}
				r.recovers(t, httppool.CloseError)
			})
		})
	}
}

// Without a header timeout, the request's context ends a stalled header.
func TestStalledHeadersHitContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const deadline = 3 * time.Second
		r := newPipeRig(fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Stall}}), httppool.Config{})
		defer r.close()
		start := time.Now()
		_, err := r.get("/small", deadline)
		elapsed := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
		if elapsed > deadline+margin {
			t.Errorf("the request failed after %v, past its %v deadline", elapsed, deadline)
		}
		r.recovers(t, httppool.CloseError)
	})
}

// A body that stalls after its header is ended by the request's context,
// not by the header timeout, which covers the header only.
func TestStalledBodyHitsContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const deadline = 3 * time.Second
		r := newPipeRig(fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Stall, Phase: fp.Body, Offset: 1000}}),
			httppool.Config{ResponseHeaderTimeout: time.Second})
		defer r.close()
		start := time.Now()
		b, err := r.get("/big?n="+strconv.Itoa(bigBody), deadline)
		elapsed := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("body error %v, want context.DeadlineExceeded", err)
		}
		if len(b) != 1000 {
			t.Errorf("read %d bytes of the body, want the 1000 sent before the stall", len(b))
		}
		if elapsed > deadline+margin {
			t.Errorf("the body failed after %v, past its %v deadline", elapsed, deadline)
		}
		r.recovers(t, httppool.CloseError)
	})
}
