package httppool

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"

	"github.com/httppool/httppool/internal/benchserver"
)

// A plain keep-alive GET costs the client four allocations and one
// response's worth of bytes: the response with its body reader, the header
// map (two) and its values; the text of the values is shared with the
// previous response, whose head was the same. The server answers from
// precomputed bytes, so what is counted is the client's.
func TestPlainGETAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	get := getLoop(t, func(ln net.Listener) error { return benchserver.Serve(ln, benchserver.Options{}) }, Config{})
	get() // dial, and fill the buffer pool

	// maxBytes leaves room for the buffer pool to refill once (8 KiB over n).
	const maxAllocs, maxBytes = 4, 672
	if allocs := testing.AllocsPerRun(200, get); allocs > maxAllocs {
		t.Errorf("a plain GET allocates %v times, want at most %d", allocs, maxAllocs)
	}
	const n = 1000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		get()
	}
	runtime.ReadMemStats(&after)
	if b := (after.TotalAlloc - before.TotalAlloc) / n; b > maxBytes {
		t.Errorf("a plain GET allocates %d bytes, want at most %d", b, maxBytes)
	}
}

// A GET over HTTP/2 costs the client five allocations: the stream with its
// response and body reader, the stream's wake-up channel, the header map
// (two) and its values. The request's header block comes from the HPACK
// cache and the response's head from the decoded-block cache, and the
// server (ServeH2C, in this process) allocates nothing per request.
func TestH2GETAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocations")
	}
	get := getLoop(t, benchserver.ServeH2C, Config{HTTP2: HTTP2Config{H2C: true}})
	get()
	get() // the caches hold this request and its response
	const maxAllocs = 5
	if allocs := testing.AllocsPerRun(200, get); allocs > maxAllocs {
		t.Errorf("a GET over HTTP/2 allocates %v times, want at most %d", allocs, maxAllocs)
	}
}

// getLoop starts serve on a loopback listener and returns a function that
// sends one GET to it through a Transport made from cfg and reads the
// body to its end, reusing the request and the read buffer; the server
// and the Transport stop when the test ends.
func getLoop(t *testing.T, serve func(net.Listener) error, cfg Config) func() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	tr := New(cfg)
	t.Cleanup(func() {
		tr.Close()
		ln.Close()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	req, err := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	return func() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = resp.Body.Read(buf)
		}
		resp.Body.Close()
		if err != io.EOF {
			t.Fatal(err)
		}
	}
}
