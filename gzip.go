package httppool

import (
	"compress/gzip"
	"io"
	"sync"
)

var gzipReaderPool sync.Pool // *gzip.Reader

// gzipBody decompresses a gzip response body that the Transport asked for.
// Its decompressor is made on the first Read and recycled at the end.
type gzipBody struct {
	body *h1Body
	zr   *gzip.Reader
	err  error
}

func (g *gzipBody) Read(p []byte) (int, error) {
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
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
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

func (g *gzipBody) Close() error {
	g.recycle()
	if g.err == nil {
		g.err = ErrBodyClosed
	}
	return g.body.Close()
}

func (g *gzipBody) recycle() {
	if g.zr != nil {
		gzipReaderPool.Put(g.zr)
		g.zr = nil
	}
}
