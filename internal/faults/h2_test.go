package faults_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

// newH2Rig is newTCPRig with an origin that speaks HTTP/2 over TLS. The
// proxy cannot see the responses inside TLS, so its faults strike after a
// number of the stream's bytes (Fault{Action, 0, Head, n}).
func newH2Rig(t *testing.T, script fp.Script) *rig {
	t.Helper()
	hts := httptest.NewUnstartedServer(origin())
	hts.EnableHTTP2 = true
	hts.StartTLS()
	roots := x509.NewCertPool()
	roots.AddCert(hts.Certificate())
	r := &rig{stop: hts.Close}
	r.px = fp.New(fp.TCP(hts.Listener.Addr().String()), script)
	addr, err := r.px.Listen()
	if err != nil {
		hts.Close()
		t.Fatal(err)
	}
	r.tr = httppool.New(httppool.Config{TLSClientConfig: &tls.Config{RootCAs: roots}})
	r.base = "https://" + addr
	t.Cleanup(r.close)
	return r
}

// A reset of an HTTP/2 connection shared by concurrent requests fails the
// requests in flight on it (or, for those whose stream had not started,
// retries them), within their deadline; the next requests get a new
// connection, and the pool's counts add up with the dead one closed.
//
// An HTTP/2 client keeps sending control frames (WINDOW_UPDATE, say) as it
// reads, so the bytes it sent after the fault do not tell a reuse here; a
// reuse shows as a failure of the requests that follow.
func TestH2ResetMidStream(t *testing.T) {
	t.Parallel()
	const (
		concurrent = 8
		cut        = 256 << 10 // bytes of the TLS stream before the reset
	)
	r := newH2Rig(t, fp.First(fp.Plan{Fault: fp.Fault{Action: fp.Reset, Offset: cut}}))
	r.mustGet(t, "/small", 5) // the connection is up, its settings known
	var wg sync.WaitGroup
	errs := make([]error, concurrent)
	for i := range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := r.get("/big?n="+strconv.Itoa(bigBody), requestTimeout)
			if err == nil && len(b) != bigBody {
				t.Errorf("a request succeeded with %d bytes, want %d", len(b), bigBody)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			within(t, err)
			failed++
		}
	}
	t.Logf("%d of %d concurrent requests failed with the reset; first error: %v", failed, concurrent, firstError(errs))
	if failed == 0 {
		t.Errorf("no request failed, though the connection was reset after %d of the %d bytes they needed", cut, concurrent*bigBody)
	}
	if c, _ := r.px.Conn(1); !c.Fired {
		t.Errorf("the fault never struck: %+v", c)
	}
	for range 3 {
		r.mustGet(t, "/small", 5)
	}
	if n := r.px.Accepted(); n != 2 {
		t.Errorf("the proxy accepted %d connections, want 2: the reset one and its replacement", n)
	}
	st := checkRest(t, r, "")
	if st.HTTP2 != st.Open || st.Open != 1 {
		t.Errorf("open connections: %d, of which %d HTTP/2; want one HTTP/2 connection", st.Open, st.HTTP2)
	}
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
