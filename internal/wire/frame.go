package wire

import (
	"math"
	"net/http"
	"strings"
)

// framingKeys is a set of the header keys that frame reads.
type framingKeys uint8

const (
	hasPragma framingKeys = 1 << iota
	hasConnection
	hasTransferEncoding
	hasContentLength
	hasTrailer
)

// framingKey returns the bit of key, an interned key or "", in framingKeys.
// frame relies on these keys being interned by parseFields.
func framingKey(key string) framingKeys {
	switch key {
	case "Pragma":
		return hasPragma
	case "Connection":
		return hasConnection
	case "Transfer-Encoding":
		return hasTransferEncoding
	case "Content-Length":
		return hasContentLength
	case "Trailer":
		return hasTrailer
	}
	return 0
}

// values returns h[key] if present holds bit, and nil without a map access
// otherwise.
func (present framingKeys) values(h http.Header, bit framingKeys, key string) []string {
	if present&bit == 0 {
		return nil
	}
	return h[key]
}

// frame applies net/http's body framing rules (readTransfer in
// net/http/transfer.go) to a parsed head, editing resp.Header the way
// net/http does, and returns how the body is delimited. te is a slot for
// resp.TransferEncoding; present says which framing keys resp.Header holds,
// so that absent ones cost no map access.
//
// Stricter than net/http: Transfer-Encoding together with Content-Length is
// an error when the response has a body.
func frame(resp *http.Response, method string, te []string, present framingKeys) (BodyKind, error) {
	h := resp.Header
	// RFC 9111 section 5.4: treat Pragma: no-cache as Cache-Control: no-cache.
	if p := present.values(h, hasPragma, "Pragma"); len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	resp.Close = shouldClose(resp.ProtoMajor, resp.ProtoMinor, h, present.values(h, hasConnection, "Connection"))

	chunked := false
	hasTE := present&hasTransferEncoding != 0
	if hasTE {
		teValues := h["Transfer-Encoding"]
		delete(h, "Transfer-Encoding")
		// Transfer-Encoding is ignored before HTTP/1.1; "HTTP/0.0" counts as
		// HTTP/1.1, as in net/http.
		major, minor := resp.ProtoMajor, resp.ProtoMinor
		if major == 0 && minor == 0 {
			major, minor = 1, 1
		}
		if major > 1 || major == 1 && minor >= 1 {
			if len(teValues) != 1 {
				return NoBody, &ProtocolError{Msg: "too many Transfer-Encoding headers"}
			}
			if !EqualFold(teValues[0], "chunked") {
				return NoBody, &ProtocolError{Msg: "unsupported Transfer-Encoding " + quote(teValues[0])}
			}
			chunked = true
		}
	}

	hasBody := method != "HEAD" && bodyAllowedForStatus(resp.StatusCode)
	cl := present.values(h, hasContentLength, "Content-Length")
	if hasTE && len(cl) > 0 && hasBody {
		// RFC 9112 section 6.3 says such a message "ought to be handled as
		// an error"; net/http drops Content-Length instead. Whichever length
		// the server meant, guessing wrong desynchronizes the connection.
		return NoBody, &ProtocolError{Msg: "both Transfer-Encoding and Content-Length"}
	}
	if len(cl) > 1 {
		// Repeated equal values are one value (RFC 9110 section 8.6).
		first := trimOWS(cl[0])
		for _, v := range cl[1:] {
			if trimOWS(v) != first {
				return NoBody, &ProtocolError{Msg: "conflicting Content-Length values " + quote(strings.Join(cl, ", "))}
			}
		}
		cl[0] = first
		cl = cl[:1:1]
		h["Content-Length"] = cl
	}
	length := int64(-1)
	if len(cl) > 0 {
		n, ok := parseContentLength(cl[0])
		if !ok {
			return NoBody, &ProtocolError{Msg: "invalid Content-Length " + quote(cl[0])}
		}
		length = n
	}

	trailer, err := declaredTrailer(h, present.values(h, hasTrailer, "Trailer"), chunked)
	if err != nil {
		return NoBody, err
	}
	resp.Trailer = trailer
	resp.TransferEncoding = nil
	if chunked {
		te[0] = "chunked"
		resp.TransferEncoding = te
	}

	switch {
	case !hasBody:
		// A HEAD response reports the length a GET would have had.
		resp.ContentLength = 0
		if method == "HEAD" {
			resp.ContentLength = length
		}
		return NoBody, nil
	case chunked:
		resp.ContentLength = -1
		return ChunkedBody, nil
	case length == 0:
		resp.ContentLength = 0
		return NoBody, nil
	case length > 0:
		resp.ContentLength = length
		return LengthBody, nil
	}
	resp.ContentLength = -1
	resp.Close = true
	return CloseBody, nil
}

// bodyAllowedForStatus reports whether a response with the status code may
// have a body (RFC 9112 section 6.3).
func bodyAllowedForStatus(code int) bool {
	return !(code >= 100 && code <= 199 || code == 204 || code == 304)
}

// shouldClose reports whether the connection closes after a response with
// Connection header values conn, and deletes a "Connection: close" header
// from HTTP/1.1 responses, as net/http does.
func shouldClose(major, minor int, h http.Header, conn []string) bool {
	if major < 1 {
		return true
	}
	hasClose := containsToken(conn, "close")
	if major == 1 && minor == 0 {
		return hasClose || !containsToken(conn, "keep-alive")
	}
	if hasClose {
		delete(h, "Connection")
	}
	return hasClose
}

// containsToken reports whether token is one of the comma-separated elements
// of values, ignoring ASCII case and surrounding spaces.
func containsToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			elem, rest, _ := strings.Cut(v, ",")
			if EqualFold(trimOWS(elem), token) {
				return true
			}
			v = rest
		}
	}
	return false
}

// EqualFold is strings.EqualFold for ASCII only: 'K' does not match the
// Kelvin sign, as header names and tokens want.
func EqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// parseContentLength parses a Content-Length value: decimal digits around
// optional spaces and tabs, at most math.MaxInt64.
func parseContentLength(s string) (int64, bool) {
	s = trimOWS(s)
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// declaredTrailer returns the keys a chunked response declares in its Trailer
// header (with values), with nil values, and deletes that header, as net/http does; it
// rejects keys that must not be trailers. Without chunking the header stays.
func declaredTrailer(h http.Header, values []string, chunked bool) (http.Header, error) {
	if values == nil || !chunked {
		return nil, nil
	}
	delete(h, "Trailer")
	var trailer http.Header
	for _, v := range values {
		for v != "" {
			elem, rest, _ := strings.Cut(v, ",")
			v = rest
			elem = trimOWS(elem)
			if elem == "" {
				continue
			}
			key := http.CanonicalHeaderKey(elem)
			switch key {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, &ProtocolError{Msg: "bad trailer key " + quote(key)}
			}
			if trailer == nil {
				trailer = make(http.Header)
			}
			trailer[key] = nil
		}
	}
	return trailer, nil
}

// parseStatusCode parses the three ASCII digits of a status code.
//
// Stricter than net/http, whose strconv.Atoi also takes "+12" and "-00".
func parseStatusCode(b []byte) (int, bool) {
	if len(b) != 3 {
		return 0, false
	}
	code := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, true
}

// parseVersion parses "HTTP/X.Y" with one decimal digit each, as
// http.ParseHTTPVersion does.
func parseVersion(b []byte) (major, minor int, ok bool) {
	if len(b) != len("HTTP/X.Y") || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false
	}
	return int(b[5] - '0'), int(b[7] - '0'), true
}
