package httppool_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/httppool/httppool"
)

// h2Clients are the clients of the HTTP/2 benchmarks, speaking h2c with
// prior knowledge to the benchmark server's HTTP/2 listener.
var h2Clients = []benchClient{
	{"httppool", func(int) (http.RoundTripper, func()) {
		tr := httppool.New(httppool.Config{HTTP2: httppool.HTTP2Config{H2C: true}})
		return tr, func() { tr.Close() }
	}},
	{"nethttp", func(int) (http.RoundTripper, func()) {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		return tr, tr.CloseIdleConnections
	}},
}

// BenchmarkH2GET measures GETs of a 13-byte body over one HTTP/2
// connection (h2c) by c goroutines, each with its own reused request, as
// BenchmarkGET does over HTTP/1.1; and a 1 MiB body one at a time.
func BenchmarkH2GET(b *testing.B) {
	srv := startBenchServer(b)
	for _, cl := range h2Clients {
		b.Run(cl.name, func(b *testing.B) {
			for _, c := range []int{1, 64, 256} {
				b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
					benchH2(b, cl, "http://"+srv.H2CAddr+"/", c)
				})
			}
			b.Run("1MiB", func(b *testing.B) {
				benchH2(b, cl, fmt.Sprintf("http://%s/size/%d", srv.H2CAddr, 1<<20), 1)
			})
		})
	}
}

func benchH2(b *testing.B, cl benchClient, url string, c int) {
	rt, closeRT := cl.new(c)
	defer closeRT()
	reqs := make([]*http.Request, c)
	bufs := make([][]byte, c)
	for i := range reqs {
		reqs[i] = newRequest(b, url)
		bufs[i] = make([]byte, 32<<10)
	}
	if err := roundTrip(rt, reqs[0], bufs[0]); err != nil { // the connection is up
		b.Fatal(err)
	}
	runRequests(b, rt, reqs, bufs)
}
