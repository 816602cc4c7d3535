package httppool

// A frame-scripted HTTP/2 server for tests, modelled on x/net's
// testClientConn: the test plays the server frame by frame inside a
// testing/synctest bubble, over in-memory connections that the Transport
// dials through Config.DialContext (h2c with prior knowledge, so no TLS).
// It drives only the public API, so it tests any HTTP/2 engine.
//
// Expectations (want*) first let the client run until it blocks
// (synctest.Wait), then read what it wrote. Housekeeping frames the client
// may write at any moment are skipped unless the expectation is about them:
// SETTINGS acknowledgements, PINGs (answered at once), WINDOW_UPDATEs
// (counted into the windows the client granted) and PRIORITY.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// scriptToClientBuffer bounds the bytes the server may write ahead of the
// client's reads, so that a server writing endlessly blocks, as over TCP,
// and finds its writes failing once the client closes the connection. The
// client's side is unbounded so that the client never blocks on a test
// that is busy writing.
const scriptToClientBuffer = 16 << 10

// h2Harness is a Transport whose every dial reaches a scripted server
// connection.
type h2Harness struct {
	t  *testing.T
	tr *Transport

	mu    sync.Mutex
	conns []*h2ServerConn // every dial, in order
	taken int             // how many of conns nextConn handed out
}

// newH2Harness returns a Transport configured by cfg, speaking h2c to
// scripted servers. It must be called inside synctest.Test; the Transport
// and every connection are closed when the test ends.
func newH2Harness(t *testing.T, cfg Config) *h2Harness {
	h := &h2Harness{t: t}
	cfg.HTTP2.H2C = true
	cfg.DialContext = h.dial
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	h.tr = New(cfg)
	t.Cleanup(func() {
		h.tr.Close()
		h.mu.Lock()
		conns := h.conns
		h.mu.Unlock()
		for _, sc := range conns {
			sc.nc.Close()
		}
	})
	return h
}

func (h *h2Harness) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := newScriptPipe(addr)
	sc := newH2ServerConn(h.t, addr, server, client)
	h.mu.Lock()
	h.conns = append(h.conns, sc)
	h.mu.Unlock()
	return client, nil
}

// dials returns how many connections the Transport dialed, once the client
// is blocked.
func (h *h2Harness) dials() int {
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// takeConn returns the oldest connection not yet handed to the test, or nil.
func (h *h2Harness) takeConn() *h2ServerConn {
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.taken == len(h.conns) {
		return nil
	}
	sc := h.conns[h.taken]
	h.taken++
	return sc
}

// nextConn returns the next connection the Transport dialed, with the
// client's preface read; the test fails if there is none.
func (h *h2Harness) nextConn() *h2ServerConn {
	h.t.Helper()
	sc := h.takeConn()
	if sc == nil {
		h.t.Fatalf("no new connection dialed (%d dials so far); want one", h.dials())
	}
	sc.readPreface()
	return sc
}

// openConns returns how many dialed connections the client has not closed.
func (h *h2Harness) openConns() int {
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, sc := range h.conns {
		if !sc.peer.closed.Load() {
			n++
		}
	}
	return n
}

// wantStatsConsistent checks that the Transport counts every dial, counts
// as open (or dialing) exactly the connections it has not closed, and the
// others as closed or, when they failed before they served, as failed dials.
func (h *h2Harness) wantStatsConsistent() Stats {
	h.t.Helper()
	open, dials := h.openConns(), h.dials()
	st := h.tr.Stats()
	var closed int64
	for _, n := range st.Closed {
		closed += n
	}
	if st.Dials != int64(dials) || st.Open+st.Dialing != open || int(closed+st.DialErrors) != dials-open {
		h.t.Fatalf("Stats: Dials %d, Open %d, Dialing %d, Closed %v, DialErrors %d; really %d open of %d dialed",
			st.Dials, st.Open, st.Dialing, st.Closed, st.DialErrors, open, dials)
	}
	return st
}

// get starts a GET of url.
func (h *h2Harness) get(url string) *h2RoundTrip {
	h.t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.roundTrip(req)
}

// roundTrip starts RoundTrip(req) in a goroutine and returns once the
// client is blocked; the request's context is cancelled when the test ends.
func (h *h2Harness) roundTrip(req *http.Request) *h2RoundTrip {
	ctx, cancel := context.WithCancel(req.Context())
	rt := &h2RoundTrip{t: h.t, cancel: cancel, donec: make(chan struct{})}
	req = req.WithContext(ctx)
	go func() {
		defer close(rt.donec)
		rt.resp, rt.err = h.tr.RoundTrip(req)
	}()
	synctest.Wait()
	h.t.Cleanup(func() {
		rt.cancel()
		if rt.done() && rt.resp != nil {
			rt.resp.Body.Close()
		}
	})
	return rt
}

// wantNextGetSucceeds checks that a GET to host works after a failure: it
// is answered on whichever connection it arrives, a new one (greeted) or
// one still open.
func (h *h2Harness) wantNextGetSucceeds(host string) {
	h.t.Helper()
	rt := h.get("http://" + host + "/next")
	for sc := h.takeConn(); sc != nil; sc = h.takeConn() {
		sc.readPreface()
		sc.greet()
	}
	h.mu.Lock()
	conns := h.conns[:h.taken]
	h.mu.Unlock()
	for i := len(conns) - 1; i >= 0; i-- {
		sc := conns[i]
		if sc.peer.closed.Load() || sc.addr != host+":80" {
			continue
		}
		// Skip what the client still had to say on an older connection.
		for f := sc.nextFrame(isFrame[*http2.HeadersFrame]); f != nil; f = sc.nextFrame(isFrame[*http2.HeadersFrame]) {
			if hf, ok := f.(*http2.HeadersFrame); ok {
				req := sc.decodeHeaders(hf)
				sc.respond(req.StreamID, 200, "next")
				rt.wantBody("next")
				return
			}
		}
	}
	h.t.Fatalf("the GET to %s after the failure reached no connection (%d dialed)", host, h.dials())
}

// h2RoundTrip is a RoundTrip running in its own goroutine.
type h2RoundTrip struct {
	t      *testing.T
	cancel context.CancelFunc
	donec  chan struct{}
	resp   *http.Response
	err    error

	bodyc   chan struct{} // closed when the body read started by readBodyAsync ends
	body    []byte
	bodyErr error
}

// done reports whether RoundTrip returned, once the client is blocked.
func (rt *h2RoundTrip) done() bool {
	synctest.Wait()
	select {
	case <-rt.donec:
		return true
	default:
		return false
	}
}

// result returns what RoundTrip returned; the test fails if it is running.
func (rt *h2RoundTrip) result() (*http.Response, error) {
	rt.t.Helper()
	if !rt.done() {
		rt.t.Fatalf("RoundTrip is still running; want it done")
	}
	return rt.resp, rt.err
}

// response returns the response; the test fails if RoundTrip failed.
func (rt *h2RoundTrip) response() *http.Response {
	rt.t.Helper()
	resp, err := rt.result()
	if err != nil {
		rt.t.Fatalf("RoundTrip: %v; want a response", err)
	}
	return resp
}

// failure returns RoundTrip's error; the test fails if it succeeded.
func (rt *h2RoundTrip) failure() error {
	rt.t.Helper()
	resp, err := rt.result()
	if err == nil {
		rt.t.Fatalf("RoundTrip succeeded (status %d); want an error", resp.StatusCode)
	}
	return err
}

// wantStatus checks the response's status code.
func (rt *h2RoundTrip) wantStatus(code int) {
	rt.t.Helper()
	if got := rt.response().StatusCode; got != code {
		rt.t.Fatalf("status %d, want %d", got, code)
	}
}

// readBodyAsync starts reading the response body to its end in a goroutine.
func (rt *h2RoundTrip) readBodyAsync() {
	rt.t.Helper()
	if rt.bodyc != nil {
		return
	}
	body := rt.response().Body
	rt.bodyc = make(chan struct{})
	go func() {
		defer close(rt.bodyc)
		rt.body, rt.bodyErr = io.ReadAll(body)
	}()
}

// bodyDone reports whether the body read started by readBodyAsync ended.
func (rt *h2RoundTrip) bodyDone() bool {
	rt.t.Helper()
	rt.readBodyAsync()
	synctest.Wait()
	select {
	case <-rt.bodyc:
		return true
	default:
		return false
	}
}

// readBody returns the body and the error that ended it; the test fails if
// the body's end has not arrived.
func (rt *h2RoundTrip) readBody() ([]byte, error) {
	rt.t.Helper()
	if !rt.bodyDone() {
		rt.t.Fatalf("response body read is blocked; want it ended")
	}
	return rt.body, rt.bodyErr
}

// wantBody checks that the body reads as want, then ends cleanly.
func (rt *h2RoundTrip) wantBody(want string) {
	rt.t.Helper()
	got, err := rt.readBody()
	if err != nil || string(got) != want {
		rt.t.Fatalf("body %q, error %v; want %q", got, err, want)
	}
}

// h2ServerConn is the server's end of one dialed connection, played by
// the test.
type h2ServerConn struct {
	t    *testing.T
	addr string      // what the client dialed
	nc   *scriptConn // the server's end
	peer *scriptConn // the client's end, to see whether the client closed it

	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder

	prefaceRead    bool
	clientSettings map[http2.SettingID]uint32 // from the client's first SETTINGS
	connWindow     int64                      // what the client lets the server send
	streamWindows  map[uint32]int64
	pingsAnswered  int
}

func newH2ServerConn(t *testing.T, addr string, nc, peer *scriptConn) *h2ServerConn {
	sc := &h2ServerConn{t: t, addr: addr, nc: nc, peer: peer, connWindow: 65535, streamWindows: map[uint32]int64{}}
	sc.fr = http2.NewFramer(nc, nc)
	sc.fr.SetMaxReadFrameSize(1<<24 - 1)
	sc.fr.AllowIllegalWrites = true
	sc.enc = hpack.NewEncoder(&sc.encBuf)
	sc.dec = hpack.NewDecoder(4096, nil)
	return sc
}

// readPreface reads the client's connection preface, once.
func (sc *h2ServerConn) readPreface() {
	sc.t.Helper()
	if sc.prefaceRead {
		return
	}
	synctest.Wait()
	if sc.nc.in.buffered() < len(http2.ClientPreface) {
		sc.t.Fatalf("the client wrote no connection preface (closed: %v)", sc.peer.closed.Load())
	}
	buf := make([]byte, len(http2.ClientPreface))
	io.ReadFull(sc.nc, buf)
	if string(buf) != http2.ClientPreface {
		sc.t.Fatalf("client preface %q, want %q", buf, http2.ClientPreface)
	}
	sc.prefaceRead = true
}

// greet reads the client's SETTINGS and answers with the server's own
// SETTINGS and an acknowledgement of the client's.
func (sc *h2ServerConn) greet(settings ...http2.Setting) *http2.SettingsFrame {
	sc.t.Helper()
	f := sc.wantSettings()
	sc.writeSettings(settings...)
	sc.writeSettingsAck()
	return f
}

// readFrame returns the client's next frame, or nil when the client, once
// blocked, has written no further whole frame.
func (sc *h2ServerConn) readFrame() http2.Frame {
	sc.t.Helper()
	sc.readPreface()
	if !sc.nc.in.hasFrame() {
		synctest.Wait()
		if !sc.nc.in.hasFrame() {
			return nil
		}
	}
	f, err := sc.fr.ReadFrame()
	if err != nil {
		sc.t.Fatalf("reading the client's frame: %v", err)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() && sc.clientSettings == nil {
			sc.clientSettings = map[http2.SettingID]uint32{}
			f.ForeachSetting(func(s http2.Setting) error {
				sc.clientSettings[s.ID] = s.Val
				return nil
			})
			if v, ok := sc.clientSettings[http2.SettingHeaderTableSize]; ok {
				sc.enc.SetMaxDynamicTableSizeLimit(v)
			}
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			sc.connWindow += int64(f.Increment)
		} else {
			sc.streamWindows[f.StreamID] = sc.streamWindow(f.StreamID) + int64(f.Increment)
		}
	}
	return f
}

// isFrame reports whether f is an F; it is nextFrame's keep for F.
func isFrame[F http2.Frame](f http2.Frame) bool {
	_, ok := f.(F)
	return ok
}

// nextFrame returns the client's next frame that keep accepts or that is
// not housekeeping, skipping (and answering) housekeeping frames; nil when
// there is none.
func (sc *h2ServerConn) nextFrame(keep func(http2.Frame) bool) http2.Frame {
	sc.t.Helper()
	for {
		f := sc.readFrame()
		if f == nil || keep(f) || !sc.housekeeping(f) {
			return f
		}
	}
}

// housekeeping reports whether f is a frame a client may write at any
// moment, and answers a PING.
func (sc *h2ServerConn) housekeeping(f http2.Frame) bool {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return f.IsAck()
	case *http2.PingFrame:
		if !f.IsAck() {
			sc.pingsAnswered++
			sc.fr.WritePing(true, f.Data) // fails only once the client closed
		}
		return true
	case *http2.WindowUpdateFrame, *http2.PriorityFrame:
		return true
	}
	return false
}

// wantFrame returns the client's next frame, which must be an F.
func wantFrame[F http2.Frame](sc *h2ServerConn) F {
	sc.t.Helper()
	f := sc.nextFrame(isFrame[F])
	got, ok := f.(F)
	if !ok {
		sc.t.Fatalf("got %s; want %T", sc.describe(f), got)
	}
	return got
}

// describe names a frame for a failure message.
func (sc *h2ServerConn) describe(f http2.Frame) string {
	switch f := f.(type) {
	case nil:
		if sc.peer.closed.Load() {
			return "no frame (the client closed the connection)"
		}
		return "no frame"
	case *http2.RSTStreamFrame:
		return fmt.Sprintf("RST_STREAM stream=%d %v", f.StreamID, f.ErrCode)
	case *http2.GoAwayFrame:
		return fmt.Sprintf("GOAWAY last=%d %v %q", f.LastStreamID, f.ErrCode, f.DebugData())
	}
	return f.Header().String()
}

// wantSettings returns the client's next SETTINGS frame that is not an
// acknowledgement.
func (sc *h2ServerConn) wantSettings() *http2.SettingsFrame {
	sc.t.Helper()
	f := sc.nextFrame(func(f http2.Frame) bool {
		s, ok := f.(*http2.SettingsFrame)
		return ok && !s.IsAck()
	})
	s, ok := f.(*http2.SettingsFrame)
	if !ok || s.IsAck() {
		sc.t.Fatalf("got %s; want SETTINGS", sc.describe(f))
	}
	return s
}

// h2Request is a header block the client sent.
type h2Request struct {
	StreamID  uint32
	EndStream bool
	Header    http.Header // pseudo-headers included, under their own names
}

// field returns the first value of a field, by its lower-case name.
func (r h2Request) field(name string) string {
	if v := r.Header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// wantHeaders reads the client's next header block (HEADERS and its
// CONTINUATIONs) and decodes it.
func (sc *h2ServerConn) wantHeaders() h2Request {
	sc.t.Helper()
	return sc.decodeHeaders(wantFrame[*http2.HeadersFrame](sc))
}

func (sc *h2ServerConn) decodeHeaders(hf *http2.HeadersFrame) h2Request {
	sc.t.Helper()
	req := h2Request{StreamID: hf.StreamID, EndStream: hf.StreamEnded(), Header: http.Header{}}
	sc.dec.SetEmitFunc(func(f hpack.HeaderField) {
		req.Header[f.Name] = append(req.Header[f.Name], f.Value)
	})
	frag, ended := hf.HeaderBlockFragment(), hf.HeadersEnded()
	for {
		if _, err := sc.dec.Write(frag); err != nil {
			sc.t.Fatalf("decoding the client's header block: %v", err)
		}
		if ended {
			break
		}
		f := sc.readFrame()
		cf, ok := f.(*http2.ContinuationFrame)
		if !ok {
			sc.t.Fatalf("got %s; want CONTINUATION", sc.describe(f))
		}
		frag, ended = cf.HeaderBlockFragment(), cf.HeadersEnded()
	}
	if err := sc.dec.Close(); err != nil {
		sc.t.Fatalf("decoding the client's header block: %v", err)
	}
	return req
}

// wantData reads the client's DATA frames on a stream until n bytes
// arrived and, with endStream, the stream ended; it returns the bytes.
func (sc *h2ServerConn) wantData(streamID uint32, n int, endStream bool) []byte {
	sc.t.Helper()
	var data []byte
	for ended := false; len(data) < n || endStream && !ended; {
		df := wantFrame[*http2.DataFrame](sc)
		if df.StreamID != streamID {
			sc.t.Fatalf("DATA on stream %d; want stream %d", df.StreamID, streamID)
		}
		if ended = df.StreamEnded(); ended && !endStream {
			sc.t.Fatalf("DATA ended stream %d after %d bytes; want %d bytes and no end", streamID, len(data)+len(df.Data()), n)
		}
		if data = append(data, df.Data()...); len(data) > n || ended && len(data) < n {
			sc.t.Fatalf("stream %d sent %d bytes (ended: %v); want %d", streamID, len(data), ended, n)
		}
	}
	return data
}

// wantRSTStream reads the client's RST_STREAM and checks its stream and code.
func (sc *h2ServerConn) wantRSTStream(streamID uint32, code http2.ErrCode) {
	sc.t.Helper()
	f := wantFrame[*http2.RSTStreamFrame](sc)
	if f.StreamID != streamID || f.ErrCode != code {
		sc.t.Fatalf("got %s; want RST_STREAM stream=%d %v", sc.describe(f), streamID, code)
	}
}

// wantGoAway reads the client's GOAWAY.
func (sc *h2ServerConn) wantGoAway() *http2.GoAwayFrame {
	sc.t.Helper()
	return wantFrame[*http2.GoAwayFrame](sc)
}

// wantPing reads the client's next PING whose ACK flag is ack; a PING
// read this way is not answered.
func (sc *h2ServerConn) wantPing(ack bool) *http2.PingFrame {
	sc.t.Helper()
	f := sc.nextFrame(func(f http2.Frame) bool {
		p, ok := f.(*http2.PingFrame)
		return ok && p.IsAck() == ack
	})
	p, ok := f.(*http2.PingFrame)
	if !ok || p.IsAck() != ack {
		sc.t.Fatalf("got %s; want PING with ACK %v", sc.describe(f), ack)
	}
	return p
}

// wantClosed checks that the client closed the connection, and returns the
// frames it wrote before (housekeeping ones handled, not returned).
func (sc *h2ServerConn) wantClosed() []http2.Frame {
	sc.t.Helper()
	var frames []http2.Frame
	for {
		f := sc.nextFrame(func(http2.Frame) bool { return false })
		if f == nil {
			break
		}
		frames = append(frames, f)
	}
	if !sc.peer.closed.Load() {
		sc.t.Fatalf("the client left the connection open (it wrote %d frames); want it closed", len(frames))
	}
	return frames
}

// wantConnError checks that the client closed the connection and that a
// GOAWAY, if it sent one, carries code.
func (sc *h2ServerConn) wantConnError(code http2.ErrCode) {
	sc.t.Helper()
	for _, f := range sc.wantClosed() {
		if g, ok := f.(*http2.GoAwayFrame); ok && g.ErrCode != code {
			sc.t.Fatalf("got %s; want GOAWAY %v before the close", sc.describe(g), code)
		}
	}
}

// wantIdle checks that the client, once blocked, wrote nothing more than
// housekeeping frames.
func (sc *h2ServerConn) wantIdle() {
	sc.t.Helper()
	if f := sc.nextFrame(func(http2.Frame) bool { return false }); f != nil {
		sc.t.Fatalf("got %s; want the client idle", sc.describe(f))
	}
}

// clientSetting returns a setting from the client's first SETTINGS, or def.
func (sc *h2ServerConn) clientSetting(id http2.SettingID, def uint32) uint32 {
	if v, ok := sc.clientSettings[id]; ok {
		return v
	}
	return def
}

// streamWindow returns what the client lets the server send on a stream,
// from what the server read so far.
func (sc *h2ServerConn) streamWindow(streamID uint32) int64 {
	if w, ok := sc.streamWindows[streamID]; ok {
		return w
	}
	return int64(sc.clientSetting(http2.SettingInitialWindowSize, 65535))
}

// check fails the test on a write error.
func (sc *h2ServerConn) check(what string, err error) {
	sc.t.Helper()
	if err != nil {
		sc.t.Fatalf("writing %s: %v", what, err)
	}
}

func (sc *h2ServerConn) writeSettings(settings ...http2.Setting) {
	sc.t.Helper()
	sc.check("SETTINGS", sc.fr.WriteSettings(settings...))
}

func (sc *h2ServerConn) writeSettingsAck() {
	sc.t.Helper()
	sc.check("SETTINGS ack", sc.fr.WriteSettingsAck())
}

// encode returns fields (name, value, name, value...) as a header block,
// encoded with the connection's HPACK state.
func (sc *h2ServerConn) encode(fields ...string) []byte {
	sc.t.Helper()
	if len(fields)%2 != 0 {
		sc.t.Fatalf("odd list of header fields %q", fields)
	}
	sc.encBuf.Reset()
	for i := 0; i < len(fields); i += 2 {
		sc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(sc.encBuf.Bytes())
}

// writeHeaders writes fields as one header block on a stream.
func (sc *h2ServerConn) writeHeaders(streamID uint32, endStream bool, fields ...string) {
	sc.t.Helper()
	sc.writeHeaderBlock(streamID, endStream, sc.encode(fields...))
}

// writeHeaderBlock writes an encoded block as HEADERS and as many
// CONTINUATIONs as the default maximum frame size needs.
func (sc *h2ServerConn) writeHeaderBlock(streamID uint32, endStream bool, block []byte) {
	sc.t.Helper()
	sc.check("a header block", sc.tryHeaderBlock(streamID, endStream, block))
}

// tryHeaderBlock is writeHeaderBlock for a client that may close the
// connection before the block's end: it returns the write error.
func (sc *h2ServerConn) tryHeaderBlock(streamID uint32, endStream bool, block []byte) error {
	const max = 16384
	frag := block[:min(len(block), max)]
	block = block[len(frag):]
	err := sc.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: streamID, BlockFragment: frag, EndStream: endStream, EndHeaders: len(block) == 0,
	})
	for err == nil && len(block) > 0 {
		frag = block[:min(len(block), max)]
		block = block[len(frag):]
		err = sc.fr.WriteContinuation(streamID, len(block) == 0, frag)
	}
	return err
}

func (sc *h2ServerConn) writeHeadersFrame(p http2.HeadersFrameParam) {
	sc.t.Helper()
	sc.check("HEADERS", sc.fr.WriteHeaders(p))
}

// writeData writes a DATA frame and counts it against the client's windows.
func (sc *h2ServerConn) writeData(streamID uint32, endStream bool, data []byte) {
	sc.t.Helper()
	sc.connWindow -= int64(len(data))
	sc.streamWindows[streamID] = sc.streamWindow(streamID) - int64(len(data))
	sc.check("DATA", sc.fr.WriteData(streamID, endStream, data))
}

func (sc *h2ServerConn) writeGoAway(lastStreamID uint32, code http2.ErrCode, debug string) {
	sc.t.Helper()
	sc.check("GOAWAY", sc.fr.WriteGoAway(lastStreamID, code, []byte(debug)))
}

func (sc *h2ServerConn) writePing(ack bool, data [8]byte) {
	sc.t.Helper()
	sc.check("PING", sc.fr.WritePing(ack, data))
}

func (sc *h2ServerConn) writeWindowUpdate(streamID, incr uint32) {
	sc.t.Helper()
	sc.check("WINDOW_UPDATE", sc.fr.WriteWindowUpdate(streamID, incr))
}

func (sc *h2ServerConn) writePushPromise(p http2.PushPromiseParam) {
	sc.t.Helper()
	sc.check("PUSH_PROMISE", sc.fr.WritePushPromise(p))
}

// respond answers a stream with a status and a body.
func (sc *h2ServerConn) respond(streamID uint32, status int, body string) {
	sc.t.Helper()
	sc.writeHeaders(streamID, body == "", ":status", strconv.Itoa(status), "content-length", strconv.Itoa(len(body)))
	if body != "" {
		sc.writeData(streamID, true, []byte(body))
	}
}

// flood writes frames with write until a write fails, as it does once the
// client closed the connection, or limit frames were written; it returns
// how many were written.
func (sc *h2ServerConn) flood(limit int, write func(fr *http2.Framer) error) int {
	for n := 0; n < limit; n++ {
		if write(sc.fr) != nil {
			return n
		}
	}
	return limit
}

// closeConn closes the server's end of the connection.
func (sc *h2ServerConn) closeConn() { sc.nc.Close() }

// scriptConn is one end of an in-memory connection. Unlike net.Pipe it
// buffers, so a writer need not wait for the reader, and the test can see
// what the client wrote once it is blocked. Its blocking operations wait on
// a sync.Cond, durably blocking in a synctest bubble; deadlines follow the
// bubble's clock.
type scriptConn struct {
	in, out *pipeBuffer
	closed  atomic.Bool
	addr    net.Addr
}

// newScriptPipe returns the two ends of a connection to addr; what the
// server writes is bounded by scriptToClientBuffer.
func newScriptPipe(addr string) (client, server *scriptConn) {
	toServer, toClient := newPipeBuffer(0), newPipeBuffer(scriptToClientBuffer)
	a := scriptAddr(addr)
	return &scriptConn{in: toClient, out: toServer, addr: a}, &scriptConn{in: toServer, out: toClient, addr: a}
}

func (c *scriptConn) Read(b []byte) (int, error)  { return c.in.read(b) }
func (c *scriptConn) Write(b []byte) (int, error) { return c.out.write(b) }

// Close makes this end's reads and writes fail, the peer's reads end after
// what is buffered, and the peer's writes fail as on a reset connection.
func (c *scriptConn) Close() error {
	c.closed.Store(true)
	c.in.closeReader()
	c.out.closeWriter()
	return nil
}

func (c *scriptConn) LocalAddr() net.Addr  { return c.addr }
func (c *scriptConn) RemoteAddr() net.Addr { return c.addr }

func (c *scriptConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *scriptConn) SetReadDeadline(t time.Time) error {
	c.in.setDeadline(&c.in.readDeadline, t)
	return nil
}

func (c *scriptConn) SetWriteDeadline(t time.Time) error {
	c.out.setDeadline(&c.out.writeDeadline, t)
	return nil
}

type scriptAddr string

func (a scriptAddr) Network() string { return "script" }
func (a scriptAddr) String() string  { return string(a) }

// pipeBuffer is one direction of a scriptConn.
type pipeBuffer struct {
	mu            sync.Mutex
	cond          sync.Cond
	buf           bytes.Buffer
	limit         int  // bytes buffered at most; 0 means no limit
	readerClosed  bool // writes fail
	writerClosed  bool // reads end once the buffer is empty
	readDeadline  pipeDeadline
	writeDeadline pipeDeadline
}

type pipeDeadline struct {
	at    time.Time
	timer *time.Timer
}

func (d *pipeDeadline) passed() bool { return !d.at.IsZero() && !time.Now().Before(d.at) }

func newPipeBuffer(limit int) *pipeBuffer {
	p := &pipeBuffer{limit: limit}
	p.cond.L = &p.mu
	return p
}

func (p *pipeBuffer) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.readerClosed:
			return 0, net.ErrClosed
		case p.buf.Len() > 0:
			n, _ := p.buf.Read(b)
			p.cond.Broadcast()
			return n, nil
		case p.writerClosed:
			return 0, io.EOF
		case p.readDeadline.passed():
			return 0, &net.OpError{Op: "read", Net: "script", Err: os.ErrDeadlineExceeded}
		}
		p.cond.Wait()
	}
}

func (p *pipeBuffer) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for {
		switch {
		case p.writerClosed:
			return n, net.ErrClosed
		case p.readerClosed:
			return n, &net.OpError{Op: "write", Net: "script", Err: syscall.EPIPE}
		case p.writeDeadline.passed():
			return n, &net.OpError{Op: "write", Net: "script", Err: os.ErrDeadlineExceeded}
		case len(b) == 0:
			return n, nil
		}
		room := len(b)
		if p.limit > 0 {
			room = min(room, p.limit-p.buf.Len())
		}
		if room > 0 {
			p.buf.Write(b[:room])
			b, n = b[room:], n+room
			p.cond.Broadcast()
			continue
		}
		p.cond.Wait()
	}
}

func (p *pipeBuffer) setDeadline(d *pipeDeadline, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.at = at
	if wait := time.Until(at); !at.IsZero() && wait > 0 {
		d.timer = time.AfterFunc(wait, func() {
			p.mu.Lock()
			p.cond.Broadcast()
			p.mu.Unlock()
		})
	}
	p.cond.Broadcast()
}

func (p *pipeBuffer) closeReader() {
	p.mu.Lock()
	p.readerClosed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipeBuffer) closeWriter() {
	p.mu.Lock()
	p.writerClosed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// buffered returns how many bytes wait to be read.
func (p *pipeBuffer) buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Len()
}

// hasFrame reports whether a whole HTTP/2 frame waits to be read.
func (p *pipeBuffer) hasFrame() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf.Bytes()
	if len(b) < 9 {
		return false
	}
	length := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	return len(b) >= 9+length
}

// Error checks shared by the HTTP/2 tests.

// wantProtocolError checks that err is, or wraps, an HTTP/2 *ProtocolError
// with code (any code when code < 0), and returns it.
func wantProtocolError(t *testing.T, err error, code int) *ProtocolError {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T); want a *ProtocolError", err, err)
	}
	if pe.Proto != "HTTP/2.0" || code >= 0 && pe.Code != uint64(code) {
		t.Fatalf("ProtocolError{Proto: %q, Code: %d, Err: %v}; want Proto HTTP/2.0, code %d", pe.Proto, pe.Code, pe.Err, code)
	}
	return pe
}

// wantConnErr checks that a RoundTrip error is a *ConnError.
func wantConnErr(t *testing.T, err error) *ConnError {
	t.Helper()
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T); want a *ConnError", err, err)
	}
	return ce
}
