//go:build interop

package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool"
)

// scenario runs the suite's scenarios against one server flavor over one
// protocol ("h1" or "h2").
type scenario struct {
	t     *testing.T
	e     *env
	f     flavor
	proto string
}

func (s scenario) with(t *testing.T) scenario {
	s.t = t
	return s
}

// tag names a scenario's requests in the server's access log.
func (s scenario) tag(name string) string { return s.proto + "-" + name }

func (s scenario) result(name string) result {
	return result{server: s.f.name, proto: s.proto, scenario: name}
}

// checkProto fails the test when a response did not use the scenario's
// protocol: HTTP/2 must have been negotiated over TLS.
func (s scenario) checkProto(r reply) {
	s.t.Helper()
	want := 1
	if s.proto == "h2" {
		want = 2
	}
	if r.proto != want {
		s.t.Fatalf("response over HTTP/%d, want HTTP/%d", r.proto, want)
	}
}

// reuse: 1,000 sequential requests use one connection.
func (s scenario) reuse(in *instance) {
	t := s.t
	const n = 1000
	tr := newTransport(t, s.e, httppool.Config{})
	tag := s.tag("reuse")
	res := s.result("reuse")
	for i := range n {
		r, err := get(tr, in.url(s.proto)+"/small.txt?sc="+tag, "hello")
		res.requests++
		if err != nil {
			if res.errors++; res.errors <= 5 {
				t.Errorf("request %d: %v", i, err)
			}
			continue
		}
		if i == 0 {
			s.checkProto(r)
		}
	}
	res.serverConns, _, _ = connCounts(waitLog(t, in.accessLog, tag, n-res.errors))
	st := checkRest(t, tr)
	res.dials = st.Dials
	res.report(t)
	if res.serverConns != 1 || st.Dials != 1 {
		t.Errorf("%d sequential requests: the server saw %d connections, the pool dialed %d; want 1",
			n, res.serverConns, st.Dials)
	}
}

// requestLimit: against a server that closes a connection after
// requestLimit requests, 10,000 requests at concurrency 16 all succeed,
// about requestLimit per connection.
func (s scenario) requestLimit(in *instance) {
	t := s.t
	if s.proto == "h1" && !s.f.h1Limit || s.proto == "h2" && !s.f.h2Limit {
		t.Skipf("%s cannot limit the requests of one %s connection", s.f.name, s.proto)
	}
	const (
		total   = 10000
		workers = 16
	)
	tr := newTransport(t, s.e, httppool.Config{})
	tag := s.tag("request-limit")
	url := in.url(s.proto) + "/small.txt?sc=" + tag
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				if _, err := get(tr, url, "hello"); err != nil {
					if failed.Add(1) <= 5 {
						t.Errorf("request: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	res := s.result("request-limit")
	res.requests, res.errors = total, int(failed.Load())
	conns, most, mean := connCounts(waitLog(t, in.accessLog, tag, total-res.errors))
	st := checkRest(t, tr)
	res.serverConns, res.dials = conns, st.Dials
	res.note = fmt.Sprintf("limit=%d most_per_conn=%d mean_per_conn=%.1f retries=%d %s",
		requestLimit, most, mean, st.Retries, closedString(st.Closed))
	res.report(t)
	if res.errors > 0 {
		t.Errorf("%d of %d requests failed", res.errors, total)
	}
	limit := requestLimit
	if s.f.limitPlusOne {
		limit++
	}
	if most > limit {
		t.Errorf("a connection served %d requests; the server's limit is %d", most, limit)
	}
	if lo, hi := total/requestLimit, total/requestLimit*3/2; conns < lo || conns > hi {
		t.Errorf("the server saw %d connections; want about %d (%d to %d)", conns, total/requestLimit, lo, hi)
	}
}

// keepAliveTimeout: against a server whose keep-alive timeout is 1 s, 20
// clients each send 3 requests spaced by a gap from 0.9 s to 1.1 s (the
// clients run in parallel so that the wall time stays short), with zero
// errors. Each client has a Transport of its own so that its gaps are the
// idle times of its connection.
func (s scenario) keepAliveTimeout(in *instance) {
	t := s.t
	const (
		clients = 20
		rounds  = 3
	)
	tag := s.tag("keep-alive-timeout")
	url := in.url(s.proto) + "/small.txt?sc=" + tag
	var failed atomic.Int64
	var mu sync.Mutex
	closed := make(map[string]int64)
	var dials, retries int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gap := 900*time.Millisecond + time.Duration(i)*200*time.Millisecond/(clients-1)
			tr := newTransport(t, s.e, httppool.Config{})
			for r := range rounds {
				if r > 0 {
					time.Sleep(gap)
				}
				if _, err := get(tr, url, "hello"); err != nil {
					failed.Add(1)
					t.Errorf("client %d (gap %v), request %d: %v", i, gap, r, err)
				}
			}
			st := checkRest(t, tr)
			mu.Lock()
			defer mu.Unlock()
			dials += st.Dials
			retries += st.Retries
			for k, v := range st.Closed {
				closed[k] += v
			}
		}()
	}
	wg.Wait()
	res := s.result("keep-alive-timeout")
	res.requests, res.errors, res.dials = clients*rounds, int(failed.Load()), dials
	res.serverConns, _, _ = connCounts(waitLog(t, in.accessLog, tag, res.requests-res.errors))
	res.note = fmt.Sprintf("timeout=%ds gaps=0.9s..1.1s retries=%d %s", keepAliveTimeout, retries, closedString(closed))
	res.report(t)
	if res.errors > 0 {
		t.Errorf("%d of %d requests failed", res.errors, res.requests)
	}
	// Gaps past the announced timeout less the pool's margin retire every
	// connection before the server closes it.
	if s.f.keepAliveHeader && s.proto == "h1" &&
		(closed[httppool.CloseKeepAliveHeader] == 0 || closed[httppool.CloseServerClosed] != 0 || retries != 0) {
		t.Errorf("%s announces its keep-alive timeout, but the pool did not retire its connections by it: retries %d, %v",
			s.f.name, retries, closed)
	}
}

// concurrency: 200 concurrent requests, each held 300 ms by the backend,
// over HTTP/2. The pool must respect the stream limit the server announces
// and otherwise share connections: it needs ceil(200/limit) of them, one
// against a roomy server (256 streams), about 20 against a limited one
// (streamLimit streams).
func (s scenario) concurrency(in *instance, limited bool) {
	t := s.t
	const n = 200
	name := "concurrency"
	if limited {
		name = "stream-limit"
	}
	announced := maxConcurrentStreams(t, s.e, in.h2)
	want := (n + announced - 1) / announced
	tr := newTransport(t, s.e, httppool.Config{})
	tag := s.tag(name)
	url := in.url(s.proto) + "/slow?ms=300&sc=" + tag
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := get(tr, url, "ok")
			if err == nil && r.proto != 2 {
				err = fmt.Errorf("response over HTTP/%d", r.proto)
			}
			if err != nil && failed.Add(1) <= 5 {
				t.Errorf("request: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	res := s.result(name)
	res.requests, res.errors = n, int(failed.Load())
	res.serverConns, _, _ = connCounts(waitLog(t, in.accessLog, tag, n-res.errors))
	st := checkRest(t, tr)
	res.dials = st.Dials
	configured := roomy.streams
	if limited {
		configured = tight.streams
	}
	res.note = fmt.Sprintf("streams_configured=%d streams_announced=%d conns_needed=%d", configured, announced, want)
	res.report(t)
	if res.errors > 0 {
		t.Errorf("%d of %d requests failed", res.errors, n)
	}
	// A request that finds every connection full dials another, so a
	// limited server may see a few more than strictly needed.
	if !limited && (st.Dials != int64(want) || res.serverConns != want) ||
		limited && (st.Dials < int64(want) || res.serverConns < want || st.Dials > int64(2*want)) {
		t.Errorf("%d concurrent requests, %d streams per connection: the pool dialed %d connections, the server saw %d; want %d",
			n, announced, st.Dials, res.serverConns, want)
	}
}

// bodies: a 10 MiB download, 10 MiB uploads with a length, chunked (of
// unknown length) and with "Expect: 100-continue", and an
// "Expect: 100-continue" upload the server refuses. Uploads go through the
// server to the backend, which answers their length and SHA-256.
func (s scenario) bodies(in *instance) {
	t := s.t
	// The servers' idle timeout is 1 s (for the keep-alive scenario), and an
	// HTTP/2 server may count a stream waiting for its body as idle: wait
	// for "100 Continue" well below that.
	tr := newTransport(t, s.e, httppool.Config{ContinueTimeout: 300 * time.Millisecond})
	base := in.url(s.proto)
	big, err := os.ReadFile(filepath.Join(s.e.www, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	wantUpload := fmt.Sprintf("%d %s", len(big), s.e.bigSum)

	s.bodyCase(tr, in, "download-10MiB", func(tag string) (string, error) {
		r, err := get(tr, base+"/big.bin?sc="+tag, "")
		if err != nil {
			return "", err
		}
		s.checkProto(r)
		if sum := sha256.Sum256(r.body); hex.EncodeToString(sum[:]) != s.e.bigSum {
			return "", fmt.Errorf("downloaded %d bytes whose SHA-256 differs from the file's", len(r.body))
		}
		return "", nil
	})
	upload := func(tag string, chunked, expect bool) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/upload?sc="+tag, bytes.NewReader(big))
		if chunked {
			req.Body = io.NopCloser(bytes.NewReader(big)) // a reader of unknown length
			req.ContentLength, req.GetBody = -1, nil
		}
		got100 := false
		if expect {
			req.Header.Set("Expect", "100-continue")
			req = req.WithContext(httptrace.WithClientTrace(req.Context(),
				&httptrace.ClientTrace{Got100Continue: func() { got100 = true }}))
		}
		r, err := send(tr, req)
		if err != nil {
			return "", err
		}
		if r.status != http.StatusOK || string(r.body) != wantUpload {
			return "", fmt.Errorf("upload: status %d, body %.80q; want 200 and %q", r.status, r.body, wantUpload)
		}
		if expect {
			return fmt.Sprintf("got_100_continue=%v", got100), nil
		}
		return "", nil
	}
	s.bodyCase(tr, in, "upload-10MiB", func(tag string) (string, error) { return upload(tag, false, false) })
	s.bodyCase(tr, in, "upload-chunked-10MiB", func(tag string) (string, error) { return upload(tag, true, false) })
	s.bodyCase(tr, in, "upload-expect-100", func(tag string) (string, error) { return upload(tag, false, true) })
	s.bodyCase(tr, in, "expect-100-refused", func(tag string) (string, error) {
		// The server refuses the request, and may do so without asking
		// for the body; the client then must not send it.
		body := &countingReader{r: bytes.NewReader(big)}
		req, _ := http.NewRequest(http.MethodPost, base+"/refuse?sc="+tag, body)
		req.ContentLength = int64(len(big))
		req.Header.Set("Expect", "100-continue")
		r, err := send(tr, req)
		if err != nil {
			return "", err
		}
		if r.status < 400 {
			return "", fmt.Errorf("POST to /refuse: status %d, want a refusal", r.status)
		}
		note := fmt.Sprintf("status=%d body_bytes_sent=%d", r.status, body.n.Load())
		// The connection state must stay consistent: the next request works.
		if _, err := get(tr, base+"/small.txt?sc="+tag, "hello"); err != nil {
			return note, fmt.Errorf("the request after the refused upload: %v", err)
		}
		return note, nil
	})
	st := checkRest(t, tr)
	t.Logf("bodies: %d requests, %d dials, %s", st.Requests, st.Dials, closedString(st.Closed))
}

// bodyCase runs one case of bodies and reports it.
func (s scenario) bodyCase(tr *httppool.Transport, in *instance, name string, run func(tag string) (string, error)) {
	t := s.t
	tag := s.tag(name)
	before := tr.Stats()
	start := time.Now()
	note, err := run(tag)
	res := s.result(name)
	after := tr.Stats()
	res.requests = int(after.Requests - before.Requests)
	res.dials = after.Dials - before.Dials
	if err != nil {
		res.errors = 1
		t.Errorf("%s: %v", name, err)
	}
	res.serverConns, _, _ = connCounts(waitLog(t, in.accessLog, tag, res.requests-res.errors))
	res.note = strings.TrimSpace(fmt.Sprintf("%s took=%v %s", note, time.Since(start).Round(time.Millisecond),
		closedString(diff(after.Closed, before.Closed))))
	res.report(t)
}

// diff returns the counts of a that grew since b.
func diff(a, b map[string]int64) map[string]int64 {
	d := maps.Clone(a)
	for k, v := range b {
		if d[k] -= v; d[k] == 0 {
			delete(d, k)
		}
	}
	return d
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
