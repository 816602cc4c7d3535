package faultproxy

import (
	"strings"
	"testing"
)

// stream is three responses back to back: one with a length, an
// informational response before a chunked one, and one without a body.
const stream = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
	"HTTP/1.1 100 Continue\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\n\r\n"

// walk feeds s to a framer in pieces of size n and returns the positions at
// which each response ended.
func walk(t *testing.T, s string, n int) []int {
	t.Helper()
	var f framer
	var ends []int
	at := 0
	for at < len(s) {
		f.startNext()
		piece := s[at:min(at+n, len(s))]
		k := f.consume([]byte(piece), -1)
		if k == 0 {
			t.Fatalf("framer consumed nothing at byte %d (%v)", at, f.pos)
		}
		at += k
		if f.pos.phase == End {
			ends = append(ends, at)
		}
	}
	return ends
}

func TestFramerFindsResponseEnds(t *testing.T) {
	first := strings.Index(stream, "HTTP/1.1 100")
	third := strings.Index(stream, "HTTP/1.1 204")
	want := []int{first, third, len(stream)}
	for _, n := range []int{1, 2, 7, len(stream)} {
		got := walk(t, stream, n)
		if len(got) != len(want) {
			t.Fatalf("pieces of %d: ends at %v, want %v", n, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("pieces of %d: ends at %v, want %v", n, got, want)
				break
			}
		}
	}
}

func TestFramerStopsAtTarget(t *testing.T) {
	tests := []struct {
		target position
		want   string // the stream's prefix forwarded before the fault
	}{
		{position{0, Head, 0}, ""},
		{position{0, Head, 4}, "HTTP"},
		{position{0, Body, 0}, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"},
		{position{0, Body, 2}, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe"},
		{position{0, Body, 99}, stream[:strings.Index(stream, "HTTP/1.1 100")]},
		{position{0, End, 0}, stream[:strings.Index(stream, "HTTP/1.1 100")]},
		{position{1, Head, 0}, stream[:strings.Index(stream, "HTTP/1.1 100")]},
		{position{2, End, 0}, stream},
	}
	for _, tt := range tests {
		var f framer
		at := 0
		for at < len(stream) {
			f.startNext()
			if !f.pos.before(tt.target) {
				break
			}
			at += f.consume([]byte(stream[at:]), f.limit(tt.target))
		}
		if got := stream[:at]; got != tt.want {
			t.Errorf("target %+v: forwarded %q, want %q", tt.target, got, tt.want)
		}
	}
}

// A stream that is not HTTP/1.1 is all head, however many blank lines it
// seems to hold, so that a fault after n bytes strikes after n bytes.
func TestFramerOpaqueStream(t *testing.T) {
	var f framer
	junk := []byte("\x16\x03\x01\n\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")
	for i := 0; i < 3; i++ {
		if n := f.consume(junk, -1); n != len(junk) {
			t.Fatalf("consumed %d of %d bytes", n, len(junk))
		}
	}
	if want := (position{0, Head, int64(3 * len(junk))}); f.pos != want {
		t.Errorf("position %+v, want %+v", f.pos, want)
	}
}
