package httppool

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The HPACK caches (a request header equal to an earlier one is not
// encoded again, a response head equal to an earlier one is not decoded
// again) must never change what goes over the wire or what a response
// says. Requests and responses here repeat among a few shapes while the
// server's encoder indexes, does not index, never indexes, and resizes its
// table at random, which moves every index the caches might rely on.
func TestH2HeaderCachesNeverChangeHeaders(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runCacheProperty(t, seed) })
		})
	}
}

func runCacheProperty(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	h := newH2Harness(t, Config{DisableCompression: true})
	requests := []func() *http.Request{
		func() *http.Request { return mustRequest(t, "GET", "http://a.test/", nil) },
		func() *http.Request { return mustRequest(t, "GET", "http://a.test/1", nil) },
		func() *http.Request { return mustRequest(t, "GET", "http://a.test/2", nil) },
		func() *http.Request { return mustRequest(t, "GET", "http://a.test/other?q=1", nil) },
		func() *http.Request {
			req := mustRequest(t, "GET", "http://a.test/", nil)
			req.Header.Set("X-Trace", "abc")
			return req
		},
		func() *http.Request {
			req := mustRequest(t, "GET", "http://a.test/", nil)
			req.Header.Set("X-Trace", "abd")
			req.Header.Add("Accept", "text/plain")
			return req
		},
		func() *http.Request {
			req := mustRequest(t, "DELETE", "http://a.test/", nil)
			req.Header.Set("User-Agent", "other")
			return req
		},
	}
	responses := [][]string{
		// One field of changing value: once indexed, each is the table's
		// newest entry in turn, so that the same bytes mean another field.
		{"x-id", "1"},
		{"x-id", "2"},
		{"x-id", "3"},
		{"content-type", "text/plain", "x-id", "1"},
		{"content-type", "text/plain", "x-id", "2"},
		{"content-type", "text/html", "x-id", "1", "etag", `"v1"`},
		{"x-id", "1", "content-type", "text/plain"},
		{"set-cookie", "a=1", "set-cookie", "b=2"},
	}
	var sc *h2ServerConn
	lastFields, lastRequest := responses[0], 0
	var enc bytes.Buffer
	encoder := hpack.NewEncoder(&enc)
	for i := range 400 {
		k := r.IntN(len(requests))
		if r.IntN(3) > 0 {
			k = lastRequest
		}
		lastRequest = k
		req := requests[k]()
		rt := h.roundTrip(req)
		if sc == nil {
			sc = h.nextConn()
			sc.greet(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 4096})
		}
		got := sc.wantHeaders()
		wantRequest(t, i, req, got)

		fields := responses[r.IntN(len(responses))]
		if r.IntN(3) == 0 {
			fields = lastFields // the same head again, as servers repeat them
		}
		lastFields = fields
		if r.IntN(10) == 0 {
			encoder.SetMaxDynamicTableSize(uint32(64 * r.IntN(64)))
		}
		enc.Reset()
		encoder.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		for j := 0; j < len(fields); j += 2 {
			encoder.WriteField(hpack.HeaderField{Name: fields[j], Value: fields[j+1], Sensitive: r.IntN(4) == 0})
		}
		sc.writeHeaderBlock(got.StreamID, true, bytes.Clone(enc.Bytes()))
		resp := rt.response()
		want := http.Header{}
		for j := 0; j < len(fields); j += 2 {
			want.Add(fields[j], fields[j+1])
		}
		if fmt.Sprint(resp.Header) != fmt.Sprint(want) {
			t.Fatalf("response %d: header %v, want %v", i, resp.Header, want)
		}
		resp.Body.Close()
	}
}

// wantRequest checks the fields the server decoded against req.
func wantRequest(t *testing.T, i int, req *http.Request, got h2Request) {
	t.Helper()
	method := req.Method
	want := map[string][]string{
		":method": {method}, ":scheme": {"http"}, ":authority": {"a.test"}, ":path": {req.URL.RequestURI()},
	}
	for k, vv := range req.Header {
		name, _ := lowerHeader(k)
		want[name] = vv
	}
	if _, ok := want["user-agent"]; !ok {
		want["user-agent"] = []string{defaultUserAgent}
	}
	for name, vv := range want {
		if !slices.Equal(got.Header[name], vv) {
			t.Fatalf("request %d (%s %s): %s = %q, want %q", i, method, req.URL, name, got.Header[name], vv)
		}
	}
	if len(got.Header) != len(want) {
		t.Fatalf("request %d: fields %v, want %v", i, got.Header, want)
	}
}

func TestChangesTable(t *testing.T) {
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	block := func(fields ...hpack.HeaderField) []byte {
		buf.Reset()
		for _, f := range fields {
			e.WriteField(f)
		}
		return bytes.Clone(buf.Bytes())
	}
	long := string(bytes.Repeat([]byte("v"), 300)) // a multi-byte length
	cases := []struct {
		name  string
		block []byte
		want  bool
	}{
		{"static indexed", block(hpack.HeaderField{Name: ":status", Value: "200"}), false},
		{"never indexed", block(hpack.HeaderField{Name: "x-a", Value: long, Sensitive: true}), false},
		{"incremental", block(hpack.HeaderField{Name: "x-new", Value: "1"}), true},
		{"now indexed", block(hpack.HeaderField{Name: "x-new", Value: "1"}), false},
		{"size update", []byte{0x3f, 0xe1, 0x1f, 0x88}, true},
		{"truncated literal", []byte{0x00, 0x05, 'a'}, true},
		{"truncated integer", []byte{0xff}, true},
	}
	for _, tc := range cases {
		if got := changesTable(tc.block); got != tc.want {
			t.Errorf("%s: changesTable(%x) = %v, want %v", tc.name, tc.block, got, tc.want)
		}
	}
	if changesTable(block(hpack.HeaderField{Name: ":method", Value: "GET"}, hpack.HeaderField{Name: "x-new", Value: "1"})) {
		t.Error("a block of indexed fields changes the table")
	}
	if !changesTable(block(hpack.HeaderField{Name: "x-other", Value: strconv.Itoa(42)})) {
		t.Error("a new literal with incremental indexing does not change the table")
	}
}
