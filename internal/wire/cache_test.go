package wire

import (
	"bufio"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// A HeadCache gives what ReadHead gives for any sequence of heads: repeated,
// changed, changed back, and a 1xx before a final response.
func TestHeadCacheSequence(t *testing.T) {
	a := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	b := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello!"
	chunked := "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nX-Odd: a\r\nx-odd: b\r\n\r\n0\r\n\r\n"
	early := "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
	var c HeadCache
	for i, in := range []string{a, a, b, a, chunked, chunked, early + a, early + a} {
		want, wantKind := readHeads(t, in, nil)
		got, gotKind := readHeads(t, in, &c)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotKind, wantKind) {
			t.Errorf("head %d %q:\n got %v %+v\nwant %v %+v", i, in, gotKind, got, wantKind, want)
		}
	}
}

// readHeads reads every head at the start of in, as the engine does for
// 1xx responses, through c when it is not nil.
func readHeads(t *testing.T, in string, c *HeadCache) ([]respHead, []BodyKind) {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(in))
	var heads []respHead
	var kinds []BodyKind
	for range 3 {
		var resp http.Response
		var kind BodyKind
		var err error
		if c != nil {
			kind, err = c.ReadHead(br, "GET", 0, &resp)
		} else {
			kind, err = ReadHead(br, "GET", 0, &resp)
		}
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		heads, kinds = append(heads, headOf(&resp)), append(kinds, kind)
		if resp.StatusCode >= 200 {
			break
		}
	}
	return heads, kinds
}

// A head found in the cache is held to the limit of the read, not of the
// read that cached it.
func TestHeadCacheRespectsMaxHeaderBytes(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	var c HeadCache
	var resp http.Response
	if _, err := c.ReadHead(bufio.NewReader(strings.NewReader(in)), "GET", 0, &resp); err != nil {
		t.Fatal(err)
	}
	_, err := c.ReadHead(bufio.NewReader(strings.NewReader(in)), "GET", 10, &resp)
	if !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("cached head over the limit: err = %v, want ErrHeaderTooLarge", err)
	}
}

// A head found in the cache costs only the header map and its values.
func TestHeadCacheHitAllocs(t *testing.T) {
	in := benchHeads[0].resp
	sr := strings.NewReader(in)
	br := bufio.NewReader(sr)
	var c HeadCache
	var resp http.Response
	allocs := testing.AllocsPerRun(100, func() {
		sr.Reset(in)
		br.Reset(sr)
		if _, err := c.ReadHead(br, "GET", 0, &resp); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("a cached head allocates %v times, want at most 3", allocs)
	}
}

// Heads too large to be worth keeping are parsed every time, and the cache
// does not keep the previous one either.
func TestHeadCacheSkipsLargeHeads(t *testing.T) {
	large := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("v", maxCachedHead) + "\r\nContent-Length: 0\r\n\r\n"
	var c HeadCache
	var resp http.Response
	if _, err := c.ReadHead(bufio.NewReader(strings.NewReader(large)), "GET", 0, &resp); err != nil {
		t.Fatal(err)
	}
	if len(c.raw) != 0 {
		t.Errorf("cache kept a %d-byte head", len(c.raw))
	}
}
