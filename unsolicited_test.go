package httppool

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// The property: whatever the response sizes, the server's write splits and
// pauses, the TLS record sizes, the caller's read sizes and the idle times,
// every request gets exactly its own response, and a connection on which
// bytes arrived that answer no request never carries another request.

var unsolicitedTime = flag.Duration("unsolicited.time", 3*time.Second,
	"how long TestNoRequestGetsAnotherResponse runs (longer locally: -unsolicited.time=2m)")

// unsolicited is what a server out of step sends after a response: a
// complete response of its own, which a client that missed it would hand
// to its next request.
const unsolicited = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Id: evil\r\n\r\nEVIL"

// How the extra bytes go out after a response, if at all.
type extraMode int

const (
	noExtra   extraMode = iota
	sameWrite           // in the write that ends the body (one TLS record when small)
	nextWrite           // in a write of their own, at once
	delayed             // a moment later, while the connection is idle
)

// How the client reads a body.
type readMode int

const (
	readSized   readMode = iota // Read calls of one size, 1 byte to 1 MiB
	readAll                     // io.ReadAll
	copyDiscard                 // io.Copy to io.Discard
	copyBuffer                  // io.Copy into a bytes.Buffer (growing reads)
	closeEarly                  // read a part, then Close
	numReadModes
)

// exchangePlan scripts one request and its response.
type exchangePlan struct {
	id       int
	size     int
	chunked  bool
	splits   int  // the response goes out in this many writes
	pauses   bool // with a short pause between writes
	extra    extraMode
	delay    time.Duration // for delayed
	read     readMode
	readSize int
	partial  int  // bytes read before closeEarly
	waitHead bool // the client waits until the server wrote everything before reading the body
	written  chan struct{}
	served   atomic.Bool
	rng      *rand.Rand // the server's: split points and pauses
}

func (p *exchangePlan) String() string {
	return fmt.Sprintf("size %d chunked %v splits %d pauses %v extra %d delay %v read %d size %d partial %d waitHead %v",
		p.size, p.chunked, p.splits, p.pauses, p.extra, p.delay, p.read, p.readSize, p.partial, p.waitHead)
}

var readSizes = []int{1, 3, 100, 4 << 10, 16 << 10, 64 << 10, 1 << 20}

func newExchangePlan(r *rand.Rand, id int) *exchangePlan {
	p := &exchangePlan{id: id, written: make(chan struct{}), rng: rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))}
	switch r.IntN(5) {
	case 0:
		p.size = r.IntN(64)
	case 1:
		p.size = r.IntN(5000)
	case 2:
		p.size = 16<<10 - 300 + r.IntN(600) // around one TLS record
	case 3:
		p.size = 20000
	default:
		p.size = r.IntN(300 << 10)
	}
	p.chunked = r.IntN(4) == 0
	p.splits = 1 + r.IntN(5)
	p.pauses = r.IntN(3) == 0
	if r.IntN(2) == 0 {
		p.extra = extraMode(1 + r.IntN(3))
		p.delay = time.Duration(r.IntN(5000)) * time.Microsecond
	}
	p.read = readMode(r.IntN(int(numReadModes)))
	p.readSize = readSizes[r.IntN(len(readSizes))]
	if p.size > 0 {
		p.partial = r.IntN(p.size)
	}
	// Only a response the socket buffers hold whole can be waited for
	// before its body is read.
	p.waitHead = p.size < 32<<10 && r.IntN(2) == 0
	return p
}

// bodyFor is the body of request id: its id over and over, so that bytes
// of another response never pass for it.
func bodyFor(id, size int) []byte {
	unit := []byte("<" + strconv.Itoa(id) + ">")
	return bytes.Repeat(unit, size/len(unit)+1)[:size]
}

func (p *exchangePlan) response() []byte {
	body := bodyFor(p.id, p.size)
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 200 OK\r\nX-Id: %d\r\n", p.id)
	if !p.chunked {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", p.size)
		b.Write(body)
		return b.Bytes()
	}
	b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		n := min(len(body), 1+p.rng.IntN(20000))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// scriptedServer answers each request as its plan says, over TCP or TLS, as
// an origin or as an HTTP forward proxy (a request in absolute form is
// answered by the proxy itself, as a proxy relaying it would).
type scriptedServer struct {
	raw   *testserver.Raw
	tls   *tls.Config // nil for plain TCP
	plans sync.Map    // id → *exchangePlan

	violations atomic.Int64
	mu         sync.Mutex
	firstBad   string
}

func newScriptedServer(t testing.TB, serverTLS *tls.Config) *scriptedServer {
	s := &scriptedServer{tls: serverTLS}
	s.raw = testserver.NewRaw(t, func(_ int, c net.Conn) { s.serve(c) })
	return s
}

func (s *scriptedServer) url() string {
	if s.tls != nil {
		return "https://" + s.raw.Addr
	}
	return s.raw.URL
}

func (s *scriptedServer) close() { s.raw.Close() }

func (s *scriptedServer) violation(format string, args ...any) {
	s.violations.Add(1)
	s.mu.Lock()
	if s.firstBad == "" {
		s.firstBad = fmt.Sprintf(format, args...)
	}
	s.mu.Unlock()
}

func (s *scriptedServer) serve(c net.Conn) {
	var nc net.Conn = c
	if s.tls != nil {
		tc := tls.Server(c, s.tls)
		if tc.Handshake() != nil {
			return
		}
		nc = tc
	}
	br := bufio.NewReader(nc)
	tainted := -1 // the id after whose response extra bytes went out
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if tainted >= 0 {
			s.violation("request %s arrived on a connection that had received extra bytes after response %d", req.URL, tainted)
			return
		}
		io.Copy(io.Discard, req.Body)
		id, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/r/"))
		v, ok := s.plans.Load(id)
		if !ok {
			s.violation("request %s has no plan", req.URL)
			return
		}
		p := v.(*exchangePlan)
		if p.served.Swap(true) {
			s.violation("request %s was sent twice", req.URL)
			return
		}
		ok = s.respond(nc, p)
		close(p.written) // a write failed: the client closed the connection
		if !ok {
			return
		}
		if p.extra != noExtra {
			tainted = p.id
		}
	}
}

// respond writes p's response in p.splits writes, then the extra bytes.
func (s *scriptedServer) respond(c net.Conn, p *exchangePlan) bool {
	resp := p.response()
	if p.extra == sameWrite {
		resp = append(resp, unsolicited...)
	}
	for i := p.splits; i > 0 && len(resp) > 0; i-- {
		n := len(resp)
		if i > 1 {
			n = p.rng.IntN(len(resp) + 1)
		}
		if _, err := c.Write(resp[:n]); err != nil {
			return false
		}
		resp = resp[n:]
		if p.pauses {
			time.Sleep(time.Duration(p.rng.IntN(300)) * time.Microsecond)
		}
	}
	if len(resp) > 0 {
		if _, err := c.Write(resp); err != nil {
			return false
		}
	}
	switch p.extra {
	case delayed:
		time.Sleep(p.delay)
		fallthrough
	case nextWrite:
		if _, err := io.WriteString(c, unsolicited); err != nil {
			return false
		}
	}
	return true
}

// testTLS returns a server configuration with a certificate for 127.0.0.1
// and a client configuration that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

// exchangeMode is one way of reaching the scripted server.
type exchangeMode struct {
	tls, proxy bool
}

func (m exchangeMode) String() string {
	s := "plain"
	if m.tls {
		s = "tls"
	}
	if m.proxy {
		s += "+proxy"
	}
	return s
}

// runExchanges sends n requests with random plans, one after another,
// through a Transport of its own; see runPlans.
func runExchanges(t testing.TB, r *rand.Rand, mode exchangeMode, n int, nextID *atomic.Int64) (extras int) {
	plans := make([]*exchangePlan, n)
	for i := range plans {
		plans[i] = newExchangePlan(r, int(nextID.Add(1)))
		if plans[i].extra != noExtra {
			extras++
		}
	}
	runPlans(t, r, mode, plans)
	return extras
}

// runPlans sends a request per plan, one after another, through a new
// Transport, reading each response as its plan says, and fails t when a
// request gets anything but its own response or the server saw a request
// on a connection that had received extra bytes. It returns the
// Transport's Stats after the last response.
func runPlans(t testing.TB, r *rand.Rand, mode exchangeMode, plans []*exchangePlan) Stats {
	var serverTLS, clientTLS *tls.Config
	if mode.tls {
		serverTLS, clientTLS = testTLS(t)
	}
	srv := newScriptedServer(t, serverTLS)
	cfg := Config{TLSClientConfig: clientTLS}
	if mode.proxy {
		cfg.Proxy = fixedProxy(srv.url())
	}
	tr := New(cfg)
	defer tr.Close()
	buf := make([]byte, 1<<20)
	for _, p := range plans {
		srv.plans.Store(p.id, p)
		url := srv.url() + "/r/" + strconv.Itoa(p.id)
		if mode.proxy {
			url = fmt.Sprintf("http://origin-%d.test/r/%d", r.IntN(3), p.id) // origins share the proxy's connections
		}
		if err := exchange(tr, url, p, buf); err != nil {
			t.Fatalf("%v, request %d (%v): %v", mode, p.id, p, err)
		}
		if v := srv.violations.Load(); v > 0 {
			t.Fatalf("%v: %s", mode, srv.firstBad)
		}
	}
	st := tr.Stats()
	tr.Close()
	srv.close()
	if v := srv.violations.Load(); v > 0 {
		t.Fatalf("%v: %s", mode, srv.firstBad)
	}
	return st
}

// exchange sends one request and checks that it got its own response. It
// returns only once the server wrote all it planned: extra bytes still on
// their way when the next request goes out would be a race no client can
// win, not the pool's fault.
func exchange(tr *Transport, url string, p *exchangePlan, buf []byte) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("X-Id"); got != strconv.Itoa(p.id) {
		return fmt.Errorf("got the response of request %q", got)
	}
	if p.waitHead {
		<-p.written
	}
	want := bodyFor(p.id, p.size)
	var got []byte
	switch p.read {
	case readSized:
		var b bytes.Buffer
		for {
			n, err := resp.Body.Read(buf[:p.readSize])
			b.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		got = b.Bytes()
	case readAll:
		if got, err = io.ReadAll(resp.Body); err != nil {
			return err
		}
	case copyDiscard:
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return err
		}
		if n != int64(p.size) {
			return fmt.Errorf("body of %d bytes, want %d", n, p.size)
		}
		got = want
	case copyBuffer:
		var b bytes.Buffer
		if _, err := io.Copy(&b, resp.Body); err != nil {
			return err
		}
		got = b.Bytes()
	case closeEarly:
		got = make([]byte, p.partial)
		if _, err := io.ReadFull(resp.Body, got); err != nil {
			return err
		}
		want = want[:p.partial]
	}
	resp.Body.Close()
	if !bytes.Equal(got, want) {
		return fmt.Errorf("body of %d bytes is not its own (want %d): %.40q", len(got), len(want), got)
	}
	<-p.written
	return nil
}

var exchangeModes = []exchangeMode{{}, {tls: true}, {proxy: true}, {tls: true, proxy: true}}

func TestNoRequestGetsAnotherResponse(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d; run longer with -unsolicited.time", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	var nextID atomic.Int64
	deadline := time.Now().Add(*unsolicitedTime)
	requests, extras, runs := 0, 0, 0
	for time.Now().Before(deadline) || runs < len(exchangeModes) {
		mode := exchangeModes[runs%len(exchangeModes)]
		n := 5 + r.IntN(30)
		extras += runExchanges(t, r, mode, n, &nextID)
		requests += n
		runs++
	}
	t.Logf("%d requests in %d runs over all %d modes, %d with extra bytes: each got its own response", requests, runs, len(exchangeModes), extras)
}

// FuzzNoRequestGetsAnotherResponse lets the fuzzer pick the scenarios of
// TestNoRequestGetsAnotherResponse: sizes, splits, read sizes, extra bytes.
func FuzzNoRequestGetsAnotherResponse(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, uint8(i))
	}
	var nextID atomic.Int64
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8) {
		r := rand.New(rand.NewPCG(seed, uint64(mode)))
		runExchanges(t, r, exchangeModes[int(mode)%len(exchangeModes)], 6, &nextID)
	})
}

// fixedPlan is a plan the test spells out: one write, no pauses.
func fixedPlan(id, size int, extra extraMode, read readMode, readSize int) *exchangePlan {
	return &exchangePlan{id: id, size: size, splits: 1, extra: extra, delay: 5 * time.Millisecond,
		read: read, readSize: readSize, written: make(chan struct{}), rng: rand.New(rand.NewPCG(1, 2))}
}

// TestUnsolicitedResponseIsNeverDelivered runs the cases that once handed a
// request the response a server sent unasked: a body read with large Reads
// that end exactly at its end, extra bytes arriving while the connection is
// idle, TLS records that carry the body's end and the extra response
// together, and origins sharing a forward proxy's connection.
func TestUnsolicitedResponseIsNeverDelivered(t *testing.T) {
	cases := []struct {
		name     string
		size     int
		extra    extraMode
		read     readMode
		readSize int
	}{
		{"64 KiB reads, same write", 20000, sameWrite, readSized, 64 << 10},
		{"64 KiB reads, 5 ms later", 20000, delayed, readSized, 64 << 10},
		{"ReadAll, same write", 20000, sameWrite, readAll, 0},
		{"ReadAll, 5 ms later", 20000, delayed, readAll, 0},
		{"small body, one TLS record", 300, sameWrite, readSized, 1 << 20},
		{"Copy, next write", 16<<10 - 100, nextWrite, copyDiscard, 0},
	}
	for _, mode := range exchangeModes {
		for _, tc := range cases {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				plans := []*exchangePlan{
					fixedPlan(1, tc.size, tc.extra, tc.read, tc.readSize),
					fixedPlan(2, 10, noExtra, readAll, 0),
					fixedPlan(3, 10, noExtra, readAll, 0),
				}
				st := runPlans(t, rand.New(rand.NewPCG(3, 4)), mode, plans)
				if st.Dials != 2 || st.Closed[CloseUnsolicited] != 1 {
					t.Errorf("dials %d, closed %v; want 2 dials and 1 connection closed as %s",
						st.Dials, st.Closed, CloseUnsolicited)
				}
			})
		}
	}
}

// TestUnsolicitedBytesCloseAConnectionHandedToAWaiter: a connection freed
// for a request waiting under MaxConnsPerHost is checked too, although it
// never sat idle.
func TestUnsolicitedBytesCloseAConnectionHandedToAWaiter(t *testing.T) {
	srv := newScriptedServer(t, nil)
	first := fixedPlan(1, 20000, sameWrite, readSized, 64<<10)
	second := fixedPlan(2, 10, noExtra, readAll, 0)
	srv.plans.Store(1, first)
	srv.plans.Store(2, second)
	tr := newTransport(t, Config{MaxConnsPerHost: 1})
	req, _ := http.NewRequest("GET", srv.url()+"/r/1", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	<-first.written // the extra bytes are in the client's socket
	done := make(chan error, 1)
	go func() { done <- exchange(tr, srv.url()+"/r/2", second, make([]byte, 100)) }()
	waitUntil(t, "the second request to wait for the connection", func() bool { return tr.Stats().Waiting == 1 })
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := <-done; err != nil {
		t.Fatalf("the waiting request: %v", err)
	}
	if srv.violations.Load() > 0 {
		t.Fatal(srv.firstBad)
	}
	if st := tr.Stats(); st.Dials != 2 || st.Closed[CloseUnsolicited] != 1 {
		t.Errorf("dials %d, closed %v; want 2 dials and 1 connection closed as %s", st.Dials, st.Closed, CloseUnsolicited)
	}
}
