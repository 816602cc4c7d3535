package httppool

import "sync"

// h2Data buffers the DATA a stream received and its reader has not read,
// in chunks taken from a pool and given back as they are read.
type h2Data struct {
	chunks []*[]byte
	inline [4]*[]byte // chunks' first array, so that a short body allocates none
	off    int        // read offset in the first chunk
	n      int        // bytes unread
}

const h2DataChunk = 16 << 10

var h2DataChunks = sync.Pool{New: func() any { b := make([]byte, 0, h2DataChunk); return &b }}

func (d *h2Data) len() int { return d.n }

// write appends a copy of p.
func (d *h2Data) write(p []byte) {
	d.n += len(p)
	for len(p) > 0 {
		if d.chunks == nil {
			d.chunks = d.inline[:0]
		}
		if k := len(d.chunks); k == 0 || len(*d.chunks[k-1]) == cap(*d.chunks[k-1]) {
			c := h2DataChunks.Get().(*[]byte)
			*c = (*c)[:0]
			d.chunks = append(d.chunks, c)
		}
		last := d.chunks[len(d.chunks)-1]
		n := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:n]...)
		p = p[n:]
	}
}

// read moves up to len(p) bytes into p.
func (d *h2Data) read(p []byte) int {
	n := 0
	for n < len(p) && len(d.chunks) > 0 {
		c := *d.chunks[0]
		k := copy(p[n:], c[d.off:])
		n += k
		d.off += k
		if d.off == len(c) {
			d.dropFirst()
		}
	}
	d.n -= n
	if d.n == 0 {
		d.reset()
	}
	return n
}

func (d *h2Data) dropFirst() {
	h2DataChunks.Put(d.chunks[0])
	d.chunks[0] = nil
	d.chunks = d.chunks[1:]
	d.off = 0
}

// reset drops what is unread, giving its chunks back.
func (d *h2Data) reset() {
	for len(d.chunks) > 0 {
		d.dropFirst()
	}
	d.chunks, d.off, d.n = nil, 0, 0
}
