package wire

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadHead(t *testing.T) {
	tests := []struct {
		name   string
		method string // "" means GET
		in     string
		kind   BodyKind
		want   http.Response // only the fields ReadHead sets
	}{
		{
			name: "content-length",
			in:   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}}, ContentLength: 5},
		},
		{
			name: "chunked with declared trailer",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: expires, x-sum\r\n\r\n0\r\n\r\n",
			kind: ChunkedBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{}, ContentLength: -1, TransferEncoding: []string{"chunked"},
				Trailer: http.Header{"Expires": nil, "X-Sum": nil}},
		},
		{
			name: "chunked ignores case",
			in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n",
			kind: ChunkedBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{}, ContentLength: -1, TransferEncoding: []string{"chunked"}},
		},
		{
			name: "1xx",
			in:   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "100 Continue", StatusCode: 100, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{}},
		},
		{
			name: "103 with content-length",
			in:   "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nContent-Length: 4\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "103 Early Hints", StatusCode: 103, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Link": {"</a.css>; rel=preload"}, "Content-Length": {"4"}}},
		},
		{
			name:   "HEAD with content-length",
			method: "HEAD",
			in:     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
			kind:   NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"1000"}}, ContentLength: 1000},
		},
		{
			name:   "HEAD without length",
			method: "HEAD",
			in:     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
			kind:   NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/html"}}, ContentLength: -1},
		},
		{
			name:   "HEAD chunked",
			method: "HEAD",
			in:     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			kind:   NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{}, ContentLength: -1, TransferEncoding: []string{"chunked"}},
		},
		{
			name: "204 ignores content-length",
			in:   "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "204 No Content", StatusCode: 204, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"7"}}},
		},
		{
			name: "304 with transfer-encoding",
			in:   "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nTransfer-Encoding: chunked\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "304 Not Modified", StatusCode: 304, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Etag": {`"x"`}}, TransferEncoding: []string{"chunked"}},
		},
		{
			name: "zero length",
			in:   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"0"}}},
		},
		{
			name: "HTTP/1.0 closes",
			in:   "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.0", ProtoMajor: 1, ProtoMinor: 0,
				Header: http.Header{"Content-Length": {"3"}}, ContentLength: 3, Close: true},
		},
		{
			name: "HTTP/1.0 keep-alive",
			in:   "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.0", ProtoMajor: 1, ProtoMinor: 0,
				Header: http.Header{"Connection": {"Keep-Alive"}, "Content-Length": {"3"}}, ContentLength: 3},
		},
		{
			name: "HTTP/1.0 ignores transfer-encoding",
			in:   "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
			kind: CloseBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.0", ProtoMajor: 1, ProtoMinor: 0,
				Header: http.Header{}, ContentLength: -1, Close: true},
		},
		{
			name: "connection close is removed",
			in:   "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 3\r\n\r\nabc",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"3"}}, ContentLength: 3, Close: true},
		},
		{
			name: "close-delimited",
			in:   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil EOF",
			kind: CloseBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/plain"}}, ContentLength: -1, Close: true},
		},
		{
			name: "repeated equal content-length",
			in:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length:  3 \r\n\r\nabc",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"3"}}, ContentLength: 3},
		},
		{
			name: "obsolete line folding",
			in:   "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b \r\n\tc\r\n \r\nX-Empty-Start:\r\n d\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"X-Folded": {"a b c "}, "X-Empty-Start": {"d"}, "Content-Length": {"0"}}},
		},
		{
			name: "bare LF",
			in:   "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"2"}}, ContentLength: 2},
		},
		{
			name: "canonical keys and odd values",
			in: "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nset-cookie: a=1\r\nX_odd-KEY:v\r\nSet-Cookie: b=2\r\n" +
				"Foo : spaced key\r\nX-Empty:\r\nX-Tabs:\t x \t\r\nX-Obs: \xe9t\xe9\r\n\r\nbody",
			kind: LengthBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"4"}, "Set-Cookie": {"a=1", "b=2"}, "X_odd-Key": {"v"},
					"Foo ": {"spaced key"}, "X-Empty": {""}, "X-Tabs": {"x"}, "X-Obs": {"\xe9t\xe9"}},
				ContentLength: 4},
		},
		{
			name: "odd status lines",
			in:   "HTTP/1.1   404   Not  Found \r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "404   Not  Found ", StatusCode: 404, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"0"}}},
		},
		{
			name: "no reason phrase",
			in:   "HTTP/1.1 299\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "299", StatusCode: 299, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Length": {"0"}}},
		},
		{
			name: "other versions",
			in:   "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/2.0", ProtoMajor: 2, ProtoMinor: 0,
				Header: http.Header{"Content-Length": {"0"}}},
		},
		{
			name: "pragma no-cache",
			in:   "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}, "Content-Length": {"0"}}},
		},
		{
			name: "trailer header kept without chunking",
			in:   "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nContent-Length: 0\r\n\r\n",
			kind: NoBody,
			want: http.Response{Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Trailer": {"X-Sum"}, "Content-Length": {"0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			// Whole input buffered, one byte per read, and a buffer smaller
			// than the head must all give the same result.
			for _, r := range []*bufio.Reader{
				bufio.NewReader(strings.NewReader(tt.in)),
				bufio.NewReader(iotest.OneByteReader(strings.NewReader(tt.in))),
				bufio.NewReaderSize(strings.NewReader(tt.in), 16),
			} {
				var got http.Response
				kind, err := ReadHead(r, method, 0, &got)
				if err != nil {
					t.Fatalf("ReadHead: %v", err)
				}
				if kind != tt.kind {
					t.Errorf("kind = %v, want %v", kind, tt.kind)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
				checkMatchesStd(t, method, tt.in, &got)
			}
		})
	}
}

// checkMatchesStd checks got against http.ReadResponse on the same input.
func checkMatchesStd(t *testing.T, method, in string, got *http.Response) {
	t.Helper()
	want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(in)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("http.ReadResponse: %v", err)
	}
	want.Body, want.Request = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("differs from net/http:\n got  %+v\nwant %+v", got, want)
	}
}

func TestReadHeadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		is   error  // errors.Is target, or nil
		msg  string // substring of the message, or ""
	}{
		{"truncated status line", "HTTP/1.1 200 OK", io.ErrUnexpectedEOF, ""},
		{"truncated header", "HTTP/1.1 200 OK\r\nContent-Length: 5", io.ErrUnexpectedEOF, ""},
		{"no empty line", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", io.ErrUnexpectedEOF, ""},
		{"half a CRLF", "HTTP/1.1 200 OK\r\n\r", io.ErrUnexpectedEOF, ""},
		{"no space", "HTTP/1.1\r\n\r\n", nil, "malformed status line"},
		{"empty status line", "\r\n\r\n", nil, "malformed status line"},
		{"short code", "HTTP/1.1 20 OK\r\n\r\n", nil, "malformed status code"},
		{"long code", "HTTP/1.1 2000 OK\r\n\r\n", nil, "malformed status code"},
		{"signed code", "HTTP/1.1 +20 OK\r\n\r\n", nil, "malformed status code"},
		{"negative code", "HTTP/1.1 -20 OK\r\n\r\n", nil, "malformed status code"},
		{"tab after code", "HTTP/1.1 200\tOK\r\n\r\n", nil, "malformed status code"},
		{"lower-case proto", "http/1.1 200 OK\r\n\r\n", nil, "malformed HTTP version"},
		{"two-digit version", "HTTP/10.1 200 OK\r\n\r\n", nil, "malformed HTTP version"},
		{"bad version", "HTTP/1.x 200 OK\r\n\r\n", nil, "malformed HTTP version"},
		{"other protocol", "ICY 200 OK\r\n\r\n", nil, "malformed HTTP version"},
		{"no colon", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", nil, "malformed header line"},
		{"leading space", "HTTP/1.1 200 OK\r\n X: y\r\n\r\n", nil, "malformed header line"},
		{"empty key", "HTTP/1.1 200 OK\r\n: y\r\n\r\n", nil, "malformed header line"},
		{"tab before colon", "HTTP/1.1 200 OK\r\nX\t: y\r\n\r\n", nil, "malformed header line"},
		{"control in key", "HTTP/1.1 200 OK\r\nX\x01Y: y\r\n\r\n", nil, "malformed header line"},
		{"control in value", "HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", nil, "malformed header line"},
		{"CR in value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", nil, "malformed header line"},
		{"DEL in folded value", "HTTP/1.1 200 OK\r\nX: a\r\n b\x7f\r\n\r\n", nil, "malformed header line"},
		{"CR CR LF", "HTTP/1.1 200 OK\r\nX: a\r\r\n\r\n", nil, "malformed header line"},
		{"space before colon in Content-Length", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", nil, "whitespace in header name"},
		{"space before colon in Transfer-Encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding  : chunked\r\n\r\n", nil, "whitespace in header name"},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", nil, "invalid Content-Length"},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", nil, "invalid Content-Length"},
		{"empty length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", nil, "invalid Content-Length"},
		{"hex length", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", nil, "invalid Content-Length"},
		{"list length", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", nil, "invalid Content-Length"},
		{"overflowing length", "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n", nil, "invalid Content-Length"},
		{"non-ASCII space in length", "HTTP/1.1 200 OK\r\nContent-Length: 5\xc2\xa0\r\n\r\n", nil, "invalid Content-Length"},
		{"invalid length on HEAD-less 204", "HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", nil, "invalid Content-Length"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", nil, "conflicting Content-Length"},
		{"TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", nil, "both Transfer-Encoding and Content-Length"},
		{"TE and CL on HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", nil, "both Transfer-Encoding and Content-Length"},
		{"unsupported TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", nil, "unsupported Transfer-Encoding"},
		{"TE list", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", nil, "unsupported Transfer-Encoding"},
		{"TE on 204", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: identity\r\n\r\n", nil, "unsupported Transfer-Encoding"},
		{"two TE headers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", nil, "too many Transfer-Encoding"},
		{"bad trailer key", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X, content-length\r\n\r\n", nil, "bad trailer key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp http.Response
			_, err := ReadHead(bufio.NewReader(strings.NewReader(tt.in)), "GET", 0, &resp)
			if err == nil {
				t.Fatal("ReadHead succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "httppool: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestReadHeadEOFIsExact(t *testing.T) {
	_, err := ReadHead(bufio.NewReader(strings.NewReader("")), "GET", 0, new(http.Response))
	if err != io.EOF {
		t.Fatalf("got %v, want io.EOF itself", err)
	}
}

func TestReadHeadTooLarge(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\n\r\n"
	for _, tt := range []struct {
		name string
		max  int
		size int // bufio buffer size
		ok   bool
	}{
		{"exactly the limit", len(head), 4096, true},
		{"one byte over", len(head) - 1, 4096, false},
		{"over, head fits in buffer", len(head) - 1, 16 << 10, false},
		{"fits in buffer, at the limit", len(head), 16 << 10, true},
		{"small limit", 20, 4096, false},
		{"no limit", 0, 16, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(head+"HTTP/1.1 204 No Content\r\n\r\n"), tt.size)
			var resp http.Response
			_, err := ReadHead(br, "GET", tt.max, &resp)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := len(resp.Header.Get("X-Big")); got != 10000 {
					t.Errorf("X-Big has %d bytes", got)
				}
				if _, err := ReadHead(br, "GET", tt.max, &resp); err != nil || resp.StatusCode != 204 {
					t.Errorf("next response: %d, %v", resp.StatusCode, err)
				}
			} else if !errors.Is(err, ErrHeaderTooLarge) {
				t.Fatalf("got %v, want ErrHeaderTooLarge", err)
			}
		})
	}
}

// TestReadHeadLoops1xx reads interim responses, then the final one, then a
// pipelined one, from a single buffer.
func TestReadHeadLoops1xx(t *testing.T) {
	in := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	var codes []int
	for {
		var resp http.Response
		kind, err := ReadHead(br, "GET", 0, &resp)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, resp.StatusCode)
		if kind == LengthBody {
			if _, err := br.Discard(int(resp.ContentLength)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []int{100, 103, 200, 404}; !reflect.DeepEqual(codes, want) {
		t.Errorf("status codes %v, want %v", codes, want)
	}
}

// TestReadHeadValuesAreIsolated checks that appending to one key's values
// cannot change another key's, though they share a backing array.
func TestReadHeadValuesAreIsolated(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nX-A: 1\r\nSet-Cookie: b\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n"
	var resp http.Response
	if _, err := ReadHead(bufio.NewReader(strings.NewReader(in)), "GET", 0, &resp); err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	h["X-A"] = append(h["X-A"], "changed")
	h["Set-Cookie"] = append(h["Set-Cookie"], "c")
	want := http.Header{"Set-Cookie": {"a", "b", "c"}, "X-A": {"1", "changed"}, "X-B": {"2"}, "Content-Length": {"0"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
}

func TestReadHeadAllocs(t *testing.T) {
	in := benchHeads[0].resp
	sr := strings.NewReader(in)
	br := bufio.NewReader(sr)
	var resp http.Response
	allocs := testing.AllocsPerRun(100, func() {
		sr.Reset(in)
		br.Reset(sr)
		if _, err := ReadHead(br, "GET", 0, &resp); err != nil {
			t.Fatal(err)
		}
	})
	// The header map (two allocations for a small map), the values array,
	// and the string holding the values.
	if allocs > 4 {
		t.Errorf("ReadHead allocates %v times, want at most 4", allocs)
	}
}

// TestFramingKeysAreInterned checks what framingKey relies on.
func TestFramingKeysAreInterned(t *testing.T) {
	for _, k := range []string{"Pragma", "Connection", "Transfer-Encoding", "Content-Length", "Trailer"} {
		if commonKeys.lookup([]byte(k)) != k || framingKey(k) == 0 {
			t.Errorf("%s is not an interned framing key", k)
		}
	}
}

func TestInternTables(t *testing.T) {
	for _, k := range commonKeyList {
		if got := commonKeys.lookup([]byte(k)); got != k {
			t.Errorf("lookup(%q) = %q", k, got)
		}
		if k != http.CanonicalHeaderKey(k) {
			t.Errorf("%q is not canonical", k)
		}
	}
	for _, s := range statusList() {
		if got := commonStatus.lookup([]byte(s)); got != s {
			t.Errorf("lookup(%q) = %q", s, got)
		}
	}
	for _, s := range []string{"X-Unknown", "200 Ok", "Content-Lengths", "a"} {
		if got := commonKeys.lookup([]byte(s)); got != "" {
			t.Errorf("lookup(%q) = %q, want none", s, got)
		}
	}
}
