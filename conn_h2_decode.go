package httppool

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/httppool/httppool/internal/wire"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2/hpack"
)

// headerBlock decodes one header block as HPACK emits its fields, counting
// their size as x/net and SETTINGS_MAX_HEADER_LIST_SIZE count it, so that
// nothing past the limit is kept, however small the compressed block.
type headerBlock struct {
	cc        *h2Conn
	s         *h2Stream // nil: decoded for HPACK's state only, then dropped
	id        uint32
	endStream bool
	trailers  bool
	frames    int
	limit     int
	size      int
	tooLarge  bool
	invalid   error
	regular   bool
	connHdr   bool // a connection-specific field came, to be dropped
	mutates   bool // decoding the block may change HPACK's table
	status    string
	fields    []h2Field
	keys      keyCache
}

// h2Field is a decoded field: its canonical name, or as sent for a request.
type h2Field struct{ name, value string }

func (b *headerBlock) start(s *h2Stream, id uint32, endStream, trailers bool, limit int) {
	b.s, b.id, b.endStream, b.trailers, b.limit = s, id, endStream, trailers, limit
	b.frames = 1
}

func (b *headerBlock) reset() {
	clear(b.fields)
	b.s, b.id, b.endStream, b.trailers, b.frames, b.limit, b.size = nil, 0, false, false, 0, 0, 0
	b.tooLarge, b.invalid, b.regular, b.connHdr, b.mutates, b.status = false, nil, false, false, false, ""
	b.fields = b.fields[:0]
}

func (b *headerBlock) emit(f hpack.HeaderField) {
	b.size += int(f.Size())
	if b.size > b.limit {
		b.tooLarge = true
		b.cc.dec.SetEmitEnabled(false)
		return
	}
	if b.s == nil || b.invalid != nil {
		return
	}
	if !httpguts.ValidHeaderFieldValue(f.Value) {
		b.invalid = fmt.Errorf("invalid value for header %q", f.Name)
		return
	}
	if strings.HasPrefix(f.Name, ":") {
		if b.regular || f.Name != ":status" || b.status != "" || b.trailers {
			b.invalid = fmt.Errorf("invalid pseudo-header %q", f.Name)
			return
		}
		b.status = f.Value
		return
	}
	b.regular = true
	if !validWireName(f.Name) {
		b.invalid = fmt.Errorf("invalid header name %q", f.Name)
		return
	}
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		b.connHdr = true
	}
	b.fields = append(b.fields, h2Field{b.keys.canonical(f.Name), f.Value})
}

// decodedBlock remembers the last response head that HPACK decoded
// without changing its table (indexed fields and literals without
// indexing): the same bytes, while the table is as it was (decGen counts
// its changes), decode to the same fields, which are then not decoded,
// checked and canonicalized again.
type decodedBlock struct {
	gen     uint64
	raw     []byte
	status  string
	fields  []h2Field
	size    int
	connHdr bool
}

func (d *decodedBlock) remember(raw []byte, gen uint64, b *headerBlock) {
	if len(raw) > 1024 || len(b.fields) > 32 || b.tooLarge || b.invalid != nil {
		d.raw = d.raw[:0]
		return
	}
	d.gen, d.raw = gen, append(d.raw[:0], raw...)
	d.status, d.size, d.connHdr = b.status, b.size, b.connHdr
	d.fields = append(d.fields[:0], b.fields...)
}

// hit fills b from the remembered head if raw is its block.
func (d *decodedBlock) hit(raw []byte, gen uint64, limit int, b *headerBlock) bool {
	if len(d.raw) == 0 || d.gen != gen || d.size > limit || !bytes.Equal(raw, d.raw) {
		return false
	}
	b.status, b.size, b.connHdr = d.status, d.size, d.connHdr
	b.fields = append(b.fields[:0], d.fields...)
	return true
}

// header builds the block's http.Header: one map, and one array holding
// the values of every single-valued field.
func (b *headerBlock) header() http.Header {
	h := make(http.Header, len(b.fields))
	strs := make([]string, len(b.fields))
	for _, f := range b.fields {
		k := f.name
		if vv := h[k]; vv != nil {
			h[k] = append(vv, f.value)
			continue
		}
		vv := strs[:1:1]
		strs = strs[1:]
		vv[0] = f.value
		h[k] = vv
	}
	return h
}

// validWireName reports a valid HTTP/2 field name: a token in lower case.
func validWireName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// canonicalKeys maps the lower-case names of common headers to their
// canonical form, so that decoding them allocates nothing.
var canonicalKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range wire.CommonKeys() {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// keyCache remembers the canonical form of the field names a connection
// decoded lately, so that the common case costs a string comparison, not
// a map lookup, and an uncommon name is canonicalized once.
type keyCache [64]struct{ name, key string }

func (c *keyCache) canonical(name string) string {
	h := len(name)
	if h > 0 {
		h = h*31 + int(name[0]) + 7*int(name[len(name)-1])
	}
	e := &c[h&(len(c)-1)]
	if e.name == name && e.key != "" {
		return e.key
	}
	k, ok := canonicalKeys[name]
	if !ok {
		k = http.CanonicalHeaderKey(name)
	}
	e.name, e.key = name, k
	return k
}

// statusLines holds "<code> <reason>" for the codes net/http names.
var statusLines = func() (t [600]string) {
	for code := range t {
		if text := http.StatusText(code); text != "" {
			t[code] = strconv.Itoa(code) + " " + text
		}
	}
	return t
}()

func statusLine(code int, status string) string {
	if code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return status
}

// parseStatus reads a :status value: three digits.
func parseStatus(s string) (int, bool) {
	if len(s) != 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 100
}
