package httppool

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"
)

// defaultUserAgent is net/http's, so servers treat httppool as they treat Go.
const defaultUserAgent = "Go-http-client/1.1"

// requestBodyError is a failure to read the caller's request body, as
// opposed to a failure of the connection; it is never retried.
type requestBodyError struct{ err error }

func (e *requestBodyError) Error() string { return "httppool: reading request body: " + e.err.Error() }
func (e *requestBodyError) Unwrap() error { return e.err }

// validateRequest rejects what net/http's Transport rejects before sending,
// so that a request that cannot be written never takes a connection.
func validateRequest(req *http.Request) error {
	if req.Method != "" && !validMethod(req.Method) {
		return fmt.Errorf("httppool: invalid method %q", req.Method)
	}
	if len(req.Header) == 0 && len(req.Trailer) == 0 {
		return nil // starting a map iteration costs more than this check
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("httppool: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("httppool: invalid header field value for %q", k)
			}
		}
	}
	for k := range req.Trailer {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("httppool: invalid trailer field name %q", k)
		}
	}
	return nil
}

func validMethod(m string) bool {
	return len(m) > 0 && strings.IndexFunc(m, func(r rune) bool { return !httpguts.IsTokenRune(r) }) == -1
}

// outgoingLength is the request body's length, -1 if unknown (sent chunked).
func outgoingLength(req *http.Request) int64 {
	if req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	if req.ContentLength != 0 {
		return req.ContentLength
	}
	return -1
}

// headOptions is what the Transport adds to a request's head.
type headOptions struct {
	gzip    bool        // ask for gzip: "Accept-Encoding: gzip"
	forward *proxyRoute // to a forwarding proxy: absolute form and its credentials
	close   bool        // the connection closes after this request: "Connection: close"
	host    *hostMemo   // the last Host validated, which need not be validated again
}

// hostMemo remembers a Host value and what requestHost made of it: the
// requests through one set of connection buffers nearly always carry the
// same one.
type hostMemo struct{ in, out string }

// writeRequestHead writes the request line and header block to w, as
// Request.Write does for a client: Host, User-Agent, framing headers, and
// what opts adds. The head is assembled in w's free space and written in one
// call; only a head larger than that space costs an allocation.
func writeRequestHead(w *bufio.Writer, req *http.Request, opts headOptions) (err error) {
	fwd := opts.forward
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if m := opts.host; m != nil && m.in == host && host != "" {
		host = m.out
	} else {
		in := host
		if host, err = requestHost(host); err != nil {
			return err
		}
		if m != nil {
			*m = hostMemo{in, host}
		}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	b := w.AvailableBuffer()
	b = append(b, method...)
	b = append(b, ' ')
	if fwd != nil {
		b = append(b, req.URL.Scheme...)
		b = append(b, "://"...)
		b = append(b, req.URL.Host...)
	}
	b = appendRequestURI(b, req, host)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)

	if ua, ok := req.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: "+defaultUserAgent+"\r\n"...)
	} else if len(ua) > 0 && ua[0] != "" {
		b = appendHeaderLine(b, "User-Agent", ua[0])
	}
	n := outgoingLength(req)
	switch {
	case n > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, "\r\n"...)
	case n < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		if len(req.Trailer) > 0 {
			keys := make([]string, 0, len(req.Trailer))
			for k := range req.Trailer {
				keys = append(keys, http.CanonicalHeaderKey(k))
			}
			b = appendHeaderLine(b, "Trailer", strings.Join(keys, ","))
		}
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		b = append(b, "Content-Length: 0\r\n"...)
	}
	if fwd != nil && fwd.auth != "" && len(req.Header["Proxy-Authorization"]) == 0 {
		b = appendHeaderLine(b, "Proxy-Authorization", fwd.auth)
	}
	if (req.Close || opts.close) && !hasToken(req.Header["Connection"], "close") {
		b = append(b, "Connection: close\r\n"...)
	}
	if len(req.Header) > 0 { // ranging over even an empty map costs: see validateRequest
		for k, vv := range req.Header {
			switch k {
			case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
				continue
			}
			for _, v := range vv {
				b = appendHeaderLine(b, k, v)
			}
		}
	}
	if opts.gzip {
		b = append(b, "Accept-Encoding: gzip\r\n"...)
	}
	b = append(b, "\r\n"...)
	_, err = w.Write(b)
	return err
}

func appendHeaderLine(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, strings.TrimSpace(v)...)
	return append(b, "\r\n"...)
}

// appendRequestURI appends the origin-form request target without building
// the string that URL.RequestURI would allocate.
func appendRequestURI(b []byte, req *http.Request, host string) []byte {
	u := req.URL
	switch {
	case req.Method == http.MethodConnect && u.Path == "":
		return append(b, host...)
	case u.Opaque != "" || u.Scheme == "" && u.Host == "" && u.Path == "":
		return append(b, u.RequestURI()...)
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b = append(b, p...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

// requestHost validates a Host header value, converting an international
// name to its ASCII form and dropping an IPv6 zone, as net/http does.
func requestHost(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			h, port := host, ""
			if j := strings.LastIndexByte(host, ':'); j > strings.LastIndexByte(host, ']') {
				h, port = host[:j], host[j:]
			}
			a, err := idna.Lookup.ToASCII(h)
			if err != nil {
				return "", fmt.Errorf("httppool: invalid Host header %q: %v", host, err)
			}
			host = a + port
			break
		}
	}
	if !httpguts.ValidHostHeader(host) {
		return "", fmt.Errorf("httppool: invalid Host header %q", host)
	}
	if strings.HasPrefix(host, "[") {
		if i := strings.LastIndex(host, "]"); i > 0 {
			if z := strings.LastIndex(host[:i], "%"); z > 0 {
				host = host[:z] + host[i:]
			}
		}
	}
	return host, nil
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeRequestBody writes and closes req.Body, framed by Content-Length or
// chunked encoding, then flushes w. A failure to read the body is a
// *requestBodyError; any other error is the connection's.
func writeRequestBody(w *bufio.Writer, req *http.Request) error {
	body := req.Body
	defer body.Close()
	n := outgoingLength(req)
	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)
	buf := *bufp
	if n > 0 {
		copied, err := copyBody(w, io.LimitReader(body, n), buf)
		if err != nil {
			return err
		}
		if copied < n {
			return &requestBodyError{fmt.Errorf("ContentLength=%d with Body length %d", n, copied)}
		}
		var one [1]byte
		if m, _ := body.Read(one[:]); m > 0 {
			return &requestBodyError{fmt.Errorf("ContentLength=%d with a longer Body", n)}
		}
		return w.Flush()
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := copyBody(cw, body, buf); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	b := w.AvailableBuffer()
	for k, vv := range req.Trailer {
		for _, v := range vv {
			b = appendHeaderLine(b, k, v)
		}
	}
	b = append(b, "\r\n"...)
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// copyBody copies src to dst, telling read failures from write failures.
func copyBody(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var written int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, &requestBodyError{rerr}
		}
	}
}

// expectsContinue reports whether req asks for "100 Continue" before its body.
func expectsContinue(req *http.Request) bool {
	return hasToken(req.Header["Expect"], "100-continue")
}

// wantsGzip reports whether the Transport asks for gzip on req's behalf and
// so decompresses its response, by net/http's rules.
func (c *core) wantsGzip(req *http.Request) bool {
	return !c.cfg.DisableCompression &&
		len(req.Header["Accept-Encoding"]) == 0 &&
		len(req.Header["Range"]) == 0 &&
		req.Method != http.MethodHead
}

// hasToken reports whether a comma-separated header holds token, ignoring case.
func hasToken(values []string, token string) bool {
	return httpguts.HeaderValuesContainsToken(values, token)
}
