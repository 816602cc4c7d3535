package httppool

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/httppool/httppool/internal/testserver"
)

// TestStatsSumsAfterConcurrentLoad checks that the counters are exact: after
// a mixed concurrent load over several hosts, every attempt was either a
// reuse or a dial, every dialed connection is open or closed for a reason,
// and the per-host gauges add up to the totals.
func TestStatsSumsAfterConcurrentLoad(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("close") == "1" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	})
	srvs := []*testserver.Server{testserver.New(t, h, nil), testserver.New(t, h, nil), testserver.New(t, h, nil)}
	tr := newTransport(t, Config{MaxIdlePerHost: 3, MaxConnsPerHost: 6, MaxIdleConns: 7})
	var wg sync.WaitGroup
	for g := 0; g < 24; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				url := fmt.Sprintf("%s/?close=%d", srvs[(g+i)%3].URL, min(1, i%7/6))
				if _, err := fetchBody(tr, url); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := tr.Stats()
	t.Logf("after the load: %+v", st)
	if st.Requests != 24*40 {
		t.Errorf("Requests = %d, want %d", st.Requests, 24*40)
	}
	if st.Reused+st.Dials != st.Requests+st.Retries {
		t.Errorf("Reused %d + Dials %d != Requests %d + Retries %d", st.Reused, st.Dials, st.Requests, st.Retries)
	}
	var closed int64
	for _, n := range st.Closed {
		closed += n
	}
	if int64(st.Open)+closed != st.Dials-st.DialErrors {
		t.Errorf("Open %d + closed %d != successful dials %d", st.Open, closed, st.Dials-st.DialErrors)
	}
	if st.InUse != 0 || st.Dialing != 0 || st.Waiting != 0 || st.Open != st.Idle || st.Idle > 7 {
		t.Errorf("at rest: %+v; want nothing in use, dialing or waiting, open == idle <= MaxIdleConns", st)
	}
	var hostOpen, hostIdle int
	for _, hs := range st.Hosts {
		hostOpen += hs.Open
		hostIdle += hs.Idle
		if hs.Idle > 3 {
			t.Errorf("a host keeps %d idle connections, over MaxIdlePerHost", hs.Idle)
		}
	}
	if hostOpen != st.Open || hostIdle != st.Idle {
		t.Errorf("hosts add up to %d open, %d idle; totals %d, %d", hostOpen, hostIdle, st.Open, st.Idle)
	}
	accepted := 0
	for _, s := range srvs {
		accepted += s.Accepted()
	}
	if int64(accepted) != st.Dials {
		t.Errorf("servers accepted %d connections, Dials = %d", accepted, st.Dials)
	}
}

func TestHostStats(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	hs, ok := tr.HostStats(srv.URL)
	if !ok || hs != (HostStats{Open: 1, Idle: 1}) {
		t.Errorf("HostStats(%s) = %+v, %v; want one open idle connection", srv.URL, hs, ok)
	}
	if _, ok := tr.HostStats("http://elsewhere.test"); ok {
		t.Error("HostStats reports a host never visited")
	}
	if hs, ok := tr.Stats().Hosts["http://"+srv.Addr]; !ok || hs.Idle != 1 {
		t.Errorf("Stats().Hosts = %v", tr.Stats().Hosts)
	}
}
