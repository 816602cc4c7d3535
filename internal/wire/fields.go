package wire

import (
	"bytes"
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

// parseFields appends to fields the header fields of block, which holds
// field lines up to and including the empty line that ends them, and
// validates them as net/textproto.Reader.ReadMIMEHeader does: the first line
// must not start with a space, every field line needs a colon after a
// non-empty name of token bytes or spaces, values may hold only HTAB, SP,
// VCHAR and obs-text bytes, and a line starting with SP or HTAB continues the
// previous one. With crlf set, every line must end in "\r\n".
//
// Stricter than net/http: a field name with a space whose trimmed name is
// Content-Length or Transfer-Encoding is an error, not an unrelated field.
func parseFields(block []byte, fields []field, crlf bool) ([]field, error) {
	if len(block) > 0 && isOWS(block[0]) {
		line, _ := cutLine(block, 0)
		return fields, protoErr("malformed header line %q", line)
	}
	var scratch [maxCommonKey]byte
	for pos := 0; ; {
		line, next := cutLine(block, pos)
		if crlf && next-pos-len(line) != 2 {
			return fields, protoErr("trailer line %q not terminated by CRLF", line)
		}
		if len(line) == 0 {
			return fields, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fields, protoErr("malformed header line %q", line)
		}
		f := field{ks: pos, ke: pos + colon, vs: pos + colon + 1, ve: pos + len(line)}
		if !validValue(block[f.vs:f.ve]) {
			return fields, protoErr("malformed header line %q", line)
		}
		for f.vs < f.ve && isOWS(block[f.vs]) {
			f.vs++
		}
		for f.ve > f.vs && isOWS(block[f.ve-1]) {
			f.ve--
		}
		f.cs = next
		for isOWS(block[next]) {
			cont, after := cutLine(block, next)
			if crlf && after-next-len(cont) != 2 {
				return fields, protoErr("trailer line %q not terminated by CRLF", cont)
			}
			if !validValue(cont) {
				return fields, protoErr("malformed header line %q", line)
			}
			next = after
		}
		f.ce = next

		key := line[:colon]
		for _, c := range key {
			if !validKeyByte(c) {
				if c != ' ' {
					return fields, protoErr("malformed header line %q", line)
				}
				f.raw = true
			}
		}
		if f.raw {
			name := bytes.TrimRight(key, " ")
			if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("Transfer-Encoding")) {
				return fields, protoErr("whitespace in header name %q", key)
			}
		} else if len(key) <= len(scratch) {
			canon := scratch[:len(key)]
			canonicalize(canon, key)
			f.key = commonKeys[string(canon)]
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
// hold. A folded value is joined the way
// net/textproto does it: each continuation line, trimmed, after one space.
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
			cont, pos = cutLine(block, pos)
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

func (f *field) keyIn(s string) string {
	if f.key != "" {
		return f.key
	}
	return s[f.ks:f.ke]
}

// canonicalize writes to dst the canonical form of key, a valid token:
// upper case at the start and after each hyphen, lower case elsewhere.
func canonicalize(dst, key []byte) {
	upper := true
	for i, c := range key {
		dst[i] = canonicalByte(c, upper)
		upper = c == '-'
	}
}

func writeCanonical(sb *strings.Builder, key []byte) {
	upper := true
	for _, c := range key {
		sb.WriteByte(canonicalByte(c, upper))
		upper = c == '-'
	}
}

func canonicalByte(c byte, upper bool) byte {
	if upper && 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	if !upper && 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// validValue reports whether v holds only bytes a field value may hold:
// HTAB, SP, VCHAR and obs-text (RFC 9110 section 5.5).
func validValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validKeyByte reports whether c is a token byte (RFC 9110 section 5.6.2).
func validKeyByte(c byte) bool {
	return int(c) < len(isTokenByte) && isTokenByte[c]
}

var isTokenByte = [127]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true, '*': true,
	'+': true, '-': true, '.': true, '^': true, '_': true, '`': true, '|': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true,
	'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true,
	'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true,
	'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true,
	's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}
