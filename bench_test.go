package httppool_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/internal/benchserver"
)

// These benchmarks run against a benchmark server in a separate process (this
// test binary started again), so that the CPU time of the test process is
// the client's alone. Where taskset is available the server is pinned to
// CPU 1 and the client to CPU 0 with GOMAXPROCS=1 for the duration of each
// top-level benchmark; the "-N" suffix of the benchmark names still shows
// the GOMAXPROCS the testing package set, not the pinned 1.

// init makes this test binary the benchmark server when benchserver.Start
// runs it again with HTTPPOOL_BENCHSERVER=1: it then serves and exits before
// any test, or the package's goleak check, runs.
func init() {
	benchserver.ChildMain()
}

// idleConns is how many idle connections BenchmarkIdleConns opens.
const idleConns = 2000

// openTimeout bounds opening connections, so that a broken client fails
// the benchmark rather than hanging it at the server's barrier.
const openTimeout = 30 * time.Second

// benchClient is a client under benchmark: an http.RoundTripper made for a
// given concurrency, and how to close it.
type benchClient struct {
	name string
	new  func(concurrency int) (rt http.RoundTripper, closeFn func())
}

var benchClients = []benchClient{
	{"httppool", func(int) (http.RoundTripper, func()) {
		tr := httppool.New(httppool.Config{})
		return tr, func() { tr.Close() }
	}},
	{"nethttp", func(concurrency int) (http.RoundTripper, func()) {
		tr := &http.Transport{MaxIdleConnsPerHost: concurrency}
		return tr, tr.CloseIdleConnections
	}},
}

// pinNoteOnce prints, once per run, that the benchmarks could not be pinned
// to CPUs as they normally are.
var pinNoteOnce sync.Once

// startBenchServer starts the server process and pins this process for one
// top-level benchmark, and stops and unpins in its cleanup. The server is
// not shared across top-level benchmarks because nothing runs after the last
// one but the package's goleak check: each top-level benchmark must leave no
// process or goroutine behind. A start costs milliseconds.
func startBenchServer(b *testing.B) *benchserver.Process {
	b.Helper()
	p, err := benchserver.Start(benchserver.ProcessConfig{CPU: 1})
	if err != nil {
		b.Fatal(err)
	}
	unpin, note := benchserver.PinSelf(0)
	if !p.Pinned || !strings.HasPrefix(note, "client pinned") {
		pinNoteOnce.Do(func() { fmt.Fprintf(os.Stderr, "benchmarks: %s; %s\n", p.PinNote, note) })
	}
	b.Cleanup(func() {
		unpin()
		if err := p.Close(); err != nil {
			b.Errorf("stopping the benchmark server: %v", err)
		}
	})
	return p
}

// BenchmarkGET measures keep-alive GETs of a 13-byte body by c goroutines
// sharing one client, each with its own reused *http.Request. cpu-ns/op is
// the test process's CPU time, user and system, per request.
func BenchmarkGET(b *testing.B) {
	srv := startBenchServer(b)
	for _, cl := range benchClients {
		b.Run(cl.name, func(b *testing.B) {
			for _, c := range []int{1, 64} {
				b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
					benchGET(b, cl, srv.Addr, c)
				})
			}
		})
	}
}

func benchGET(b *testing.B, cl benchClient, addr string, c int) {
	rt, closeRT := cl.new(c)
	defer closeRT()
	// Dial the c connections before timing, so that the loop measures
	// reuse; the barrier makes the server hold every response until all c
	// requests are in flight, each on its own connection.
	if err := openConns(rt, addr, c); err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, c)
	bufs := make([][]byte, c)
	for i := range reqs {
		reqs[i] = newRequest(b, "http://"+addr+"/")
		bufs[i] = make([]byte, 4096)
	}
	runRequests(b, rt, reqs, bufs)
}

// runRequests times b.N requests sent by one goroutine per request in reqs,
// each reading its bodies into its buffer, and reports the process's CPU
// time per request (cpu-ns/op).
func runRequests(b *testing.B, rt http.RoundTripper, reqs []*http.Request, bufs [][]byte) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ReportAllocs()
	cpu0, cpuOK := benchserver.SelfCPU()
	b.ResetTimer()
	for i := range reqs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := roundTrip(rt, reqs[i], bufs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if cpu1, _ := benchserver.SelfCPU(); cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkIdleConns measures what each of 2,000 idle pooled connections
// costs the client: heap bytes and goroutines, and the goroutines' stack
// bytes, which net/http pays in stacks rather than heap. One op opens the
// connections, measures, and closes them.
func BenchmarkIdleConns(b *testing.B) {
	srv := startBenchServer(b)
	for _, cl := range benchClients {
		b.Run(cl.name, func(b *testing.B) {
			var heap, stack, goroutines float64
			for range b.N {
				h, s, g := measureIdle(b, cl, srv.Addr, idleConns)
				heap += h
				stack += s
				goroutines += g
			}
			b.ReportMetric(heap/float64(b.N), "heap-B/conn")
			b.ReportMetric(stack/float64(b.N), "stack-B/conn")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/conn")
		})
	}
}

// measureIdle opens n idle connections with a new client and returns the
// heap bytes, stack bytes and goroutines each adds, measured after two
// garbage collections against the state before the client existed.
func measureIdle(b *testing.B, cl benchClient, addr string, n int) (heap, stack, goroutines float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	rt, closeRT := cl.new(n)
	if err := openConns(rt, addr, n); err != nil {
		closeRT()
		b.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	closeRT() // also keeps the client reachable until after the measurement

	// net/http's connection goroutines exit after the close; wait for them
	// so that the next measurement starts from the same state.
	for i := 0; runtime.NumGoroutine() > g0 && i < 1000; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	perConn := func(d int64) float64 { return float64(d) / float64(n) }
	return perConn(int64(after.HeapAlloc) - int64(before.HeapAlloc)),
		perConn(int64(after.StackInuse) - int64(before.StackInuse)),
		perConn(int64(g1 - g0))
}

// openConns sends n concurrent requests to /barrier/n through rt, so that
// the server answers none until all n are in flight: rt ends up with n
// connections, idle once the responses are read.
func openConns(rt http.RoundTripper, addr string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	url := fmt.Sprintf("http://%s/barrier/%d", addr, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
			if err == nil {
				err = roundTrip(rt, req, make([]byte, 512))
			}
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("opening %d connections: %w", n, err)
		}
	}
	return first
}

// roundTrip sends req and reads the response body to its end into buf.
func roundTrip(rt http.RoundTripper, req *http.Request, buf []byte) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	for err == nil {
		_, err = resp.Body.Read(buf)
	}
	resp.Body.Close()
	if err != io.EOF {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %s", req.Method, req.URL, resp.Status)
	}
	return nil
}

// newRequest returns a GET request with no deadline: a context that can end
// makes net/http watch it on every request, which is not what is measured.
func newRequest(b *testing.B, url string) *http.Request {
	b.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	return req
}
