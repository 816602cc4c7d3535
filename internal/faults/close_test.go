package faults_test

import (
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

// A FIN in the middle of a body fails the body's Read with
// io.ErrUnexpectedEOF, whether the body has a length or is chunked.
func TestCloseMidBody(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/big", "/chunked"} {
		t.Run(path[1:], func(t *testing.T) {
			t.Parallel()
			r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Close, Phase: fp.Body, Offset: 100 << 10}}), httppool.Config{})
			b, err := r.get(path+"?n="+strconv.Itoa(bigBody), requestTimeout)
			within(t, err)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("body error %v, want io.ErrUnexpectedEOF", err)
			}
			if len(b) >= bigBody {
				t.Errorf("read the whole body (%d bytes) despite the close", len(b))
			}
			r.recovers(t, httppool.CloseError)
		})
	}
}

// A server that half-closes before answering (it read the request, then
// shut its side down) makes the request fail at once with end-of-file.
func TestHalfCloseBeforeResponse(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.HalfClose}}), httppool.Config{})
	_, err := r.get("/small", requestTimeout)
	within(t, err)
	ce := connError(t, err)
	if ce.Reused || !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v: Reused %v; want end-of-file on a new connection", err, ce.Reused)
	}
	r.recovers(t, httppool.CloseError)
}

// A server that half-closes a connection idle in the pool: the pool notices
// the FIN when it takes the connection and dials instead, so the request
// never touches the half-closed connection.
func TestHalfCloseWhileIdle(t *testing.T) {
	t.Parallel()
	r := newTCPRig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.HalfClose, Phase: fp.End}}), httppool.Config{})
	r.mustGet(t, "/small", 5)
	waitFired(t, r.px, 1)
	r.recovers(t, httppool.CloseServerClosed)
	if st := r.tr.Stats(); st.Retries != 0 {
		t.Errorf("Retries = %d, want 0: the liveness check should have caught the FIN", st.Retries)
	}
}
