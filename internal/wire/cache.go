package wire

import (
	"bufio"
	"bytes"
	"net/http"
)

// Limits of what a HeadCache keeps: heads larger than this are parsed every
// time, so that a cache never holds much.
const (
	maxCachedHead   = 1024
	maxCachedFields = 16
)

// HeadCache remembers the last response head read through it. A head made
// of the same bytes as the remembered one, as servers repeat them on a
// connection, is not parsed again: the response gets the same strings,
// which are immutable, and a header map and value slices of its own, so
// that nothing a caller does to one response reaches another. The zero
// value is ready to use; a HeadCache is not safe for concurrent use.
type HeadCache struct {
	raw     []byte // the head's bytes, status line through the empty line
	status  string
	proto   string
	code    int
	major   int
	minor   int
	s       string  // keys and values not interned, which fields point into
	fields  []field // offsets into s
	present framingKeys
}

// ReadHead is the package's ReadHead, skipping the parse of a head equal to
// the last one read through c.
func (c *HeadCache) ReadHead(br *bufio.Reader, method string, maxHeaderBytes int, resp *http.Response) (BodyKind, error) {
	return readHead(br, method, maxHeaderBytes, resp, c)
}

// hit fills resp from the cache if b starts with the remembered head, and
// returns the head's length and the TransferEncoding slot, or 0 on a miss.
func (c *HeadCache) hit(b []byte, resp *http.Response) (n int, te []string) {
	n = len(c.raw)
	if n == 0 || len(b) < n || !bytes.Equal(b[:n], c.raw) {
		return 0, nil
	}
	resp.Status, resp.StatusCode = c.status, c.code
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = c.proto, c.major, c.minor
	resp.Header, te = makeHeader(c.s, c.fields, 1)
	return n, te
}

// remember keeps the head just parsed from raw into resp, whose fields
// point into s, unless it is too large to be worth keeping.
func (c *HeadCache) remember(raw []byte, resp *http.Response, s string, fields []field, present framingKeys) {
	if len(raw) > maxCachedHead || len(fields) > maxCachedFields {
		c.raw = c.raw[:0]
		return
	}
	c.raw = append(c.raw[:0], raw...)
	c.status, c.code = resp.Status, resp.StatusCode
	c.proto, c.major, c.minor = resp.Proto, resp.ProtoMajor, resp.ProtoMinor
	c.s = s
	c.fields = append(c.fields[:0], fields...)
	c.present = present
}
