package httppool

import (
	"testing"
	"testing/synctest"
)

// TestH2ScriptOriginFrame plays ORIGIN frames (RFC 8336): on stream 0 they
// build the connection's Origin Set; on another stream they are ignored;
// neither disturbs the exchange.
func TestH2ScriptOriginFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newH2Harness(t, Config{})
		rt := h.get("http://a.test/")
		sc := h.nextConn()
		sc.greet()
		req := sc.wantHeaders()
		sc.check("ORIGIN on a stream", sc.fr.WriteRawFrame(frameOrigin, 0, req.StreamID, originPayload("https://c.test")))
		cc := h2ConnOf(t, h, "a.test")
		synctest.Wait()
		if !cc.origins.allows("z.test:443") {
			t.Fatal("an ORIGIN frame on a stream other than 0 restricted the Origin Set")
		}
		sc.check("ORIGIN", sc.fr.WriteRawFrame(frameOrigin, 0, 0, originPayload("https://b.test")))
		sc.respond(req.StreamID, 200, "ok")
		rt.wantBody("ok")
		if !cc.origins.allows("b.test:443") || cc.origins.allows("c.test:443") || cc.origins.allows("z.test:443") {
			t.Errorf("Origin Set after ORIGIN(https://b.test) does not hold exactly b.test")
		}
		h.wantStatsConsistent()
	})
}

// originPayload returns an ORIGIN frame's payload listing origins.
func originPayload(origins ...string) []byte {
	return originFrame(origins)[9:]
}
