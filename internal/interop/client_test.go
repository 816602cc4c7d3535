//go:build interop

package interop

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/httppool/httppool"
)

// requestTimeout bounds every request of the suite, 10 MiB bodies included.
const requestTimeout = 60 * time.Second

// newTransport returns a Transport that trusts the test's certificates,
// closed when the test ends.
func newTransport(t *testing.T, e *env, cfg httppool.Config) *httppool.Transport {
	cfg.TLSClientConfig = e.tlsConfig()
	tr := httppool.New(cfg)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// reply is what a request got.
type reply struct {
	status int
	proto  int // 1 or 2
	body   []byte
}

// send sends req with requestTimeout and reads the whole response.
func send(tr *httppool.Transport, req *http.Request) (reply, error) {
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	resp, err := tr.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, proto: resp.ProtoMajor, body: b}, err
}

// get sends a GET that must answer 200 with the body want ("" for any).
func get(tr *httppool.Transport, url, want string) (reply, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return reply{}, err
	}
	r, err := send(tr, req)
	switch {
	case err != nil:
		return r, err
	case r.status != http.StatusOK:
		return r, fmt.Errorf("GET %s: status %d", url, r.status)
	case want != "" && string(r.body) != want:
		return r, fmt.Errorf("GET %s: body %.40q, want %q", url, r.body, want)
	}
	return r, nil
}

// checkRest checks the pool's statistics with no request in flight:
// nothing in use, every open connection idle, every dial accounted for.
func checkRest(t *testing.T, tr *httppool.Transport) httppool.Stats {
	t.Helper()
	st := tr.Stats()
	var closed int64
	for _, n := range st.Closed {
		closed += n
	}
	if st.InUse != 0 || st.Open != st.Idle || st.Dialing != 0 || st.Waiting != 0 {
		t.Errorf("stats at rest: InUse %d, Open %d, Idle %d, Dialing %d, Waiting %d; want Open == Idle and nothing else",
			st.InUse, st.Open, st.Idle, st.Dialing, st.Waiting)
		t.Logf("stats: %+v", st)
	}
	if int64(st.Open)+closed != st.Dials-st.DialErrors {
		t.Errorf("stats: Open %d + closed %d != successful dials %d", st.Open, closed, st.Dials-st.DialErrors)
	}
	return st
}

// result is one line of the suite's summary: a scenario against a server
// over a protocol, with what the client and the server's log saw.
type result struct {
	server, proto, scenario string
	requests, errors        int
	serverConns             int   // connections in the server's access log
	dials                   int64 // connections the pool dialed
	note                    string
}

// report logs the result as a line .ci/interop.sh collects.
func (r result) report(t *testing.T) {
	t.Helper()
	t.Logf("RESULT server=%s proto=%s scenario=%s requests=%d errors=%d server_conns=%d dials=%d %s",
		r.server, r.proto, r.scenario, r.requests, r.errors, r.serverConns, r.dials, r.note)
}

// closedString formats Stats.Closed in a stable order.
func closedString(closed map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(closed)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, closed[k]))
	}
	return "closed={" + strings.Join(parts, ",") + "}"
}
