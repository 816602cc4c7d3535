package httppool

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// FuzzH2ServerFrames plays a server whose frames come from the fuzzer
// against one to three concurrent requests, inside a synctest bubble.
// Whatever the frames, nothing panics, every RoundTrip and body read ends
// once the script ends and the server closes the connection, no goroutine
// is left behind (synctest.Test fails otherwise), and once the Transport is
// closed the pool counts nothing open.
//
// The input is decoded by h2FuzzScript; the seeds are the hostile servers of
// h2_hostile_test.go. It is bounded (64 operations, 4 KiB of input, 100 s
// of bubble time per input) so that CI can run it with -fuzztime=20s.
func FuzzH2ServerFrames(f *testing.F) {
	for _, seed := range h2FuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		synctest.Test(t, func(t *testing.T) {
			playH2FuzzScript(t, input)
		})
	})
}

// Operations of a fuzz script. Each starts with a byte whose low four bits
// choose it; the bytes it reads next follow.
const (
	// 0–9: a raw frame of that type; 10: a frame of an unknown type.
	// Then flags, stream, length and that many payload bytes.
	fuzzOpUnknownFrame = 10
	// A response header block, encoded with the connection's HPACK
	// state: flags (END_STREAM 0x1, END_HEADERS 0x4, no :status 0x8 as in
	// trailers), stream, status.
	fuzzOpHeaders = 11
	// Sleep: a byte of tenths of a second.
	fuzzOpSleep = 12
	// Let the client run, then read what it wrote, answering its PINGs.
	fuzzOpDrain = 13
	// End the script: the server closes the connection.
	fuzzOpEnd = 14
	// DATA: flags (END_STREAM 0x1), stream, length in units of 64 bytes.
	fuzzOpData = 15
)

// h2FuzzStreams are the streams a script's stream byte chooses from: the
// connection, the client's first streams, server-initiated and far ones.
var h2FuzzStreams = [8]uint32{0, 1, 3, 5, 7, 2, 99, 1<<31 - 1}

var h2FuzzStatuses = [8]int{100, 103, 200, 204, 301, 404, 500, 999}

// playH2FuzzScript runs one fuzz input: the first byte chooses the requests
// (1 + b%3 GETs; with bit 0x4 the first is a 100 KB POST), the rest is a
// script of at most 64 operations played on the first connection after a
// valid SETTINGS. Later connections are closed at once.
func playH2FuzzScript(t *testing.T, input []byte) {
	const maxInput, maxOps = 4 << 10, 64
	if len(input) > maxInput {
		input = input[:maxInput]
	}
	if len(input) == 0 {
		input = []byte{0}
	}
	h := newH2Harness(t, Config{})
	rts := make([]*h2RoundTrip, 1+int(input[0])%3)
	for i := range rts {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://a.test/%d", i), nil)
		if i == 0 && input[0]&0x4 != 0 {
			req, _ = http.NewRequest("POST", "http://a.test/upload", strings.NewReader(strings.Repeat("u", 100_000)))
		}
		rts[i] = h.roundTrip(req)
	}
	script := input[1:]
	next := func() byte {
		if len(script) == 0 {
			return 0
		}
		b := script[0]
		script = script[1:]
		return b
	}

	sc := h.nextConn()
	err := sc.fr.WriteSettings()
	for ops := 0; err == nil && len(script) > 0 && ops < maxOps; ops++ {
		op := next() & 0xf
		switch op {
		case fuzzOpHeaders:
			flags, stream, status := next(), h2FuzzStreams[next()%8], h2FuzzStatuses[next()%8]
			fields := []string{":status", fmt.Sprint(status), "x-fuzz", fmt.Sprint(ops)}
			if flags&0x8 != 0 {
				fields = fields[2:] // a trailer block
			}
			err = sc.fr.WriteHeaders(http2.HeadersFrameParam{
				StreamID:      stream,
				BlockFragment: sc.encode(fields...),
				EndStream:     flags&0x1 != 0,
				EndHeaders:    flags&0x4 != 0,
			})
		case fuzzOpSleep:
			time.Sleep(time.Duration(next()) * 100 * time.Millisecond)
		case fuzzOpDrain:
			for f := sc.nextFrame(func(http2.Frame) bool { return false }); f != nil; {
				f = sc.nextFrame(func(http2.Frame) bool { return false })
			}
		case fuzzOpEnd:
			script = nil
		case fuzzOpData:
			flags, stream, n := next(), h2FuzzStreams[next()%8], 64*int(next())
			err = sc.fr.WriteData(stream, flags&0x1 != 0, make([]byte, n))
		default:
			typ := http2.FrameType(op)
			if op == fuzzOpUnknownFrame {
				typ = 0x20
			}
			flags, stream, n := http2.Flags(next()), h2FuzzStreams[next()%8], int(next())
			payload := script[:min(n, len(script))]
			script = script[len(payload):]
			err = sc.fr.WriteRawFrame(typ, flags, stream, payload)
		}
	}
	sc.closeConn()

	for i := 0; ; i++ {
		for sc := h.takeConn(); sc != nil; sc = h.takeConn() {
			sc.closeConn()
		}
		ended := true
		for _, rt := range rts {
			switch {
			case !rt.done():
				ended = false
			case rt.err == nil && !rt.bodyDone():
				ended = false
			}
		}
		if ended {
			break
		}
		if i == 100 {
			t.Fatalf("requests or body reads still running %v after the server closed the connection", time.Duration(i)*time.Second)
		}
		time.Sleep(time.Second)
	}
	for i, rt := range rts {
		if rt.resp != nil {
			t.Logf("request %d: %d, body of %d bytes, %v", i, rt.resp.StatusCode, len(rt.body), rt.bodyErr)
			rt.resp.Body.Close()
		} else {
			t.Logf("request %d: %v", i, rt.err)
		}
	}
	h.tr.Close()
	if st := h.wantStatsConsistent(); st.Open != 0 {
		t.Errorf("Stats.Open = %d after Close with every response read; want 0", st.Open)
	}
}

// h2FuzzScript builds fuzz inputs for the seeds.
type h2FuzzScript []byte

// h2FuzzStream returns the stream byte that chooses id.
func h2FuzzStream(id uint32) byte {
	for i, s := range h2FuzzStreams {
		if s == id {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("stream %d is not among h2FuzzStreams", id))
}

func h2FuzzStatus(code int) byte {
	for i, s := range h2FuzzStatuses {
		if s == code {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("status %d is not among h2FuzzStatuses", code))
}

func (s *h2FuzzScript) frame(typ http2.FrameType, flags http2.Flags, stream uint32, payload []byte) {
	op := byte(typ)
	if typ > http2.FrameContinuation {
		op = fuzzOpUnknownFrame
	}
	*s = append(*s, op, byte(flags), h2FuzzStream(stream), byte(len(payload)))
	*s = append(*s, payload...)
}

func (s *h2FuzzScript) headers(flags byte, stream uint32, status int) {
	*s = append(*s, fuzzOpHeaders, flags, h2FuzzStream(stream), h2FuzzStatus(status))
}

func (s *h2FuzzScript) data(flags byte, stream uint32, n int) {
	*s = append(*s, fuzzOpData, flags, h2FuzzStream(stream), byte(n/64))
}

func (s *h2FuzzScript) op(op byte, args ...byte) { *s = append(*s, append([]byte{op}, args...)...) }

func h2FuzzU32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// h2FuzzSeeds returns the seed corpus: well-behaved answers and the
// hostile servers of the tests, in the script's encoding.
func h2FuzzSeeds() [][]byte {
	const endStream, endHeaders = 0x1, 0x4
	build := func(requests byte, f func(s *h2FuzzScript)) []byte {
		s := h2FuzzScript{requests}
		f(&s)
		return s
	}
	repeat := func(n int, f func(s *h2FuzzScript)) func(s *h2FuzzScript) {
		return func(s *h2FuzzScript) {
			for range n {
				f(s)
			}
		}
	}
	return [][]byte{
		build(0, func(s *h2FuzzScript) { // a response with a body
			s.headers(endHeaders, 1, 200)
			s.data(endStream, 1, 64)
		}),
		build(0, func(s *h2FuzzScript) { // 103, then 200 with trailers
			s.headers(endHeaders, 1, 103)
			s.headers(endHeaders, 1, 200)
			s.data(0, 1, 128)
			s.headers(endHeaders|endStream|0x8, 1, 200)
		}),
		build(2, func(s *h2FuzzScript) { // three requests, answered out of order
			s.op(fuzzOpDrain)
			s.headers(endHeaders|endStream, 5, 204)
			s.headers(endHeaders, 1, 200)
			s.headers(endHeaders|endStream, 3, 404)
			s.data(endStream, 1, 64)
		}),
		build(4, func(s *h2FuzzScript) { // a POST, with its window opened
			s.frame(http2.FrameWindowUpdate, 0, 0, h2FuzzU32(1<<20))
			s.frame(http2.FrameWindowUpdate, 0, 1, h2FuzzU32(1<<20))
			s.op(fuzzOpDrain)
			s.headers(endHeaders|endStream, 1, 200)
		}),
		build(1, func(s *h2FuzzScript) { // GOAWAY 0, left open
			s.frame(http2.FrameGoAway, 0, 0, append(h2FuzzU32(0), h2FuzzU32(0)...))
			s.op(fuzzOpSleep, 20)
		}),
		build(0, func(s *h2FuzzScript) { // REFUSED_STREAM
			s.frame(http2.FrameRSTStream, 0, 1, h2FuzzU32(uint32(http2.ErrCodeRefusedStream)))
		}),
		build(0, func(s *h2FuzzScript) { // MAX_CONCURRENT_STREAMS 0
			s.frame(http2.FrameSettings, 0, 0, []byte{0, byte(http2.SettingMaxConcurrentStreams), 0, 0, 0, 0})
			s.frame(http2.FrameRSTStream, 0, 1, h2FuzzU32(uint32(http2.ErrCodeRefusedStream)))
		}),
		build(0, func(s *h2FuzzScript) { // endless CONTINUATION
			s.headers(0, 1, 200)
			repeat(60, func(s *h2FuzzScript) { s.frame(http2.FrameContinuation, 0, 1, nil) })(s)
		}),
		build(0, repeat(60, func(s *h2FuzzScript) { s.frame(http2.FramePing, 0, 0, make([]byte, 8)) })),
		build(0, repeat(60, func(s *h2FuzzScript) { s.frame(http2.FrameSettings, 0, 0, nil) })),
		build(0, func(s *h2FuzzScript) { // empty DATA flood
			s.headers(endHeaders, 1, 200)
			repeat(60, func(s *h2FuzzScript) { s.data(0, 1, 0) })(s)
		}),
		build(1, func(s *h2FuzzScript) { // RST_STREAM flood on a closed stream
			s.op(fuzzOpDrain)
			s.headers(endHeaders|endStream, 1, 200)
			repeat(60, func(s *h2FuzzScript) {
				s.frame(http2.FrameRSTStream, 0, 1, h2FuzzU32(uint32(http2.ErrCodeCancel)))
			})(s)
		}),
		build(0, func(s *h2FuzzScript) { // window overflows
			s.frame(http2.FrameWindowUpdate, 0, 1, h2FuzzU32(1<<31-1))
			s.frame(http2.FrameWindowUpdate, 0, 0, h2FuzzU32(1<<31-1))
		}),
		build(0, func(s *h2FuzzScript) { // DATA beyond the window
			s.headers(endHeaders, 1, 200)
			repeat(60, func(s *h2FuzzScript) { s.data(0, 1, 255*64) })(s)
		}),
		build(0, func(s *h2FuzzScript) { s.data(0, 99, 64) }),
		build(0, func(s *h2FuzzScript) { s.headers(endHeaders|endStream, 99, 200) }),
		build(0, func(s *h2FuzzScript) { s.headers(endHeaders|endStream, 2, 200) }),
		build(0, func(s *h2FuzzScript) { // PUSH_PROMISE of stream 2, an empty block
			s.frame(http2.FramePushPromise, http2.FlagPushPromiseEndHeaders, 1, h2FuzzU32(2))
		}),
		build(0, func(s *h2FuzzScript) { // silence, then the end of the connection
			s.op(fuzzOpSleep, 200)
		}),
		build(0, func(s *h2FuzzScript) { // mid-body close
			s.headers(endHeaders, 1, 200)
			s.data(0, 1, 64)
			s.op(fuzzOpEnd)
		}),
		build(0, func(s *h2FuzzScript) { // an unknown frame type and a malformed frame
			s.frame(0x20, 0xff, 1, []byte("ignored"))
			s.frame(http2.FramePing, 0, 0, []byte("short"))
		}),
	}
}
