package httppool

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// traceRecorder records the hooks a request fires, in order.
type traceRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *traceRecorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *traceRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *traceRecorder) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { r.add("GetConn") },
		GotConn: func(i httptrace.GotConnInfo) {
			r.add("GotConn reused=%v wasIdle=%v", i.Reused, i.WasIdle)
		},
		PutIdleConn:          func(err error) { r.add("PutIdleConn err=%v", err) },
		GotFirstResponseByte: func() { r.add("GotFirstResponseByte") },
		Got100Continue:       func() { r.add("Got100Continue") },
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			r.add("Got1xxResponse %d", code)
			return nil
		},
		DNSStart:          func(httptrace.DNSStartInfo) { r.add("DNSStart") },
		DNSDone:           func(httptrace.DNSDoneInfo) { r.add("DNSDone") },
		ConnectStart:      func(_, _ string) { r.add("ConnectStart") },
		ConnectDone:       func(_, _ string, err error) { r.add("ConnectDone err=%v", err) },
		TLSHandshakeStart: func() { r.add("TLSHandshakeStart") },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			r.add("TLSHandshakeDone err=%v", err)
		},
		WroteHeaders:    func() { r.add("WroteHeaders") },
		Wait100Continue: func() { r.add("Wait100Continue") },
		WroteRequest:    func(i httptrace.WroteRequestInfo) { r.add("WroteRequest err=%v", i.Err) },
	}
}

// traceHandler answers after a pause, so that the client's write-side hooks
// have fired before the response arrives, also in net/http, which writes and
// reads on two goroutines.
var traceHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	time.Sleep(5 * time.Millisecond)
	if r.URL.Path == "/hints" {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
	}
	io.WriteString(w, "ok")
})

// traceSequences runs the same requests through rt and returns the hooks
// fired for each.
func traceSequences(t *testing.T, rt http.RoundTripper, reqs []func() *http.Request) [][]string {
	var out [][]string
	for _, mk := range reqs {
		rec := &traceRecorder{}
		req := mk()
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), rec.trace()))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// net/http puts the connection back on its read loop's goroutine,
		// a moment after the body's EOF.
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if ev := rec.list(); len(ev) > 0 && strings.HasPrefix(ev[len(ev)-1], "PutIdleConn") {
				break
			}
		}
		out = append(out, rec.list())
	}
	return out
}

// Over HTTP/2 the same exchanges fire the same hooks as over HTTP/1.1.
func TestTraceOverHTTP2AsOverHTTP1(t *testing.T) {
	h1 := testserver.NewTLS(t, traceHandler, nil)
	h2 := testserver.NewH2(t, traceHandler, nil)
	requests := func(base string) []func() *http.Request {
		return []func() *http.Request{
			func() *http.Request { return mustRequest(t, "GET", base+"/new", nil) },
			func() *http.Request { return mustRequest(t, "GET", base+"/reused", nil) },
			func() *http.Request {
				req := mustRequest(t, "POST", base+"/continue", strings.NewReader("body"))
				req.Header.Set("Expect", "100-continue")
				return req
			},
			func() *http.Request { return mustRequest(t, "GET", base+"/hints", nil) },
		}
	}
	tr1 := newTransport(t, Config{TLSClientConfig: h1.TLSConfig()})
	tr2 := newTransport(t, Config{TLSClientConfig: h2.TLSConfig()})
	want := traceSequences(t, tr1, requests(h1.URL))
	got := traceSequences(t, tr2, requests(h2.URL))
	// The read loop fires the response's hooks while the request's
	// goroutine may still be firing WroteRequest: compare what fired.
	for i := range want {
		if a, b := slices.Sorted(slices.Values(got[i])), slices.Sorted(slices.Values(want[i])); !slices.Equal(a, b) {
			t.Errorf("request %d:\n HTTP/2:   %s\n HTTP/1.1: %s", i, strings.Join(got[i], ", "), strings.Join(want[i], ", "))
		}
	}
}

func TestTraceMatchesNetHTTP(t *testing.T) {
	srv := testserver.New(t, traceHandler, nil)
	tlsSrv := testserver.NewTLS(t, traceHandler, nil)
	reqs := []func() *http.Request{
		func() *http.Request { return mustRequest(t, "GET", srv.URL+"/new", nil) },
		func() *http.Request { return mustRequest(t, "GET", srv.URL+"/reused", nil) },
		func() *http.Request {
			req := mustRequest(t, "POST", srv.URL+"/continue", strings.NewReader("body"))
			req.Header.Set("Expect", "100-continue")
			return req
		},
		func() *http.Request { return mustRequest(t, "GET", srv.URL+"/hints", nil) },
		func() *http.Request { return mustRequest(t, "GET", tlsSrv.URL+"/tls", nil) },
	}
	roots := tlsSrv.HTTPTest().Client().Transport.(*http.Transport).TLSClientConfig

	ours := New(Config{TLSClientConfig: roots})
	defer ours.Close()
	std := &http.Transport{TLSClientConfig: roots, ExpectContinueTimeout: time.Second}
	defer std.CloseIdleConnections()

	got := traceSequences(t, ours, reqs)
	want := traceSequences(t, std, reqs)
	// net/http writes and reads on two goroutines, so under load the order of
	// its write-side and read-side hooks varies: compare which hooks fired,
	// then check httppool's order, which follows the exchange itself.
	for i := range reqs {
		if a, b := slices.Sorted(slices.Values(got[i])), slices.Sorted(slices.Values(want[i])); !slices.Equal(a, b) {
			t.Errorf("request %d:\n httppool: %s\n net/http: %s", i, strings.Join(got[i], ", "), strings.Join(want[i], ", "))
		}
	}
	order := []string{
		"GetConn, ConnectStart, ConnectDone err=<nil>, GotConn reused=false wasIdle=false, WroteHeaders, WroteRequest err=<nil>, GotFirstResponseByte, PutIdleConn err=<nil>",
		"GetConn, GotConn reused=true wasIdle=true, WroteHeaders, WroteRequest err=<nil>, GotFirstResponseByte, PutIdleConn err=<nil>",
		"GetConn, GotConn reused=true wasIdle=true, WroteHeaders, Wait100Continue, GotFirstResponseByte, Got100Continue, Got1xxResponse 100, WroteRequest err=<nil>, PutIdleConn err=<nil>",
		"GetConn, GotConn reused=true wasIdle=true, WroteHeaders, WroteRequest err=<nil>, GotFirstResponseByte, Got1xxResponse 103, PutIdleConn err=<nil>",
		"GetConn, ConnectStart, ConnectDone err=<nil>, TLSHandshakeStart, TLSHandshakeDone err=<nil>, GotConn reused=false wasIdle=false, WroteHeaders, WroteRequest err=<nil>, GotFirstResponseByte, PutIdleConn err=<nil>",
	}
	for i := range reqs {
		if s := strings.Join(got[i], ", "); s != order[i] {
			t.Errorf("request %d: httppool fired\n %s\nwant\n %s", i, s, order[i])
		}
	}
}

func TestTraceDNSEventsComeFromTheDialer(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	port := srv.Addr[strings.LastIndexByte(srv.Addr, ':'):]
	tr := newTransport(t, Config{})
	rec := &traceRecorder{}
	traceSequences(t, tr, []func() *http.Request{func() *http.Request {
		req := mustRequest(t, "GET", "http://localhost"+port, nil)
		return req.WithContext(httptrace.WithClientTrace(req.Context(), rec.trace()))
	}})
	if ev := rec.list(); !slices.Contains(ev, "DNSStart") || !slices.Contains(ev, "DNSDone") {
		t.Errorf("events %v: want DNSStart and DNSDone", ev)
	}
}

func TestGotConnReportsIdleTime(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	get(t, tr, srv.URL)
	time.Sleep(20 * time.Millisecond)
	var info httptrace.GotConnInfo
	req := mustRequest(t, "GET", srv.URL, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { info = i },
	}))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !info.Reused || !info.WasIdle || info.IdleTime < 20*time.Millisecond || info.Conn == nil {
		t.Errorf("GotConnInfo = %+v; want reused, idle for at least 20ms, with its Conn", info)
	}
}

func TestGot1xxResponseErrorAbortsTheRequest(t *testing.T) {
	srv := testserver.New(t, traceHandler, nil)
	tr := newTransport(t, Config{})
	req := mustRequest(t, "GET", srv.URL+"/hints", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(int, textproto.MIMEHeader) error { return fmt.Errorf("no hints, thanks") },
	}))
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "no hints") {
		t.Errorf("err = %v, want the hook's error", err)
	}
}

func TestLoggerRecordsLifecycle(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := New(Config{Logger: logger})
	get(t, tr, srv.URL)
	get(t, tr, srv.URL)
	tr.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{
		`msg="httppool: dialed"`, `msg="httppool: reused"`, `msg="httppool: returned to pool"`,
		`msg="httppool: closed"`, "reason=transport_closed", "conn=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}

	buf.Reset()
	quiet := New(Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))}) // info level
	get(t, quiet, srv.URL)
	quiet.Close()
	if buf.Len() != 0 {
		t.Errorf("an info-level logger got debug events: %s", buf.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fixedServer answers every request with the same small response, for
// benchmarks of the client's own cost.
func fixedServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 { // end of the request head
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"))
					}
				}
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/"
}

// BenchmarkTraceCost measures the hot path without a trace, with a trace
// whose hooks do nothing, and with a debug logger that drops records.
func BenchmarkTraceCost(b *testing.B) {
	url := fixedServer(b)
	noop := &httptrace.ClientTrace{
		GetConn: func(string) {}, GotConn: func(httptrace.GotConnInfo) {}, PutIdleConn: func(error) {},
		GotFirstResponseByte: func() {}, WroteHeaders: func() {}, WroteRequest: func(httptrace.WroteRequestInfo) {},
	}
	for _, bc := range []struct {
		name   string
		trace  *httptrace.ClientTrace
		logger *slog.Logger
	}{
		{"none", nil, nil},
		{"trace", noop, nil},
		{"logger-info", nil, slog.New(slog.NewTextHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := New(Config{Logger: bc.logger})
			defer tr.Close()
			req, _ := http.NewRequest("GET", url, nil)
			if bc.trace != nil {
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), bc.trace))
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkStats measures taking a snapshot with 100 hosts in the pool.
func BenchmarkStats(b *testing.B) {
	tr := New(Config{})
	defer tr.Close()
	for i := 0; i < 100; i++ {
		tr.c.hostPoolFor(connectKey{scheme: "http", addr: fmt.Sprintf("h%d:80", i)}).open = 1
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Stats()
	}
}

func TestGotConnOverHTTP2(t *testing.T) {
	srv := testserver.NewH2(t, protoHandler, nil)
	tr := newTransport(t, Config{TLSClientConfig: srv.TLSConfig()})
	var infos []httptrace.GotConnInfo
	for i := 0; i < 2; i++ {
		req := mustRequest(t, "GET", srv.URL, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { infos = append(infos, i) },
		}))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if len(infos) != 2 || infos[0].Reused || !infos[1].Reused || infos[1].Conn == nil || infos[0].Conn != infos[1].Conn {
		t.Errorf("GotConn infos %+v; want two, the second reusing the first's connection", infos)
	}
}
