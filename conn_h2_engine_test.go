package httppool

// What our HTTP/2 engine promises beyond any engine's basics: an idle
// connection parks its read loop and gives its buffers back, what arrives
// while it is parked is read when it is next used, and flow control never
// lets one unread body stall the others.

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// h2ConnOf returns the HTTP/2 connection of host in the harness's pool.
func h2ConnOf(t *testing.T, h *h2Harness, host string) *h2Conn {
	t.Helper()
	key, err := h.tr.c.keyForURL("http://" + host)
	if err != nil {
		t.Fatal(err)
	}
	hp := h.tr.c.hostPoolFor(key)
	hp.mu.Lock()
	defer hp.mu.Unlock()
	for cn := hp.conns.head; cn != nil; cn = cn.base().next {
		if cc, ok := cn.(*h2Conn); ok {
			return cc
		}
	}
	t.Fatalf("no HTTP/2 connection to %s in the pool", host)
	return nil
}

func TestH2IdleConnectionParksItsReadLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		sc.respond(sc.wantHeaders().StreamID, 200, "one")
		rt.wantBody("one")
		cc := h2ConnOf(t, h, "a.test")
		if !cc.reading.Load() {
			t.Fatal("the read loop stopped while the connection was in use")
		}

		time.Sleep(2 * h2ParkAfter)
		synctest.Wait()
		cc.wmu.Lock()
		writeBuffers := cc.buf != nil || cc.spare != nil
		cc.wmu.Unlock()
		if cc.reading.Load() || cc.br != nil || writeBuffers {
			t.Fatalf("idle for %v: read loop running %v, read buffer held %v, write buffers held %v; want none",
				2*h2ParkAfter, cc.reading.Load(), cc.br != nil, writeBuffers)
		}

		rt = h.get("http://a.test/2")
		sc.respond(sc.wantHeaders().StreamID, 200, "two")
		rt.wantBody("two")
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials, want the parked connection reused", n)
		}
		h.wantStatsConsistent()
	})
}

func TestH2GoAwayWhileParkedSendsTheRequestElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		sc.respond(sc.wantHeaders().StreamID, 200, "one")
		rt.wantBody("one")
		time.Sleep(2 * h2ParkAfter)
		sc.writeGoAway(1, http2.ErrCodeNo, "")
		synctest.Wait()

		rt = h.get("http://a.test/2")
		sc2 := h.nextConn()
		sc2.greet()
		sc2.respond(sc2.wantHeaders().StreamID, 200, "two")
		rt.wantBody("two")
		sc.wantClosed()
		if st := h.wantStatsConsistent(); st.Closed[CloseGoAway] != 1 {
			t.Errorf("Closed %v; want the parked connection closed for its GOAWAY", st.Closed)
		}
	})
}

func TestH2PingWhileParkedIsAnsweredOnReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		sc.respond(sc.wantHeaders().StreamID, 200, "one")
		rt.wantBody("one")
		time.Sleep(2 * h2ParkAfter)
		data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
		sc.writePing(false, data)

		rt = h.get("http://a.test/2")
		sc.respond(sc.wantHeaders().StreamID, 200, "two")
		rt.wantBody("two")
		if ack := sc.wantPing(true); ack.Data != data {
			t.Errorf("PING answered with %v, want %v", ack.Data, data)
		}
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials; a PING is no reason for a new connection", n)
		}
	})
}

func TestH2ServerCloseIsCountedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		sc.respond(sc.wantHeaders().StreamID, 200, "one")
		rt.wantBody("one")
		sc.closeConn() // while the read loop still runs
		synctest.Wait()
		st := h.wantStatsConsistent()
		if st.Open != 0 || st.Idle != 0 || st.HTTP2 != 0 || st.Closed[CloseServerClosed] != 1 {
			t.Errorf("after the server closed the idle connection: %+v; want nothing open, one %s", st, CloseServerClosed)
		}
	})
}

// An unread body holds only its stream's window: the connection's credit
// comes back as data arrives, so the other streams go on.
func TestH2UnreadBodyDoesNotStallTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const streamWindow, connWindow = 64 << 10, 256 << 10
		h := newH2Harness(t, Config{HTTP2: HTTP2Config{
			MaxReceiveBufferPerStream: streamWindow, MaxReceiveBufferPerConnection: connWindow}})
		slow := h.get("http://a.test/unread")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		sc.writeHeaders(id, false, ":status", "200")
		chunk := bytes.Repeat([]byte("x"), 16<<10)
		for range streamWindow / len(chunk) {
			sc.writeData(id, false, chunk) // fills the stream's window; nobody reads it
		}
		slow.response()

		for i := range 2 * connWindow / streamWindow {
			rt := h.get("http://a.test/read")
			id := sc.wantHeaders().StreamID
			sc.writeHeaders(id, false, ":status", "200")
			for range streamWindow / len(chunk) {
				sc.writeData(id, false, chunk)
			}
			sc.writeData(id, true, nil)
			b, err := rt.readBody()
			if err != nil || len(b) != streamWindow {
				t.Fatalf("request %d: %d bytes, %v; want %d", i, len(b), err, streamWindow)
			}
		}
		if sc.connWindow < 0 {
			t.Errorf("the server overran the connection's window by %d bytes", -sc.connWindow)
		}
	})
}

func TestH2RequestTrailers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		req, _ := http.NewRequest("POST", "http://a.test/", io.NopCloser(strings.NewReader("body")))
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Checksum": nil}
		req.Trailer.Set("X-Checksum", "abc")
		rt := h.roundTrip(req)
		sc := h.nextConn()
		sc.greet()
		head := sc.wantHeaders()
		if head.EndStream || head.field("trailer") != "X-Checksum" {
			t.Errorf("request head: END_STREAM %v, trailer %q; want open, X-Checksum", head.EndStream, head.field("trailer"))
		}
		if b := sc.wantData(head.StreamID, 4, false); string(b) != "body" {
			t.Errorf("request body %q", b)
		}
		trailers := sc.wantHeaders()
		if !trailers.EndStream || trailers.field("x-checksum") != "abc" {
			t.Errorf("request trailers: END_STREAM %v, x-checksum %q; want the end, abc", trailers.EndStream, trailers.field("x-checksum"))
		}
		sc.respond(head.StreamID, 200, "ok")
		rt.wantBody("ok")
	})
}

func TestH2GzipAsOnHTTP1(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		req := sc.wantHeaders()
		if req.field("accept-encoding") != "gzip" {
			t.Errorf("accept-encoding %q, want gzip", req.field("accept-encoding"))
		}
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write([]byte("hello, gzip"))
		zw.Close()
		sc.writeHeaders(req.StreamID, false, ":status", "200", "content-encoding", "gzip", "content-length", strconv.Itoa(zipped.Len()))
		sc.writeData(req.StreamID, true, zipped.Bytes())
		resp := rt.response()
		if !resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" || resp.ContentLength != -1 {
			t.Errorf("Uncompressed %v, Content-Encoding %q, ContentLength %d; want true, none, -1",
				resp.Uncompressed, resp.Header.Get("Content-Encoding"), resp.ContentLength)
		}
		rt.wantBody("hello, gzip")
	})
}

// A server that lowers its stream limit between the pool's giving out a
// slot and the stream's opening: the request goes to another connection,
// as one the server did not process, and the limit is never exceeded.
func TestH2LoweredLimitBeforeTheStreamOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		first := sc.wantHeaders()

		// The second request has its slot (limit 100) and waits to open;
		// meanwhile the server allows one stream, which the first holds.
		lowered := make(chan struct{})
		testHookH2Open = func() { <-lowered }
		t.Cleanup(func() { testHookH2Open = nil })
		rt2 := h.get("http://a.test/2")
		testHookH2Open = nil
		sc.writeSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
		synctest.Wait()
		close(lowered)

		sc2 := h.nextConn() // the second request, on a connection of its own
		sc2.greet()
		sc2.respond(sc2.wantHeaders().StreamID, 200, "two")
		rt2.wantBody("two")
		sc.respond(first.StreamID, 200, "one")
		rt.wantBody("one")
		if st := h.tr.Stats(); st.Retries != 1 {
			t.Errorf("Stats %+v; want the second request sent again once", st)
		}
	})
}

// A connection receiving a download is alive: the health check's PING is
// for connections the server has gone quiet on, whichever way the frames
// are read.
func TestH2NoHealthCheckWhileDataArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{HTTP2: HTTP2Config{SendPingTimeout: 100 * time.Millisecond}})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		sc.writeHeaders(id, false, ":status", "200")
		rt.response()
		rt.readBodyAsync()
		for range 40 {
			time.Sleep(25 * time.Millisecond)
			sc.writeData(id, false, []byte("chunk"))
			synctest.Wait()
			sc.wantIdle()
		}
		sc.writeData(id, true, nil)
		if _, err := rt.readBody(); err != nil {
			t.Fatal(err)
		}
		if sc.pingsAnswered != 0 {
			t.Errorf("%d PINGs during a download with a frame every 25ms; want none before 100ms of quiet", sc.pingsAnswered)
		}
	})
}
