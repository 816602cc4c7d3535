package benchserver

import (
	"bufio"
	"strconv"
	"sync"
)

// maxBodySize bounds N in /size/N.
const maxBodySize = 64 << 20

// maxCachedSizes bounds how many distinct /size/N responses are kept, so
// that a client asking for many sizes cannot grow the server without bound.
const maxCachedSizes = 64

// bodyPattern is repeated to fill response bodies; a body of
// DefaultBodySize bytes is exactly this.
const bodyPattern = "Hello, World!"

var (
	badRequest      = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	barrierTimedOut = []byte("HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
)

// response is a precomputed 200 response: its head in the keep-alive and the
// closing variant, and its body.
type response struct {
	head      []byte
	headClose []byte
	body      []byte
}

// newResponse precomputes the response with a body of size bytes.
func newResponse(size int) *response {
	body := make([]byte, size)
	for i := 0; i < size; i += copy(body[i:], bodyPattern) {
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(size) + "\r\n"
	return &response{
		head:      []byte(head + "\r\n"),
		headClose: []byte(head + "Connection: close\r\n\r\n"),
		body:      body,
	}
}

// Body returns the body the server answers with for a body of size bytes,
// so that tests can check what they receive.
func Body(size int) []byte {
	return newResponse(size).body
}

var (
	sized      sync.Map // int → *response; read without a lock
	sizedMu    sync.Mutex
	sizedCount int // guarded by sizedMu
)

// sizedResponse returns the response of /size/n, cached while the cache has room.
func sizedResponse(n int) *response {
	if r, ok := sized.Load(n); ok {
		return r.(*response)
	}
	r := newResponse(n)
	sizedMu.Lock()
	defer sizedMu.Unlock()
	if prev, ok := sized.Load(n); ok {
		return prev.(*response)
	}
	if sizedCount < maxCachedSizes {
		sized.Store(n, r)
		sizedCount++
	}
	return r
}

// write writes the response to bw; closing adds "Connection: close", and
// head leaves out the body as a response to HEAD must.
func (r *response) write(bw *bufio.Writer, closing, head bool) {
	if closing {
		bw.Write(r.headClose)
	} else {
		bw.Write(r.head)
	}
	if !head {
		bw.Write(r.body)
	}
}
