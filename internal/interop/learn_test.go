//go:build interop

package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/httppool/httppool"
)

// idleLearningAfter is how many of the server's idle closes a Transport
// sees before no POST may fail.
const idleLearningAfter = 5

// oneShot is a request body that cannot be replayed (no GetBody).
type oneShot struct{ io.Reader }

// idleLearning: against a server whose keep-alive timeout is 1 s and which
// does not announce it, 20 clients, each with a Transport of its own, send
// POSTs spaced by gaps drawn from 0.9 s to 1.1 s, replayable and one-shot
// in turn. Once a Transport has seen idleLearningAfter of the server's idle
// closes it has learned the timeout, and none of its POSTs may fail.
func (s scenario) idleLearning(in *instance) {
	t := s.t
	const (
		clients = 20
		rounds  = 25
		payload = "payload"
	)
	sum := sha256.Sum256([]byte(payload))
	want := fmt.Sprintf("%d %s", len(payload), hex.EncodeToString(sum[:]))
	tag := s.tag("idle-learning")
	url := in.url(s.proto) + "/upload?sc=" + tag
	var mu sync.Mutex
	var early, late, earlyErrs, lateErrs int
	var dials, retries int64
	closed := make(map[string]int64)
	learned := make([]time.Duration, 0, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 16))
			tr := newTransport(t, s.e, httppool.Config{})
			var e, l, ee, le int
			for round := range rounds {
				if round > 0 {
					time.Sleep(900*time.Millisecond + time.Duration(r.Int64N(int64(200*time.Millisecond))))
				}
				st := tr.Stats()
				seen := st.Closed[httppool.CloseServerClosed]+st.Closed[httppool.CloseLearnedIdleTimeout] >= idleLearningAfter
				var body io.Reader = strings.NewReader(payload)
				if round%2 == 1 {
					body = oneShot{body}
				}
				req, _ := http.NewRequest(http.MethodPost, url, body)
				rep, err := send(tr, req)
				if err == nil && (rep.status != http.StatusOK || string(rep.body) != want) {
					err = fmt.Errorf("status %d, body %.80q; want 200 and %q", rep.status, rep.body, want)
				}
				if seen {
					l++
				} else {
					e++
				}
				if err != nil {
					if seen {
						le++
						t.Errorf("client %d, POST %d, after %d closes: %v", i, round, idleLearningAfter, err)
					} else {
						ee++
						t.Logf("client %d, POST %d, while learning: %v", i, round, err)
					}
				}
			}
			st := checkRest(t, tr)
			hs, _ := tr.HostStats(in.url(s.proto))
			mu.Lock()
			defer mu.Unlock()
			early, late, earlyErrs, lateErrs = early+e, late+l, earlyErrs+ee, lateErrs+le
			dials += st.Dials
			retries += st.Retries
			for k, v := range st.Closed {
				closed[k] += v
			}
			learned = append(learned, hs.LearnedIdleTimeout)
		}()
	}
	wg.Wait()
	res := s.result("idle-learning")
	res.requests, res.errors, res.dials = early+late, earlyErrs+lateErrs, dials
	res.serverConns, _, _ = connCounts(waitLog(t, in.accessLog, tag, res.requests-res.errors))
	res.note = fmt.Sprintf("timeout=%ds gaps=0.9s..1.1s before_%d_closes=%d/%d_errors after=%d/%d_errors learned=%v retries=%d %s",
		keepAliveTimeout, idleLearningAfter, earlyErrs, early, lateErrs, late, learnedRange(learned), retries, closedString(closed))
	res.report(t)
	// Over HTTP/1.1 the servers close idle connections without a word
	// (Apache announces its timeout, and the pool retires connections by
	// it); over HTTP/2 they may send GOAWAY first, which the pool does not
	// learn from: it says which requests the server did not process.
	if late == 0 && s.proto == "h1" && !s.f.keepAliveHeader {
		t.Errorf("no Transport saw %d of the server's idle closes", idleLearningAfter)
	}
}

// learnedRange formats the smallest and largest learned idle timeouts.
func learnedRange(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return fmt.Sprintf("%v..%v", lo.Round(time.Millisecond), hi.Round(time.Millisecond))
}
