package wire

import (
	"net/http"
	"strconv"
)

// Interned strings let the common status lines and header names of a
// response cost no allocation and no map access.
var (
	commonKeys   = newInternTable(commonKeyList...)
	commonStatus = newInternTable(statusList()...)
)

var commonKeyList = []string{
	"Accept-Ranges",
	"Access-Control-Allow-Credentials",
	"Access-Control-Allow-Headers",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Origin",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
	"Age",
	"Allow",
	"Alt-Svc",
	"Cache-Control",
	"Cf-Cache-Status",
	"Cf-Ray",
	"Connection",
	"Content-Disposition",
	"Content-Encoding",
	"Content-Language",
	"Content-Length",
	"Content-Location",
	"Content-Range",
	"Content-Security-Policy",
	"Content-Type",
	"Cross-Origin-Opener-Policy",
	"Cross-Origin-Resource-Policy",
	"Date",
	"Etag",
	"Expires",
	"Keep-Alive",
	"Last-Modified",
	"Link",
	"Location",
	"Nel",
	"P3p",
	"Permissions-Policy",
	"Pragma",
	"Proxy-Authenticate",
	"Referrer-Policy",
	"Report-To",
	"Retry-After",
	"Server",
	"Server-Timing",
	"Set-Cookie",
	"Strict-Transport-Security",
	"Timing-Allow-Origin",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
	"Vary",
	"Via",
	"Warning",
	"Www-Authenticate",
	"X-Cache",
	"X-Content-Type-Options",
	"X-Frame-Options",
	"X-Powered-By",
	"X-Request-Id",
	"X-Xss-Protection",
}

// maxCommonKey is at least the length of the longest of commonKeyList, so
// that a longer key can skip the lookup.
const maxCommonKey = 40

// statusList returns "<code> <reason>" for every code net/http names, plus
// reason phrases that popular servers spell differently.
func statusList() []string {
	list := []string{
		"302 Moved Temporarily",
		"413 Request Entity Too Large",
		"414 Request-URI Too Large",
		"416 Requested Range Not Satisfiable",
	}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			list = append(list, strconv.Itoa(code)+" "+text)
		}
	}
	return list
}

// internTable is an open-addressing set of strings, cheaper to probe than a
// map because its hash reads only a few bytes of the key.
type internTable struct {
	slots [512]string
}

const internMask = len(internTable{}.slots) - 1

func newInternTable(list ...string) *internTable {
	t := new(internTable)
	if len(list) > len(t.slots)/2 {
		panic("wire: intern table too small")
	}
	for _, s := range list {
		if len(s) > maxCommonKey {
			panic("wire: maxCommonKey too small for " + s)
		}
		i := internHash([]byte(s))
		for t.slots[i] != "" {
			i = (i + 1) & internMask
		}
		t.slots[i] = s
	}
	return t
}

// lookup returns the interned string equal to b, or "" if there is none.
func (t *internTable) lookup(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for i := internHash(b); ; i = (i + 1) & internMask {
		s := t.slots[i]
		if s == "" || s == string(b) {
			return s
		}
	}
}

// internHash mixes the length and the bytes that tell common keys and status
// lines apart: the first three (status digits) and the last. b is not empty.
func internHash(b []byte) int {
	h := uint(len(b))
	h = h*31 + uint(b[0])
	h = h*31 + uint(b[len(b)-1])
	if len(b) >= 3 {
		h = h*31 + uint(b[1])
		h = h*31 + uint(b[2])
	}
	h ^= h >> 7
	return int(h) & internMask
}

// CommonKeys returns the canonical header names the parser interns, so
// that other protocols' decoders can share them.
func CommonKeys() []string { return commonKeyList }
