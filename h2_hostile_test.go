package httppool

// Hostile HTTP/2 servers, played frame by frame (h2_script_test.go). Each
// must cost the client a clear error (errors.go) in bounded time and
// memory, and only the connection it used: the pool counts what is really
// open, and the next request works.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// floodAttempts is how many useless frames a flood test writes at most;
// floodMaxFrames is how many the client may have taken, with what the
// connection buffers, before it closes the connection. The engine's budget
// is of the order of 1,000 to 10,000 frames.
const (
	floodAttempts  = 100_000
	floodMaxFrames = 20_000
)

// startRequest starts a GET of http://a.test/, greets its connection and
// reads the request's HEADERS.
func startRequest(h *h2Harness) (*h2RoundTrip, *h2ServerConn, uint32) {
	h.t.Helper()
	rt := h.get("http://a.test/")
	sc := h.nextConn()
	sc.greet()
	return rt, sc, sc.wantHeaders().StreamID
}

// wantConnFailed checks what follows a connection error with code: the
// client closed the connection (a GOAWAY, if any, carries code), the pool
// counts it closed for an error, and the next request works.
func (h *h2Harness) wantConnFailed(sc *h2ServerConn, code http2.ErrCode) {
	h.t.Helper()
	sc.wantConnError(code)
	if st := h.wantStatsConsistent(); st.Closed[CloseError] != 1 {
		h.t.Errorf("Stats.Closed = %v; want the failed connection counted under %q", st.Closed, CloseError)
	}
	h.wantNextGetSucceeds("a.test")
	h.wantNextGetSucceeds("b.test")
	h.wantStatsConsistent()
}

// wantStreamOrConnReset checks that the client reset the stream or closed
// the connection, and that the next request works.
func (h *h2Harness) wantStreamOrConnReset(sc *h2ServerConn, id uint32) {
	h.t.Helper()
	synctest.Wait()
	if !sc.peer.closed.Load() {
		f := sc.nextFrame(isFrame[*http2.RSTStreamFrame])
		if rst, ok := f.(*http2.RSTStreamFrame); !ok || rst.StreamID != id {
			h.t.Fatalf("got %s; want RST_STREAM on stream %d or the connection closed", sc.describe(f), id)
		}
	} else {
		sc.wantClosed()
	}
	h.wantStatsConsistent()
	h.wantNextGetSucceeds("a.test")
	h.wantStatsConsistent()
}

func TestH2HostileHeaderListTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{MaxResponseHeaderBytes: 8 << 10})
		rt, sc, id := startRequest(h)
		fields := []string{":status", "200"}
		for i := range 10 { // 10 fields of 1,040 bytes as hpack counts them
			fields = append(fields, fmt.Sprintf("x-big-%d", i), strings.Repeat("v", 1000))
		}
		sc.check("a header block", sc.tryHeaderBlock(id, true, sc.encode(fields...)))
		err := rt.failure()
		wantProtocolError(t, err, -1)
		if !errors.Is(err, ErrResponseHeaderTooLarge) {
			t.Errorf("error %v; want it to match ErrResponseHeaderTooLarge", err)
		}
		h.wantStreamOrConnReset(sc, id)
	})
}

func TestH2HostileHPACKBomb(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{}) // MaxResponseHeaderBytes: 1 MiB
		rt, sc, id := startRequest(h)

		// One field as large as the dynamic table allows, then as many
		// one-byte references to it as make 256 MiB decoded.
		table := int(sc.clientSetting(http2.SettingHeaderTableSize, 4096))
		if table < 1024 {
			t.Fatalf("client's header table is %d bytes; this bomb needs room for a 1 KiB entry", table)
		}
		const decoded = 256 << 20
		bomb := hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", table-32-len("x-bomb"))}
		sc.encBuf.Reset()
		sc.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		for range decoded/int(bomb.Size()) + 1 {
			sc.enc.WriteField(bomb)
		}
		block := bytes.Clone(sc.encBuf.Bytes())
		if len(block) > 128<<10 {
			t.Fatalf("the bomb's block is %d bytes; want it small", len(block))
		}

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		sc.tryHeaderBlock(id, true, block) // the client may close the connection before the end
		err := rt.failure()
		runtime.ReadMemStats(&after)
		grew := after.TotalAlloc - before.TotalAlloc
		t.Logf("the client allocated %d KiB while it read the bomb", grew>>10)
		if grew > 16<<20 {
			t.Errorf("the client allocated %d MiB for a header block of %d KiB decoding to %d MiB", grew>>20, len(block)>>10, decoded>>20)
		}
		wantProtocolError(t, err, -1)
		if !errors.Is(err, ErrResponseHeaderTooLarge) {
			t.Errorf("error %v; want it to match ErrResponseHeaderTooLarge", err)
		}
		h.wantStreamOrConnReset(sc, id)
	})
}

func TestH2HostileEndlessContinuation(t *testing.T) {
	for _, tc := range []struct {
		name string
		frag []byte
	}{
		{"empty", nil},
		// Each a one-byte reference to a static field (accept-encoding: gzip, deflate).
		{"one_byte", []byte{0x80 | 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newH2Harness(t, Config{})
				rt, sc, id := startRequest(h)
				sc.writeHeadersFrame(http2.HeadersFrameParam{StreamID: id, BlockFragment: sc.encode(":status", "200")})
				n := sc.flood(floodAttempts, func(fr *http2.Framer) error {
					return fr.WriteContinuation(id, false, tc.frag)
				})
				if n == floodAttempts {
					t.Fatalf("the client took %d CONTINUATION frames of one header block without closing the connection", n)
				}
				t.Logf("the server wrote %d CONTINUATION frames before the client closed", n)
				err := rt.failure()
				wantConnErr(t, err)
				wantProtocolError(t, err, -1)
				sc.wantClosed()
				if st := h.wantStatsConsistent(); st.Closed[CloseError] != 1 {
					t.Errorf("Stats.Closed = %v; want the failed connection counted under %q", st.Closed, CloseError)
				}
				h.wantNextGetSucceeds("a.test")
			})
		})
	}
}

func TestH2HostileFlood(t *testing.T) {
	ping := [8]byte{'f', 'l', 'o', 'o', 'd'}
	for _, tc := range []struct {
		name string
		// inBody floods once the response began: the body's Read fails,
		// not RoundTrip.
		inBody bool
		write  func(fr *http2.Framer, id uint32) error
	}{
		// The flooded stream is a request's that ended; another request waits.
		{"rst_stream_on_closed_stream", false, func(fr *http2.Framer, id uint32) error {
			return fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}},
		{"settings", false, func(fr *http2.Framer, _ uint32) error { return fr.WriteSettings() }},
		{"ping", false, func(fr *http2.Framer, _ uint32) error { return fr.WritePing(false, ping) }},
		{"empty_data", true, func(fr *http2.Framer, id uint32) error { return fr.WriteData(id, false, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newH2Harness(t, Config{})
				rt, sc, id := startRequest(h)
				switch {
				case tc.name == "rst_stream_on_closed_stream":
					sc.respond(id, 200, "first")
					rt.wantBody("first")
					rt = h.get("http://a.test/second")
					sc.wantHeaders()
				case tc.inBody:
					sc.writeHeaders(id, false, ":status", "200")
					rt.readBodyAsync()
				}
				n := sc.flood(floodAttempts, func(fr *http2.Framer) error { return tc.write(fr, id) })
				if n > floodMaxFrames {
					t.Fatalf("the client took %d useless frames without closing the connection; want at most %d", n, floodMaxFrames)
				}
				t.Logf("the server wrote %d frames before the client closed", n)
				if tc.inBody {
					_, err := rt.readBody()
					wantProtocolError(t, err, int(http2.ErrCodeEnhanceYourCalm))
				} else {
					err := rt.failure()
					wantConnErr(t, err)
					wantProtocolError(t, err, int(http2.ErrCodeEnhanceYourCalm))
				}
				h.wantConnFailed(sc, http2.ErrCodeEnhanceYourCalm)
			})
		})
	}
}

func TestH2HostileFewPingsAreFine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, id := startRequest(h)
		for i := range 100 {
			data := [8]byte{byte(i)}
			sc.writePing(false, data)
			if got := sc.wantPing(true).Data; got != data {
				t.Fatalf("PING %d answered with %v", i, got)
			}
		}
		sc.respond(id, 200, "ok")
		rt.wantBody("ok")
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials, want 1", n)
		}
	})
}

func TestH2HostileConnectionWindowOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, _ := startRequest(h)
		sc.writeWindowUpdate(0, 1<<31-1) // over 2^31-1 with the initial 65,535
		err := rt.failure()
		wantConnErr(t, err)
		wantProtocolError(t, err, int(http2.ErrCodeFlowControl))
		h.wantConnFailed(sc, http2.ErrCodeFlowControl)
	})
}

func TestH2HostileStreamWindowOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, id := startRequest(h)
		sc.writeWindowUpdate(id, 1<<31-1)
		sc.wantRSTStream(id, http2.ErrCodeFlowControl)
		wantProtocolError(t, rt.failure(), int(http2.ErrCodeFlowControl))
		h.wantStatsConsistent()
		h.wantNextGetSucceeds("a.test")
	})
}

func TestH2HostileDataBeyondWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, id := startRequest(h)
		sc.writeHeaders(id, false, ":status", "200")
		rt.response() // its body is not read: the stream's window is all the client buffers
		// Fill the windows, counting what the client grants meanwhile.
		sent := 0
		for {
			sc.wantIdle()
			window := min(sc.connWindow, sc.streamWindow(id))
			if window <= 0 {
				break
			}
			if sent > 64<<20 {
				t.Fatalf("the client took %d MiB on a stream whose body is not read, and grants more", sent>>20)
			}
			chunk := int(min(window, 16384))
			sc.writeData(id, false, make([]byte, chunk))
			sent += chunk
		}
		sc.fr.WriteData(id, false, []byte{0}) // one byte too many; the client may close meanwhile
		_, err := rt.readBody()
		wantProtocolError(t, err, int(http2.ErrCodeFlowControl))
		h.wantStreamOrConnReset(sc, id)
	})
}

func TestH2HostileFramesOnStreamsNeverOpened(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(sc *h2ServerConn, id uint32)
	}{
		{"data_on_idle_stream", func(sc *h2ServerConn, id uint32) {
			sc.writeData(99, false, []byte("unasked"))
		}},
		{"headers_on_idle_stream", func(sc *h2ServerConn, id uint32) {
			sc.writeHeaders(99, true, ":status", "200")
		}},
		{"headers_on_even_stream", func(sc *h2ServerConn, id uint32) {
			sc.writeHeaders(2, true, ":status", "200")
		}},
		{"push_promise", func(sc *h2ServerConn, id uint32) {
			sc.writePushPromise(http2.PushPromiseParam{
				StreamID: id, PromiseID: 2, EndHeaders: true,
				BlockFragment: sc.encode(":method", "GET", ":scheme", "http", ":authority", "a.test", ":path", "/pushed"),
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newH2Harness(t, Config{})
				rt, sc, id := startRequest(h)
				tc.write(sc, id)
				err := rt.failure()
				wantConnErr(t, err)
				wantProtocolError(t, err, int(http2.ErrCodeProtocol))
				h.wantConnFailed(sc, http2.ErrCodeProtocol)
			})
		})
	}
}

func TestH2HostileRefusesEveryStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		var conns []*h2ServerConn
		for deadline := time.Now().Add(time.Minute); !rt.done(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) || h.dials() > 100 {
				t.Fatalf("RoundTrip still running after %d dials, every stream refused", h.dials())
			}
			for sc := h.takeConn(); sc != nil; sc = h.takeConn() {
				sc.readPreface()
				sc.greet(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0})
				conns = append(conns, sc)
			}
			for _, sc := range conns {
				for f := sc.nextFrame(isFrame[*http2.HeadersFrame]); f != nil; f = sc.nextFrame(isFrame[*http2.HeadersFrame]) {
					if hf, ok := f.(*http2.HeadersFrame); ok {
						sc.fr.WriteRSTStream(sc.decodeHeaders(hf).StreamID, http2.ErrCodeRefusedStream)
					}
				}
			}
		}
		var se *StreamResetError
		if err := rt.failure(); !errors.As(err, &se) || se.Code != uint64(http2.ErrCodeRefusedStream) || se.Proto != "HTTP/2.0" {
			t.Errorf("error %v (%T); want a *StreamResetError with REFUSED_STREAM", err, err)
		}
		if n := h.dials(); n > 16 {
			t.Errorf("%d dials for one request; want at most 16", n)
		}
		h.wantStatsConsistent()
	})
}

func TestH2HostileGoAwayZeroLeftOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, _ := startRequest(h)
		sc.writeGoAway(0, http2.ErrCodeNo, "") // and never answers nor closes
		sc2 := h.nextConn()
		sc2.greet()
		req := sc2.wantHeaders()
		sc2.respond(req.StreamID, 200, "resent")
		rt.wantBody("resent")
		sc.wantClosed()
		if st := h.wantStatsConsistent(); st.Closed[CloseGoAway] != 1 || st.Open != 1 {
			t.Errorf("Stats: Open %d, Closed %v; want 1 open, %s: 1", st.Open, st.Closed, CloseGoAway)
		}
	})
}

func TestH2HostileNoSettings(t *testing.T) {
	for _, timeout := range []time.Duration{0, 2 * time.Second} {
		t.Run(fmt.Sprintf("HandshakeTimeout=%v", timeout), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newH2Harness(t, Config{HandshakeTimeout: timeout})
				rt := h.get("http://a.test/")
				sc := h.nextConn() // reads the preface, writes nothing
				wait := timeout
				if wait == 0 {
					wait = DefaultHandshakeTimeout
				}
				time.Sleep(wait)
				if !rt.done() {
					t.Fatalf("RoundTrip still waiting %v after the dial, the server silent; want it failed", wait)
				}
				var ne net.Error
				if err := rt.failure(); !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error %v (%T); want a net.Error whose Timeout is true", err, err)
				}
				sc.wantClosed()
				h.wantStatsConsistent()
				h.wantNextGetSucceeds("a.test")
			})
		})
	}
}

func TestH2HostileFirstFrameNotSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.writePing(false, [8]byte{})
		err := rt.failure()
		wantConnErr(t, err)
		wantProtocolError(t, err, int(http2.ErrCodeProtocol))
		sc.wantConnError(http2.ErrCodeProtocol)
		// The connection failed as it started: a failed dial or a close.
		if st := h.wantStatsConsistent(); st.Closed[CloseError]+st.DialErrors != 1 {
			t.Errorf("Stats: Closed %v, DialErrors %d; want the connection counted under %q or as a failed dial", st.Closed, st.DialErrors, CloseError)
		}
		h.wantNextGetSucceeds("a.test")
	})
}

func TestH2HostileCloseMidBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, id := startRequest(h)
		sc.writeHeaders(id, false, ":status", "200")
		sc.writeData(id, false, []byte("partial"))
		rt.response()
		sc.closeConn()
		body, err := rt.readBody()
		if !errors.Is(err, io.ErrUnexpectedEOF) || string(body) != "partial" {
			t.Errorf("body %q, error %v; want the partial body and io.ErrUnexpectedEOF", body, err)
		}
		h.wantStatsConsistent()
		h.wantNextGetSucceeds("a.test")
	})
}

func TestH2HostileCloseBeforeResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, _ := startRequest(h)
		sc.closeConn()
		ce := wantConnErr(t, rt.failure())
		if ce.Reused || !ce.RequestWritten {
			t.Errorf("ConnError{Reused: %v, RequestWritten: %v}; want a new connection, the request written", ce.Reused, ce.RequestWritten)
		}
		h.wantStatsConsistent()
		h.wantNextGetSucceeds("a.test")
	})
}

func TestH2HostileReadAfterBodyClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt, sc, id := startRequest(h)
		sc.writeHeaders(id, false, ":status", "200")
		sc.writeData(id, false, []byte("more to come"))
		body := rt.response().Body
		body.Close()
		if n, err := body.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrBodyClosed) {
			t.Errorf("Read after Close = %d, %v; want 0, ErrBodyClosed", n, err)
		}
	})
}
