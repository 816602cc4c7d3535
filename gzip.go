package httppool

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"
)

var gzipReaderPool sync.Pool // *gzip.Reader

// gzipEncoded reports whether a Content-Encoding header says gzip and only
// gzip: one value, or the same coding repeated (a proxy that added the
// header again), which is decoded once as net/http does. Any other coding
// in the list leaves the body as the server sent it.
func gzipEncoded(ce []string) bool {
	if len(ce) == 0 {
		return false
	}
	for _, v := range ce {
		for c := range strings.SplitSeq(v, ",") {
			if !strings.EqualFold(strings.TrimSpace(c), "gzip") {
				return false
			}
		}
	}
	return true
}

// decodeGzip makes resp's body decompress as it is read, removing the
// headers that described the compressed form.
func decodeGzip(resp *http.Response, body io.ReadCloser) {
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
	resp.Body = &gzipBody{body: body}
}

// gzipBody decompresses a gzip response body that the Transport asked for.
// Its decompressor is made on the first Read and goes back to the pool once
// no Read can be inside it any more.
type gzipBody struct {
	body io.ReadCloser // its Close interrupts a blocked Read

	mu  sync.Mutex // held by Read; Close takes it after interrupting Read
	zr  *gzip.Reader
	err error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr, _ := gzipReaderPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(g.body)
		} else {
			err = zr.Reset(g.body)
		}
		if err != nil {
			// io.EOF before any byte is an empty body, as in net/http.
			if zr != nil {
				gzipReaderPool.Put(zr)
			}
			g.err = err
			return 0, err
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	if err != nil {
		g.err = err
		g.recycle()
	}
	return n, err
}

// Close releases the connection. A Read blocked on the network is
// interrupted first (by the body's Close) and returns ErrBodyClosed; the
// decompressor is recycled only after it returned.
func (g *gzipBody) Close() error {
	err := g.body.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.recycle()
	if g.err == nil || g.err == io.EOF {
		g.err = ErrBodyClosed
	}
	return err
}

func (g *gzipBody) recycle() {
	if g.zr != nil {
		gzipReaderPool.Put(g.zr)
		g.zr = nil
	}
}
