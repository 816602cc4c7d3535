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

func TestChunkedReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		body    string
		trailer http.Header // declared beforehand: {"Expires": nil, "X-Declared": nil}
	}{
		{"plain", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", nil},
		{"extensions and hex", "5;a=b\r\nhello\r\nA;c=\"d;e\"\r\n0123456789\r\n0;last\r\n\r\n", "hello0123456789", nil},
		{"upper-case hex and trailing space", "a \r\n0123456789\r\n0\t\r\n\r\n", "0123456789", nil},
		{"leading zeros", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", nil},
		{"empty", "0\r\n\r\n", "", nil},
		{
			"trailers",
			"3\r\nabc\r\n0\r\nexpires: never\r\nX-Sum: 1\r\nX-Sum: 2\r\nX-Folded: a\r\n b\r\n\r\n",
			"abc",
			http.Header{"Expires": {"never"}, "X-Sum": {"1", "2"}, "X-Folded": {"a b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{
				strings.NewReader(tt.in),
				iotest.OneByteReader(strings.NewReader(tt.in)),
				iotest.HalfReader(strings.NewReader(tt.in)),
			} {
				trailer := http.Header{"Expires": nil, "X-Declared": nil}
				var cr ChunkedReader
				cr.Reset(bufio.NewReaderSize(r, 64), &trailer, 0)
				body, err := io.ReadAll(&cr)
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
				want := http.Header{"Expires": nil, "X-Declared": nil}
				for k, v := range tt.trailer {
					want[k] = v
				}
				if !reflect.DeepEqual(trailer, want) {
					t.Errorf("trailer %v, want %v", trailer, want)
				}
				if n, err := cr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("Read after EOF = %d, %v", n, err)
				}
			}
		})
	}
}

func TestChunkedReaderTrailerTargets(t *testing.T) {
	const in = "0\r\nX-Sum: 1\r\n\r\n"
	var cr ChunkedReader

	var trailer http.Header
	cr.Reset(bufio.NewReader(strings.NewReader(in)), &trailer, 0)
	if _, err := io.ReadAll(&cr); err != nil {
		t.Fatal(err)
	}
	if want := (http.Header{"X-Sum": {"1"}}); !reflect.DeepEqual(trailer, want) {
		t.Errorf("nil map: trailer %v, want %v", trailer, want)
	}

	cr.Reset(bufio.NewReader(strings.NewReader(in)), nil, 0)
	if _, err := io.ReadAll(&cr); err != nil {
		t.Errorf("nil *http.Header: %v", err)
	}

	trailer = nil
	cr.Reset(bufio.NewReader(strings.NewReader("0\r\n\r\n")), &trailer, 0)
	if _, err := io.ReadAll(&cr); err != nil || trailer != nil {
		t.Errorf("no trailer fields: trailer %v, err %v; want nil map", trailer, err)
	}
}

// TestChunkedReaderStopsAtEnd checks that the reader consumes exactly the
// body, so that a pipelined response after it stays buffered.
func TestChunkedReaderStopsAtEnd(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	for _, body := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
	} {
		for _, r := range []io.Reader{
			strings.NewReader(body + next),
			iotest.OneByteReader(strings.NewReader(body + next)),
		} {
			br := bufio.NewReader(r)
			var cr ChunkedReader
			cr.Reset(br, nil, 0)
			got, err := io.ReadAll(&cr)
			if err != nil || string(got) != "hello" {
				t.Fatalf("%q: body %q, err %v", body, got, err)
			}
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != next {
				t.Errorf("%q: left %q, err %v; want %q", body, rest, err, next)
			}
		}
	}
}

func TestChunkedReaderErrors(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		maxTrailer int
		is         error  // errors.Is target, or nil
		msg        string // substring of the message, or ""
	}{
		{"no chunk line", "", 0, io.ErrUnexpectedEOF, ""},
		{"truncated data", "5\r\nhel", 0, io.ErrUnexpectedEOF, ""},
		{"truncated after data", "5\r\nhello", 0, io.ErrUnexpectedEOF, ""},
		{"truncated after CR", "5\r\nhello\r", 0, io.ErrUnexpectedEOF, ""},
		{"no last chunk", "5\r\nhello\r\n", 0, io.ErrUnexpectedEOF, ""},
		{"truncated chunk line", "5\r\nhello\r\n0\r", 0, io.ErrUnexpectedEOF, ""},
		{"no trailer end", "0\r\n", 0, io.ErrUnexpectedEOF, ""},
		{"truncated trailer", "0\r\nX-Sum: 1\r\n", 0, io.ErrUnexpectedEOF, ""},
		{"missing CRLF after data", "5\r\nhelloXX0\r\n\r\n", 0, nil, "missing CRLF after chunk data"},
		{"empty size", "\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk size"},
		{"non-hex size", "5x\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk size"},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk size"},
		{"space before extension", "5 ;a\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk size"},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk size"},
		{"size overflow", "10000000000000000\r\n", 0, nil, "malformed chunk size"},
		{"bare LF", "5\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk-size line"},
		{"bare CR", "5\r5\r\nhello\r\n0\r\n\r\n", 0, nil, "malformed chunk-size line"},
		{"line over buffer", strings.Repeat("0", 5000) + "\r\n", 0, nil, "chunk-size line too long"},
		{"padded chunk lines", strings.Repeat("1;"+strings.Repeat("x", 200)+"\r\nX\r\n", 100), 0, nil, "too much non-data"},
		{"bare LF in trailer", "0\r\nX: y\n\r\n", 0, nil, "not terminated by CRLF"},
		{"bare LF ending trailer", "0\r\n\n", 0, nil, "not terminated by CRLF"},
		{"malformed trailer", "0\r\nno colon\r\n\r\n", 0, nil, "malformed header line"},
		{"trailer over limit", "0\r\nX-Sum: 12345\r\n\r\n", 15, ErrTrailerTooLarge, ""},
		{"trailer over buffer", "0\r\nX: " + strings.Repeat("a", 10000) + "\r\n\r\n", 1 << 20, ErrTrailerTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cr ChunkedReader
			cr.Reset(bufio.NewReaderSize(strings.NewReader(tt.in), 8192), nil, tt.maxTrailer)
			_, err := io.ReadAll(&cr)
			if err == nil {
				t.Fatal("ReadAll succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "httppool: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
			if _, again := cr.Read(make([]byte, 10)); again != err {
				t.Errorf("error not sticky: %v, then %v", err, again)
			}
		})
	}
}

func TestChunkedReaderTrailerLimit(t *testing.T) {
	const trailer = "X-Sum: 1234\r\n\r\n" // 15 bytes
	for _, tt := range []struct{ max, size int }{{15, 4096}, {0, 16}} {
		var cr ChunkedReader
		cr.Reset(bufio.NewReaderSize(strings.NewReader("0\r\n"+trailer), tt.size), nil, tt.max)
		if _, err := io.ReadAll(&cr); err != nil {
			t.Errorf("max %d, buffer %d: %v", tt.max, tt.size, err)
		}
	}
}

func TestChunkedReaderAllocs(t *testing.T) {
	src := string(chunkedBody(4, 100))
	sr := strings.NewReader(src)
	br := bufio.NewReader(sr)
	buf := make([]byte, 64)
	var cr ChunkedReader
	allocs := testing.AllocsPerRun(100, func() {
		sr.Reset(src)
		br.Reset(sr)
		cr.Reset(br, nil, 0)
		for {
			if _, err := cr.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("ChunkedReader allocates %v times per body", allocs)
	}
}
