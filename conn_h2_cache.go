package httppool

import "net/http"

// headerCache remembers the HPACK blocks of the last few distinct request
// headers sent on a connection. A block made only of indexed fields
// changes no HPACK table when decoded, so while the encoder's table stays
// as it was (encGen counts its changes), the same header list encodes to
// the same bytes: a request like a cached one is sent without encoding.
type headerCache struct {
	entries [4]cachedBlock
	next    int
}

type cachedBlock struct {
	valid    bool
	gen      uint64
	method   string
	host     string // Request.Host
	url      urlKey
	gz       bool
	length   int64
	header   []cachedField
	block    []byte
	listSize uint64
}

// urlKey is what a request's :authority, :path and :scheme come from.
type urlKey struct {
	scheme, host, opaque, path, rawPath, rawQuery string
	forceQuery                                    bool
}

type cachedField struct {
	key    string
	values []string
}

func urlKeyOf(req *http.Request) urlKey {
	u := req.URL
	return urlKey{u.Scheme, u.Host, u.Opaque, u.Path, u.RawPath, u.RawQuery, u.ForceQuery}
}

// lookup returns the cached block of a request with req's header, encoded
// at generation gen, or nil.
func (c *headerCache) lookup(req *http.Request, gz bool, length int64, gen uint64) *cachedBlock {
	if len(req.Trailer) > 0 {
		return nil
	}
	for i := range c.entries {
		e := &c.entries[i]
		if e.valid && e.gen == gen && e.method == req.Method && e.host == req.Host &&
			e.gz == gz && e.length == length && e.url == urlKeyOf(req) && sameHeader(req.Header, e.header) {
			return e
		}
	}
	return nil
}

// store remembers block as the encoding of req's header at generation gen.
func (c *headerCache) store(req *http.Request, gz bool, length int64, gen uint64, block []byte, listSize uint64) {
	if len(req.Trailer) > 0 || len(req.Header) > 32 || len(block) > 4096 {
		return
	}
	e := &c.entries[c.next]
	c.next = (c.next + 1) % len(c.entries)
	e.valid, e.gen, e.method, e.host, e.url = true, gen, req.Method, req.Host, urlKeyOf(req)
	e.gz, e.length, e.listSize = gz, length, listSize
	e.header = e.header[:0]
	for k, vv := range req.Header {
		e.header = append(e.header, cachedField{k, append([]string(nil), vv...)})
	}
	e.block = append(e.block[:0], block...)
}

// sameHeader reports whether h holds exactly the fields of c.
func sameHeader(h http.Header, c []cachedField) bool {
	if len(h) != len(c) {
		return false
	}
	for _, f := range c {
		vv, ok := h[f.key]
		if !ok || len(vv) != len(f.values) {
			return false
		}
		for i, v := range vv {
			if v != f.values[i] {
				return false
			}
		}
	}
	return true
}
