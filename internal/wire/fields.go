package wire

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
)

// field locates one header field line (with its continuation lines) in a
// header block. parseFields fills it with offsets into the block;
// writeFields rewrites them as offsets into the block's string.
type field struct {
	key    string // interned canonical key, or "" when the key is at ks:ke
	ks, ke int    // key bytes, canonicalized when copied unless raw
	raw    bool   // key holds a space, so it is kept as sent, as net/http does
	vs, ve int    // value on the first line, leading and trailing space trimmed
	cs, ce int    // continuation lines (obsolete line folding); none if cs == ce
}

// stackFields is how many fields the callers keep on the stack.
const stackFields = 32

// parseFields appends to fields the header fields at the start of b, up to
// and including the empty line that ends them, and returns that line's end.
// It validates them as net/textproto.Reader.ReadMIMEHeader does: the first
// line must not start with a space, every field line needs a colon after a
// non-empty name of token bytes or spaces, values may hold only HTAB, SP,
// VCHAR and obs-text bytes, and a line starting with SP or HTAB continues the
// previous one. With crlf set, every line must end in "\r\n". If b ends
// before the empty line, and holds no error before that, parseFields returns
// errIncomplete.
//
// Stricter than net/http: a field name with a space whose trimmed name is
// Content-Length or Transfer-Encoding is an error, not an unrelated field.
func parseFields(b []byte, fields []field, crlf bool) (_ []field, end int, err error) {
	if len(b) > 0 && isOWS(b[0]) {
		line, _, _ := cutLine(b, 0)
		return fields, 0, protoErr("malformed header line %q", line)
	}
	var scratch [maxCommonKey]byte // canonical key, if it may be interned
	for pos := 0; ; {
		line, next, ok := cutLine(b, pos)
		if !ok {
			return fields, 0, errIncomplete
		}
		if crlf && next-pos-len(line) != 2 {
			return fields, 0, protoErr("trailer line %q not terminated by CRLF", line)
		}
		if len(line) == 0 {
			return fields, next, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fields, 0, protoErr("malformed header line %q", line)
		}
		f := field{ks: pos, ke: pos + colon, vs: pos + colon + 1, ve: pos + len(line)}
		if !validValue(b[f.vs:f.ve]) {
			return fields, 0, protoErr("malformed header line %q", line)
		}
		for f.vs < f.ve && isOWS(b[f.vs]) {
			f.vs++
		}
		for f.ve > f.vs && isOWS(b[f.ve-1]) {
			f.ve--
		}
		f.cs = next
		for {
			if next == len(b) {
				return fields, 0, errIncomplete
			}
			if !isOWS(b[next]) {
				break
			}
			cont, after, ok := cutLine(b, next)
			if !ok {
				return fields, 0, errIncomplete
			}
			if crlf && after-next-len(cont) != 2 {
				return fields, 0, protoErr("trailer line %q not terminated by CRLF", cont)
			}
			if !validValue(cont) {
				return fields, 0, protoErr("malformed header line %q", line)
			}
			next = after
		}
		f.ce = next

		// Validate the key and canonicalize it into scratch in one pass.
		key := line[:colon]
		upper := true
		for i, c := range key {
			switch keyClass[c] {
			case keyLower:
				if upper {
					c -= 'a' - 'A'
				}
			case keyUpper:
				if !upper {
					c += 'a' - 'A'
				}
			case keyOther:
			case keySpace:
				f.raw = true
			default:
				return fields, 0, protoErr("malformed header line %q", line)
			}
			if i < len(scratch) {
				scratch[i] = c
			}
			upper = c == '-'
		}
		if f.raw {
			name := bytes.TrimRight(key, " ")
			if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("Transfer-Encoding")) {
				return fields, 0, protoErr("whitespace in header name %q", key)
			}
		} else if len(key) <= len(scratch) {
			f.key = commonKeys.lookup(scratch[:len(key)])
		}
		fields = append(fields, f)
		pos = next
	}
}

// fieldsSize bounds the bytes writeFields copies: values, plus keys that are
// not interned. Folded values shrink when joined, so the raw size bounds them.
func fieldsSize(fields []field) int {
	n := 0
	for i := range fields {
		f := &fields[i]
		if f.key == "" {
			n += f.ke - f.ks
		}
		n += f.ve - f.vs + f.ce - f.cs
	}
	return n
}

// writeFields copies the canonical keys and the values of fields from block
// into sb and rewrites the fields' offsets to point into the string sb will
// hold. A folded value is joined the way net/textproto joins it: each
// continuation line, trimmed, after one space.
func writeFields(sb *strings.Builder, block []byte, fields []field) {
	for i := range fields {
		f := &fields[i]
		if f.key == "" {
			key := block[f.ks:f.ke]
			f.ks = sb.Len()
			if f.raw {
				sb.Write(key)
			} else {
				writeCanonical(sb, key)
			}
			f.ke = sb.Len()
		}
		vs := sb.Len()
		sb.Write(block[f.vs:f.ve])
		for pos, started := f.cs, f.ve > f.vs; pos < f.ce; {
			var cont []byte
			cont, pos, _ = cutLine(block, pos)
			cont = bytes.Trim(cont, " \t")
			if started {
				sb.WriteByte(' ')
			}
			if len(cont) > 0 {
				sb.Write(cont)
				started = true
			}
		}
		f.vs, f.ve = vs, sb.Len()
	}
}

// makeHeader builds the header map of fields, whose offsets point into s.
// All values share one backing array, with the values of a key adjacent and
// capped so that appending to one key's slice cannot overwrite another's;
// beyond 64 fields, a repeated key costs an allocation instead. The extra
// slots of the array after the values are returned for the caller's use.
func makeHeader(s string, fields []field, extra int) (http.Header, []string) {
	n := len(fields)
	strs := make([]string, n+extra)
	h := make(http.Header, n)
	if n <= 64 {
		var grouped uint64
		used := 0
		for i := range fields {
			if grouped&(1<<i) != 0 {
				continue
			}
			k := fields[i].keyIn(s)
			start := used
			strs[used] = s[fields[i].vs:fields[i].ve]
			used++
			for j := i + 1; j < n; j++ {
				if grouped&(1<<j) == 0 && fields[j].keyIn(s) == k {
					strs[used] = s[fields[j].vs:fields[j].ve]
					used++
					grouped |= 1 << j
				}
			}
			h[k] = strs[start:used:used]
		}
	} else {
		for i := range fields {
			k, v := fields[i].keyIn(s), s[fields[i].vs:fields[i].ve]
			if vv, ok := h[k]; ok {
				h[k] = append(vv, v)
			} else {
				strs[i] = v
				h[k] = strs[i : i+1 : i+1]
			}
		}
	}
	return h, strs[n:]
}

// keyIn returns the key of f, whose offsets point into s.
func (f *field) keyIn(s string) string {
	if f.key != "" {
		return f.key
	}
	return s[f.ks:f.ke]
}

// writeCanonical writes key, a token, in canonical form: upper case at the
// start and after each hyphen, lower case elsewhere.
func writeCanonical(sb *strings.Builder, key []byte) {
	upper := true
	for _, c := range key {
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		sb.WriteByte(c)
		upper = c == '-'
	}
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS trims spaces and tabs, and no other white space: net/http does not
// trim, say, a non-breaking space, which is valid obs-text in a value.
func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// validValue reports whether v holds only bytes a field value may hold:
// HTAB, SP, VCHAR and obs-text (RFC 9110 section 5.5).
func validValue(v []byte) bool {
	// Test eight bytes at a time for a control byte (below 0x20, or 0x7f),
	// and only look closer at words that hold one, since it may be a tab.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		y := x ^ 0x7f*ones
		if (x-0x20*ones)&^x&highs != 0 || (y-ones)&^y&highs != 0 {
			if !validValueBytes(v[:8]) {
				return false
			}
		}
		v = v[8:]
	}
	return validValueBytes(v)
}

func validValueBytes(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Classes of bytes in a field name.
const (
	keyInvalid = iota
	keyLower   // a to z
	keyUpper   // A to Z
	keyOther   // other token bytes (RFC 9110 section 5.6.2)
	keySpace   // accepted, as net/http does, but then the key is not canonicalized
)

var keyClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = keyLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = keyUpper
	}
	for _, c := range []byte("0123456789!#$%&'*+-.^_`|~") {
		t[c] = keyOther
	}
	t[' '] = keySpace
	return t
}()
