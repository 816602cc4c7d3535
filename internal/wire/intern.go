package wire

import (
	"net/http"
	"strconv"
)

// Interned strings let the common status lines and header names of a
// response cost no allocation: a lookup with string(b) as the key does not
// copy b.
var (
	commonKeys   = internKeys()
	commonStatus = internStatus()
)

// maxCommonKey is at least the length of the longest key in commonKeys, so
// that a longer key can skip the lookup.
const maxCommonKey = 40

func internKeys() map[string]string {
	keys := []string{
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
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		if len(k) > maxCommonKey {
			panic("wire: maxCommonKey too small for " + k)
		}
		m[k] = k
	}
	return m
}

// internStatus interns "<code> <reason>" for every code net/http names,
// plus reason phrases that popular servers spell differently.
func internStatus() map[string]string {
	m := make(map[string]string)
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			s := strconv.Itoa(code) + " " + text
			m[s] = s
		}
	}
	for _, s := range []string{
		"302 Moved Temporarily",
		"413 Request Entity Too Large",
		"414 Request-URI Too Large",
		"416 Requested Range Not Satisfiable",
	} {
		m[s] = s
	}
	return m
}
