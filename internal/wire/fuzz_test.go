package wire

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"testing"
)

// allowedDivergences lists the errors ReadHead and ChunkedReader may return
// where net/http accepts the input: each is a deliberate stricter rule.
var allowedDivergences = []struct {
	msg    *regexp.Regexp // matches our error message
	reason string
}{
	{
		regexp.MustCompile("both Transfer-Encoding and Content-Length"),
		"RFC 9112 section 6.3 says to treat it as an error; net/http drops Content-Length, " +
			"and guessing the length wrong desynchronizes a pooled connection",
	},
	{
		regexp.MustCompile("whitespace in header name"),
		`net/http keeps "Content-Length :" as an unrelated field; ` +
			"a server that meant it as framing would desynchronize the connection",
	},
	{
		regexp.MustCompile(`malformed status code "[+-]`),
		`net/http's strconv.Atoi accepts a sign, as in "+99" or "-00"; RFC 9112 requires three digits`,
	},
	{
		regexp.MustCompile("not terminated by CRLF"),
		"net/http finds a trailer's end by looking for CRLF CRLF but parses bare-LF lines, " +
			"so its two views of where the body ends can differ",
	},
}

// fuzzSeeds are real-looking responses, several with a pipelined one after.
var fuzzSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nServer: nginx/1.25.3\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Content-Type: text/html\r\nContent-Length: 12\r\nConnection: keep-alive\r\n" +
		"ETag: \"65a1-5\"\r\nAccept-Ranges: bytes\r\n\r\n<html></html>",
	"HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: Apache/2.4.58 (Unix)\r\n" +
		"Last-Modified: Mon, 11 Jun 2007 18:53:14 GMT\r\nVary: Accept-Encoding\r\n" +
		"Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n" +
		"Transfer-Encoding: chunked\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n" +
		"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires, X-Sum\r\n\r\n" +
		"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabcHTTP/1.0 200 OK\r\n\r\n",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
	"HTTP/1.1   404   Not Found  \r\nX-Folded: a\r\n  b\r\n\tc\r\n \r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nFoo : bar\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx_odd-KEY: v\r\n\r\nbody",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/0.9 200 OK\r\n\r\n",
	"HTTP/1.1 +20 OK\r\n\r\n",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\n X: leading space\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: bad\x01value\r\n\r\n",
	"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
	"HTTP/1.1 200 OK\r\n: empty key\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: obs-text \xe9\xa0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5",
	"",
	"HTTP/1.1",
	"garbage\r\n\r\n",
}

func FuzzReadResponseDifferential(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(false, false, []byte(s))
		f.Add(true, false, []byte(s))
		f.Add(false, true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, head, smallBuffer bool, data []byte) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		size := 4096
		if smallBuffer {
			size = 16 // bufio's minimum: lines straddle fills, long lines overflow
		}
		checkDifferential(t, method, size, data)
	})
}

// checkDifferential checks that ReadHead and ChunkedReader agree with
// http.ReadResponse and its Body on data, except for allowedDivergences.
func checkDifferential(t *testing.T, method string, size int, data []byte) {
	t.Helper()
	ref, refErr := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(data), size), &http.Request{Method: method})
	br := bufio.NewReaderSize(bytes.NewReader(data), size)
	var got http.Response
	kind, err := ReadHead(br, method, 0, &got)
	checkCached(t, method, size, data, kind, err, &got)
	if refErr != nil {
		if err == nil {
			t.Fatalf("%s %q: accepted, net/http: %v", method, data, refErr)
		}
		return
	}
	if err != nil {
		checkAllowed(t, method, data, err)
		return
	}

	want, have := headOf(ref), headOf(&got)
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("%s %q:\n got %+v\nwant %+v", method, data, have, want)
	}

	refBody, refBodyErr := io.ReadAll(ref.Body)
	body, bodyErr := readBody(br, kind, &got)
	if refBodyErr != nil {
		if bodyErr == nil {
			t.Fatalf("%s %q: %v body accepted, net/http: %v", method, data, kind, refBodyErr)
		}
		return
	}
	if bodyErr != nil {
		checkAllowed(t, method, data, bodyErr)
		return
	}
	if !bytes.Equal(body, refBody) {
		t.Fatalf("%s %q: %v body %q, want %q", method, data, kind, body, refBody)
	}
	if !sameHeader(got.Trailer, ref.Trailer) {
		t.Fatalf("%s %q: trailer %v, want %v", method, data, got.Trailer, ref.Trailer)
	}
}

// checkCached reads data's head three times through one HeadCache, the
// last two from the cache, and requires what ReadHead gave (kind, err,
// want) every time, though the caller changes each response's header.
func checkCached(t *testing.T, method string, size int, data []byte, kind BodyKind, err error, want *http.Response) {
	t.Helper()
	var c HeadCache
	for i := range 3 {
		var got http.Response
		k, e := c.ReadHead(bufio.NewReaderSize(bytes.NewReader(data), size), method, 0, &got)
		if (e == nil) != (err == nil) || e != nil && e.Error() != err.Error() {
			t.Fatalf("%s %q: read %d through a HeadCache: error %v, ReadHead: %v", method, data, i+1, e, err)
		}
		if e != nil {
			return
		}
		if k != kind || !reflect.DeepEqual(headOf(&got), headOf(want)) {
			t.Fatalf("%s %q: read %d through a HeadCache:\n got %v %+v\nwant %v %+v", method, data, i+1, k, headOf(&got), kind, headOf(want))
		}
		for _, vv := range got.Header {
			for j := range vv {
				vv[j] = "changed by the caller"
			}
		}
		got.Header["X-Added-By-Caller"] = []string{"x"}
	}
}

// respHead is what ReadHead fills in a response.
type respHead struct {
	Status           string
	StatusCode       int
	Proto            string
	ProtoMajor       int
	ProtoMinor       int
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Trailer          http.Header
}

func headOf(r *http.Response) respHead {
	return respHead{r.Status, r.StatusCode, r.Proto, r.ProtoMajor, r.ProtoMinor,
		r.Header, r.ContentLength, r.TransferEncoding, r.Close, r.Trailer}
}

// readBody reads a body the way the engine does.
func readBody(br *bufio.Reader, kind BodyKind, resp *http.Response) ([]byte, error) {
	switch kind {
	case LengthBody:
		b, err := io.ReadAll(io.LimitReader(br, resp.ContentLength))
		if err == nil && int64(len(b)) < resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	case ChunkedBody:
		var cr ChunkedReader
		cr.Reset(br, &resp.Trailer, 0)
		return io.ReadAll(&cr)
	case CloseBody:
		return io.ReadAll(br)
	}
	return nil, nil
}

func checkAllowed(t *testing.T, method string, data []byte, err error) {
	t.Helper()
	for _, d := range allowedDivergences {
		if d.msg.MatchString(err.Error()) {
			return
		}
	}
	t.Fatalf("%s %q: %v, net/http accepts it", method, data, err)
}

// sameHeader is reflect.DeepEqual, except that nil and empty are equal.
func sameHeader(a, b http.Header) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
