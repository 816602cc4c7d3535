package httppool

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"

	"github.com/httppool/httppool/internal/wire"
	"golang.org/x/net/http2/hpack"
)

// encodeRequestHeadersLocked returns the HPACK block of req's header:
// pseudo-headers, then the request's fields in lower case without the
// connection-specific ones, as x/net encodes them. A request whose
// header equals an earlier one's, while the encoder's table has not
// changed, reuses that block (headerCache). wmu is held.
func (cc *h2Conn) encodeRequestHeadersLocked(req *http.Request, trace *httptrace.ClientTrace, gz bool, contentLength int64) ([]byte, error) {
	traced := trace != nil && trace.WroteHeaderField != nil
	if !traced {
		if e := cc.encCache.lookup(req, gz, contentLength, cc.encGen); e != nil && (cc.peerMaxHeaderList == 0 || e.listSize <= uint64(cc.peerMaxHeaderList)) {
			return e.block, nil
		}
	}
	fields, err := requestFields(req, gz, contentLength)
	if err != nil {
		return nil, err
	}
	if cc.peerMaxHeaderList > 0 {
		var size uint64
		for _, f := range fields.list {
			size += uint64(hpack.HeaderField{Name: f.name, Value: f.value}.Size())
		}
		if size > uint64(cc.peerMaxHeaderList) {
			return nil, errors.New("httppool: request header list larger than the server's limit")
		}
	}
	cc.hbuf.Reset()
	var listSize uint64
	for _, f := range fields.list {
		hf := hpack.HeaderField{Name: f.name, Value: f.value}
		listSize += uint64(hf.Size())
		cc.enc.WriteField(hf)
		if traced {
			trace.WroteHeaderField(f.name, []string{f.value})
		}
	}
	block := cc.hbuf.Bytes()
	if changesTable(block) {
		cc.encGen++ // the encoder's table changed: cached blocks no longer decode the same
	} else if !traced {
		cc.encCache.store(req, gz, contentLength, cc.encGen, block, listSize)
	}
	return block, nil
}

// encodeTrailersLocked returns the HPACK block of a request's trailers.
func (cc *h2Conn) encodeTrailersLocked(trailer http.Header) ([]byte, error) {
	cc.hbuf.Reset()
	for k, vv := range trailer {
		name, ok := lowerHeader(k)
		if !ok {
			continue
		}
		for _, v := range vv {
			cc.enc.WriteField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	block := cc.hbuf.Bytes()
	if changesTable(block) {
		cc.encGen++
	}
	return block, nil
}

// changesTable reports whether decoding an HPACK block may change the
// decoder's dynamic table: whether it holds a literal with incremental
// indexing or a table size update (RFC 7541 section 6). Indexed fields and
// literals without indexing leave it as it was. A block it cannot walk
// counts as changing it.
func changesTable(b []byte) bool {
	for len(b) > 0 {
		c := b[0]
		switch {
		case c&0x80 != 0: // indexed field
			var ok bool
			if _, b, ok = hpackInt(b, 7); !ok {
				return true
			}
		case c&0xc0 == 0x40, c&0xe0 == 0x20: // incremental indexing, size update
			return true
		default: // literal without indexing, or never indexed
			idx, rest, ok := hpackInt(b, 4)
			if !ok {
				return true
			}
			b = rest
			if idx == 0 {
				if b, ok = skipHpackString(b); !ok {
					return true
				}
			}
			if b, ok = skipHpackString(b); !ok {
				return true
			}
		}
	}
	return false
}

// hpackInt reads an integer with an n-bit prefix (RFC 7541 section 5.1).
func hpackInt(b []byte, n uint) (uint64, []byte, bool) {
	mask := uint64(1)<<n - 1
	v := uint64(b[0]) & mask
	b = b[1:]
	if v < mask {
		return v, b, true
	}
	for shift := uint(0); shift < 63 && len(b) > 0; shift += 7 {
		c := b[0]
		b = b[1:]
		v += uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, b, true
		}
	}
	return 0, nil, false
}

// skipHpackString skips a string literal (RFC 7541 section 5.2).
func skipHpackString(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n, rest, ok := hpackInt(b, 7)
	if !ok || n > uint64(len(rest)) {
		return nil, false
	}
	return rest[n:], true
}

// requestFieldList is a request's header list in the order it is sent.
type requestFieldList struct{ list []h2Field }

// requestFields lists req's header for HTTP/2, with net/http's rules for
// Host, User-Agent, Content-Length, Accept-Encoding and cookies.
func requestFields(req *http.Request, gz bool, contentLength int64) (requestFieldList, error) {
	var l requestFieldList
	if err := checkConnHeaders(req.Header); err != nil {
		return l, err
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	host, err := requestHost(host)
	if err != nil {
		return l, err
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	connect := method == http.MethodConnect
	l.add(":authority", host)
	l.add(":method", method)
	if !connect {
		path, err := requestPath(req.URL, host)
		if err != nil {
			return l, err
		}
		l.add(":path", path)
		l.add(":scheme", req.URL.Scheme)
	}
	if len(req.Trailer) > 0 {
		keys := make([]string, 0, len(req.Trailer))
		for k := range req.Trailer {
			keys = append(keys, http.CanonicalHeaderKey(k))
		}
		l.add("trailer", strings.Join(keys, ","))
	}
	didUA := false
	for k, vv := range req.Header {
		switch {
		case wire.EqualFold(k, "Host"), wire.EqualFold(k, "Content-Length"),
			wire.EqualFold(k, "Connection"), wire.EqualFold(k, "Proxy-Connection"),
			wire.EqualFold(k, "Transfer-Encoding"), wire.EqualFold(k, "Upgrade"),
			wire.EqualFold(k, "Keep-Alive"):
			continue // :authority, framing, or connection-specific
		case wire.EqualFold(k, "User-Agent"):
			didUA = true
			if len(vv) == 0 || vv[0] == "" {
				continue
			}
			vv = vv[:1]
		case wire.EqualFold(k, "Cookie"):
			for _, v := range vv {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimLeft(c, " "); c != "" {
						l.add("cookie", c)
					}
				}
			}
			continue
		}
		name, ok := lowerHeader(k)
		if !ok {
			continue
		}
		for _, v := range vv {
			l.add(name, v)
		}
	}
	if contentLength > 0 || contentLength == 0 && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch) {
		l.add("content-length", strconv.FormatInt(contentLength, 10))
	}
	if gz {
		l.add("accept-encoding", "gzip")
	}
	if !didUA {
		l.add("user-agent", defaultUserAgent)
	}
	return l, nil
}

func (l *requestFieldList) add(name, value string) {
	l.list = append(l.list, h2Field{name, value})
}

// requestPath is the :path of a request to u.
func requestPath(u *url.URL, host string) (string, error) {
	path := u.RequestURI()
	if !validPseudoPath(path) {
		orig := path
		path = strings.TrimPrefix(path, u.Scheme+"://"+host)
		if !validPseudoPath(path) {
			return "", fmt.Errorf("httppool: invalid request :path %q", orig)
		}
	}
	return path, nil
}

func validPseudoPath(v string) bool {
	return len(v) > 0 && v[0] == '/' || v == "*"
}

// checkConnHeaders rejects the connection headers HTTP/2 cannot carry, as
// x/net does: an Upgrade, a Transfer-Encoding other than chunked, a
// Connection other than close or keep-alive.
func checkConnHeaders(h http.Header) error {
	if vv := h["Upgrade"]; len(vv) > 0 && (vv[0] != "" && vv[0] != "chunked") {
		return fmt.Errorf("httppool: invalid Upgrade request header for HTTP/2: %q", vv)
	}
	if vv := h["Transfer-Encoding"]; len(vv) > 0 && (len(vv) > 1 || vv[0] != "" && vv[0] != "chunked") {
		return fmt.Errorf("httppool: invalid Transfer-Encoding request header for HTTP/2: %q", vv)
	}
	if vv := h["Connection"]; len(vv) > 0 && (len(vv) > 1 || vv[0] != "" && !wire.EqualFold(vv[0], "close") && !wire.EqualFold(vv[0], "keep-alive")) {
		return fmt.Errorf("httppool: invalid Connection request header for HTTP/2: %q", vv)
	}
	return nil
}

// lowerKeys maps the canonical names of common headers to lower case, so
// that encoding them allocates nothing.
var lowerKeys = func() map[string]string {
	m := make(map[string]string, len(canonicalKeys))
	for low, k := range canonicalKeys {
		m[k] = low
	}
	for _, k := range []string{"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization", "Cookie", "If-Modified-Since", "If-None-Match", "Origin", "Range", "Referer", "User-Agent", "X-Forwarded-For", "Idempotency-Key"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// lowerHeader returns a field name in lower case, and false for a name
// that is not ASCII, which HTTP/2 cannot carry.
func lowerHeader(k string) (string, bool) {
	if l, ok := lowerKeys[k]; ok {
		return l, true
	}
	for i := 0; i < len(k); i++ {
		if k[i] >= 0x80 {
			return "", false
		}
	}
	return strings.ToLower(k), true
}
