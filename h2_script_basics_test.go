package httppool

// What any HTTP/2 engine of the Transport must do with a well-behaved
// server, played frame by frame (h2_script_test.go). These cases also show
// that the harness works.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/net/http2"
)

func TestH2ScriptGET(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/path?q=1")
		sc := h.nextConn()
		sc.greet()
		req := sc.wantHeaders()
		want := map[string]string{":method": "GET", ":scheme": "http", ":authority": "a.test", ":path": "/path?q=1"}
		for name, value := range want {
			if got := req.Header[name]; len(got) != 1 || got[0] != value {
				t.Errorf("request %s = %q, want %q", name, got, value)
			}
		}
		if !req.EndStream {
			t.Errorf("a GET's HEADERS did not end its stream")
		}
		sc.writeHeaders(req.StreamID, false, ":status", "200", "x-served-by", "script")
		sc.writeData(req.StreamID, true, []byte("hello"))
		resp := rt.response()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("X-Served-By") != "script" {
			t.Errorf("response %d %s, header %v", resp.StatusCode, resp.Proto, resp.Header)
		}
		rt.wantBody("hello")
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials, want 1", n)
		}
		h.wantStatsConsistent()
	})
}

func TestH2ScriptTrailers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		sc.writeHeaders(id, false, ":status", "200", "trailer", "x-checksum")
		sc.writeData(id, false, []byte("body"))
		sc.writeHeaders(id, true, "x-checksum", "abc")
		rt.wantBody("body")
		if got := rt.response().Trailer.Get("X-Checksum"); got != "abc" {
			t.Errorf("trailer X-Checksum = %q after the body, want %q (trailers %v)", got, "abc", rt.response().Trailer)
		}
	})
}

func TestH2ScriptInformationalResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		var got []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			got = append(got, fmt.Sprintf("%d %s", code, header.Get("Link")))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://a.test/", nil)
		rt := h.roundTrip(req)
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		sc.writeHeaders(id, false, ":status", "103", "link", "</style.css>; rel=preload")
		if rt.done() {
			t.Fatalf("RoundTrip returned after a 103: %v", rt.err)
		}
		sc.writeHeaders(id, true, ":status", "200")
		rt.wantStatus(200)
		if want := []string{"103 </style.css>; rel=preload"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Got1xxResponse calls %q, want %q", got, want)
		}
	})
}

func TestH2ScriptRequestBodyWaitsForWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		first := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		sc.respond(sc.wantHeaders().StreamID, 200, "")
		first.wantBody("") // the client has now read the server's SETTINGS

		body := strings.Repeat("0123456789", 2) + "01234"
		post, _ := http.NewRequest("POST", "http://a.test/upload", strings.NewReader(body))
		rt := h.roundTrip(post)
		req := sc.wantHeaders()
		if req.EndStream || req.field("content-length") != "25" {
			t.Fatalf("POST HEADERS: end of stream %v, content-length %q", req.EndStream, req.field("content-length"))
		}
		got := sc.wantData(req.StreamID, 10, false)
		sc.wantIdle() // the stream's window is spent
		sc.writeWindowUpdate(req.StreamID, 10)
		got = append(got, sc.wantData(req.StreamID, 10, false)...)
		sc.wantIdle()
		sc.writeWindowUpdate(req.StreamID, 5)
		got = append(got, sc.wantData(req.StreamID, 5, true)...)
		if string(got) != body {
			t.Errorf("server received %q, want %q", got, body)
		}
		sc.respond(req.StreamID, 200, "ok")
		rt.wantBody("ok")
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials, want 1", n)
		}
	})
}

func TestH2ScriptCancelWhileAwaitingHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		rt.cancel()
		sc.wantRSTStream(id, http2.ErrCodeCancel)
		if err := rt.failure(); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func TestH2ScriptBodyClosedEarlyResetsStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		sc.writeHeaders(id, false, ":status", "200")
		sc.writeData(id, false, []byte("part of a long body"))
		rt.response().Body.Close()
		sc.wantRSTStream(id, http2.ErrCodeCancel)
		h.wantNextGetSucceeds("a.test")
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials, want 1: a reset stream leaves its connection usable", n)
		}
	})
}

func TestH2ScriptServerPingIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		id := sc.wantHeaders().StreamID
		data := [8]byte{'s', 'c', 'r', 'i', 'p', 't', 'e', 'd'}
		sc.writePing(false, data)
		if got := sc.wantPing(true).Data; got != data {
			t.Errorf("PING ACK carries %q, want %q", got, data)
		}
		sc.respond(id, 200, "ok")
		rt.wantBody("ok")
	})
}

func TestH2ScriptClientDisablesPush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		h.get("http://a.test/")
		sc := h.nextConn()
		s := sc.wantSettings()
		if v, ok := s.Value(http2.SettingEnablePush); !ok || v != 0 {
			t.Errorf("client SETTINGS_ENABLE_PUSH = %d (sent: %v), want 0", v, ok)
		}
	})
}

func TestH2ScriptConcurrentRequestsShareOneConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rts := make([]*h2RoundTrip, 3)
		for i := range rts {
			rts[i] = h.get(fmt.Sprintf("http://a.test/%d", i))
		}
		sc := h.nextConn()
		sc.greet()
		streams := map[uint32]string{}
		for range rts {
			req := sc.wantHeaders()
			streams[req.StreamID] = req.field(":path")
		}
		if len(streams) != len(rts) {
			t.Fatalf("streams %v, want %d distinct streams", streams, len(rts))
		}
		for id, path := range streams {
			sc.respond(id, 200, path)
		}
		for i, rt := range rts {
			rt.wantBody(fmt.Sprintf("/%d", i))
		}
		if n := h.dials(); n != 1 {
			t.Errorf("%d dials for %d concurrent requests, want 1", n, len(rts))
		}
	})
}

func TestH2ScriptGoAwayResendsUnprocessedStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt1 := h.get("http://a.test/1")
		sc := h.nextConn()
		sc.greet()
		first := sc.wantHeaders()
		rt2 := h.get("http://a.test/2")
		second := sc.wantHeaders()
		sc.writeGoAway(first.StreamID, http2.ErrCodeNo, "")
		sc.respond(first.StreamID, 200, "one")
		rt1.wantBody("one")

		sc2 := h.nextConn()
		sc2.greet()
		again := sc2.wantHeaders()
		if got := again.field(":path"); got != "/2" {
			t.Fatalf("new connection got %q, want the stream above GOAWAY's last (/2, stream %d)", got, second.StreamID)
		}
		sc2.respond(again.StreamID, 200, "two")
		rt2.wantBody("two")

		sc.wantClosed() // once its last stream ended
		h.wantStatsConsistent()
	})
}

func TestH2ScriptCloseSendsGoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		sc.respond(sc.wantHeaders().StreamID, 200, "ok")
		rt.wantBody("ok")
		h.tr.Close()
		if g := sc.wantGoAway(); g.ErrCode != http2.ErrCodeNo {
			t.Errorf("got %s; want GOAWAY NO_ERROR", sc.describe(g))
		}
		sc.wantClosed()
	})
}
