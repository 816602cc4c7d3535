package httppool

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool/internal/wire"
)

// aLongTimeAgo is a deadline in the past: setting it unblocks any I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

const (
	bufferSize = 4 << 10
	// maxDrain and drainTimeout bound what Close of an unfinished body reads
	// to save its connection; past either, the connection is closed instead.
	maxDrain     = 16 << 10
	drainTimeout = 50 * time.Millisecond
	// earlyResponseWait is how long a request whose body could not be written
	// waits for a response the server may have sent before closing (a 413, say).
	earlyResponseWait = 50 * time.Millisecond
	// tlsRecordWait bounds how long a check of an idle TLS connection lets
	// crypto/tls read records that the socket already holds, to tell a
	// late session ticket (not a response) from application data.
	tlsRecordWait = time.Millisecond
)

// connBuffers is what a connection needs only while a request is in
// flight; an idle connection hands it back to buffersPool.
type connBuffers struct {
	br      *bufio.Reader
	bw      *bufio.Writer
	chunked wire.ChunkedReader // the chunked response body being read
	host    hostMemo           // the last Host validated; any connection may use it
	heads   wire.HeadCache     // the last response head; any connection may use it
}

var buffersPool = sync.Pool{New: func() any {
	return &connBuffers{br: bufio.NewReaderSize(nil, bufferSize), bw: bufio.NewWriterSize(nil, bufferSize)}
}}

// h1Conn is one HTTP/1.1 connection. It serves one request at a time on the
// caller's goroutine and holds buffers only while a request is in flight.
type h1Conn struct {
	connBase
	probe    *livenessProbe // nil when nc is not a socket
	tc       *tls.Conn      // nc, when it is TLS
	tlsState *tls.ConnectionState
	bufs     *connBuffers // nil while idle

	// The last request this connection may serve, from the server's
	// Keep-Alive header; zero means not announced.
	keepAliveLast int

	// The request in flight. aborted is set, before the deadline is spoiled,
	// by a context that ended or a Close that interrupted a Read.
	ctx         context.Context
	trace       *httptrace.ClientTrace // nil when the request has none
	firstByte   bool                   // GotFirstResponseByte fired
	nread       int64                  // bytes read from nc for this request
	nwritten    int64                  // bytes written to nc for this request
	mustClose   bool                   // the request or response said "Connection: close"
	http10Close bool                   // the response is HTTP/1.0 without keep-alive
	unsolicited bool                   // bytes arrived after the response's end
	bodyUnsent  bool                   // the response came before all of the request body went
	bodyStarted bool                   // the request body was read from (and so closed)
	headBudget  int                    // response head bytes still allowed in this exchange
	yieldToRead bool                   // other requests of the host were in flight at checkout
	aborted     atomic.Bool
	stopCancel  func() bool
	abortFn     func()
}

// connReader and connWriter sit under the bufio buffers and count the bytes
// of the request in flight, which the retry policy needs.
type connReader h1Conn
type connWriter h1Conn

func (r *connReader) Read(p []byte) (int, error) {
	n, err := r.nc.Read(p)
	r.nread += int64(n)
	return n, err
}

func (w *connWriter) Write(p []byte) (int, error) {
	n, err := w.nc.Write(p)
	w.nwritten += int64(n)
	return n, err
}

func newH1Conn(hp *hostPool, nc net.Conn) *h1Conn {
	pc := &h1Conn{probe: newLivenessProbe(nc)}
	pc.connBase.init(hp, nc, protoH1)
	pc.tc, _ = nc.(*tls.Conn)
	pc.abortFn = pc.abort
	return pc
}

func (pc *h1Conn) base() *connBase              { return &pc.connBase }
func (pc *h1Conn) capacity() int                { return 1 }
func (pc *h1Conn) ready() <-chan struct{}       { return nil }
func (pc *h1Conn) checkReuse() closeReason      { return pc.unreadInput() }
func (pc *h1Conn) blindToClose() bool           { return pc.probe == nil }
func (pc *h1Conn) closeTransport(graceful bool) { pc.nc.Close() }

// forward returns the proxy route when requests on pc go to an HTTP proxy
// in absolute form, nil otherwise.
func (pc *h1Conn) forward() *proxyRoute {
	if r := &pc.hp.route; r.route == routeForward {
		return r
	}
	return nil
}

// abort interrupts the I/O in flight; the connection is then never reused.
func (pc *h1Conn) abort() {
	pc.aborted.Store(true)
	pc.nc.SetDeadline(aLongTimeAgo)
}

// setReadDeadline sets a read deadline unless an abort came first, whose
// spoiled deadline it must not undo.
func (pc *h1Conn) setReadDeadline(t time.Time) error {
	pc.nc.SetReadDeadline(t)
	if pc.aborted.Load() {
		return pc.abortErr()
	}
	return nil
}

func (pc *h1Conn) abortErr() error {
	if err := pc.ctx.Err(); err != nil {
		return err
	}
	return ErrBodyClosed
}

// ioErr turns an I/O error caused by an abort into the context's error.
func (pc *h1Conn) ioErr(err error) error {
	if pc.aborted.Load() {
		return pc.abortErr()
	}
	return err
}

func (pc *h1Conn) acquireBuffers() {
	if pc.bufs != nil {
		return
	}
	b := buffersPool.Get().(*connBuffers)
	b.br.Reset((*connReader)(pc))
	b.bw.Reset((*connWriter)(pc))
	pc.bufs = b
}

func (pc *h1Conn) releaseBuffers() {
	b := pc.bufs
	if b == nil {
		return
	}
	b.br.Reset(nil)
	b.bw.Reset(nil)
	b.chunked = wire.ChunkedReader{} // let go of the response it read
	buffersPool.Put(b)
	pc.bufs = nil
}

// unreadInput checks a connection about to take a request, however briefly
// it was idle: a request is never written behind bytes that arrived
// unasked, since its response would then be those bytes. Such bytes may sit
// in crypto/tls's decrypted input, where no socket peek sees them, or in
// the socket. The check costs one system call (two deadline changes more
// on TLS); a connection that gets a request is always checked.
func (pc *h1Conn) unreadInput() closeReason {
	if pc.tc != nil {
		if r := pc.tlsInput(aLongTimeAgo); r != closeReasonNone {
			return r
		}
	}
	r := pc.probe.check()
	if r == closeReasonUnsolicited && pc.tc != nil {
		// A record that is not application data (a session ticket sent
		// late, say) answers no request but breaks nothing: let crypto/tls
		// consume it, then look again.
		if r = pc.tlsInput(time.Now().Add(tlsRecordWait)); r == closeReasonNone {
			r = pc.probe.check()
		}
	}
	return r
}

// tlsInput reads from an idle TLS connection until deadline: application
// data there was sent unasked. With a deadline in the past it reads only
// what crypto/tls holds already, decrypted or in whole records.
func (pc *h1Conn) tlsInput(deadline time.Time) closeReason {
	var b [1]byte
	pc.tc.SetReadDeadline(deadline)
	n, err := pc.tc.Read(b[:])
	pc.tc.SetReadDeadline(time.Time{})
	switch {
	case n > 0:
		return closeReasonUnsolicited
	case errors.Is(err, os.ErrDeadlineExceeded):
		return closeReasonNone
	}
	return closeReasonServerClosed // close_notify, EOF or a broken record
}

// reuseVerdict decides, once a response was read to its end, whether the
// connection may serve another request.
func (pc *h1Conn) reuseVerdict() closeReason {
	cfg := &pc.hp.core.cfg
	switch {
	case pc.aborted.Load():
		return closeReasonError
	case cfg.DisableKeepAlives:
		return closeReasonNoPooling
	case pc.bodyUnsent:
		return closeReasonBodyUnsent
	case pc.mustClose && pc.http10Close:
		return closeReasonHTTP10
	case pc.mustClose:
		return closeReasonConnectionClose
	case pc.unsolicited || pc.bufs.br.Buffered() > 0:
		return closeReasonUnsolicited // bytes nobody asked for: the stream is out of step
	case cfg.MaxRequestsPerConn > 0 && pc.served >= cfg.MaxRequestsPerConn:
		return closeReasonMaxRequests
	case pc.keepAliveLast > 0 && pc.served >= pc.keepAliveLast:
		return closeReasonKeepAlive
	case !pc.expiresAt.IsZero() && !time.Now().Before(pc.expiresAt):
		return closeReasonMaxLifetime
	}
	return closeReasonNone
}

// finish ends the request in flight: the connection goes back to the pool
// when reason is closeReasonNone and nothing else argues against it.
func (pc *h1Conn) finish(reason closeReason) {
	if pc.stopCancel != nil {
		if !pc.stopCancel() {
			pc.aborted.Store(true) // the context fired: the deadline is spoiled
		}
		pc.stopCancel = nil
	}
	if reason == closeReasonNone {
		reason = pc.reuseVerdict()
	}
	pc.releaseBuffers()
	trace := pc.trace
	pc.ctx, pc.trace = nil, nil
	if reason != closeReasonNone {
		pc.hp.release(pc, reason)
		return
	}
	// pc may now serve another request: touch it no more.
	tracePutIdleConn(trace, pc.hp.release(pc, closeReasonNone))
}

// roundTrip writes req and reads its response head. On error the connection
// is already given back, closed, and t says how far the exchange went.
func (pc *h1Conn) roundTrip(ctx context.Context, req *http.Request, t try) (*http.Response, outcome, error) {
	pc.yieldToRead = t.busy
	pc.ctx, pc.trace, pc.firstByte = ctx, t.trace, false
	pc.nread, pc.nwritten, pc.mustClose, pc.http10Close = 0, 0, req.Close, false
	pc.bodyStarted, pc.unsolicited, pc.bodyUnsent = false, false, false
	pc.headBudget = pc.hp.core.cfg.maxResponseHeaderBytes()
	pc.acquireBuffers()
	if ctx.Done() != nil {
		pc.stopCancel = context.AfterFunc(ctx, pc.abortFn)
	}
	r := new(h1Response) // the response and its body in one allocation
	resp := &r.resp
	resp.Request = req
	resp.TLS = pc.tlsState
	gz := pc.hp.core.wantsGzip(req)
	kind, err := pc.exchange(req, resp, gz)
	if err != nil {
		reason := closeReasonError
		if pc.served > 1 && pc.nread == 0 && isConnGone(err) {
			reason = closeReasonServerClosed // closed while idle: the retry policy's case
		}
		out := outcome{written: pc.nwritten > 0, responded: pc.nread > 0, bodyStarted: pc.bodyStarted}
		pc.finish(reason)
		return nil, out, h1Error(err)
	}
	if resp.Close {
		pc.mustClose = true
		// Without a "Connection: close" of its own, an HTTP/1.0 response
		// closes for want of keep-alive: a reason of its own in Stats.
		pc.http10Close = !askedToClose(req, resp)
	} else if ka := resp.Header["Keep-Alive"]; len(ka) > 0 && !pc.hp.core.cfg.IgnoreKeepAliveHeader {
		pc.noteKeepAlive(ka, time.Now())
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return pc.upgrade(resp), outcome{}, nil
	}
	if kind == wire.NoBody {
		resp.Body = http.NoBody
		pc.finish(closeReasonNone)
		pc.hp.core.requestDone()
		return resp, outcome{}, nil
	}
	b := &r.body
	b.pc, b.kind = pc, kind
	switch kind {
	case wire.LengthBody:
		b.remaining = resp.ContentLength
	case wire.ChunkedBody:
		pc.bufs.chunked.Reset(pc.bufs.br, &resp.Trailer, pc.hp.core.cfg.maxResponseHeaderBytes())
	}
	resp.Body = b
	if gz && gzipEncoded(resp.Header["Content-Encoding"]) {
		decodeGzip(resp, b)
	}
	return resp, outcome{}, nil
}

// exchange writes the request and reads the final response head into resp.
// The request body is closed once writing it began; before that it is left
// to the caller, which may send it again on another connection.
func (pc *h1Conn) exchange(req *http.Request, resp *http.Response, gz bool) (wire.BodyKind, error) {
	cfg := &pc.hp.core.cfg
	hasBody := req.Body != nil && req.Body != http.NoBody
	head := headOptions{gzip: gz, forward: pc.forward(), close: cfg.DisableKeepAlives, host: &pc.bufs.host}
	if err := writeRequestHead(pc.bufs.bw, req, head); err != nil {
		return 0, pc.wroteRequest(pc.ioErr(err))
	}
	if t := pc.trace; t != nil && t.WroteHeaders != nil {
		t.WroteHeaders()
	}
	if hasBody && cfg.expectContinueTimeout() > 0 && expectsContinue(req) {
		if err := pc.bufs.bw.Flush(); err != nil {
			return 0, pc.wroteRequest(pc.ioErr(err))
		}
		if t := pc.trace; t != nil && t.Wait100Continue != nil {
			t.Wait100Continue()
		}
		kind, final, err := pc.awaitContinue(req, resp, cfg.expectContinueTimeout())
		if err != nil {
			return 0, err
		}
		if final {
			// The server answered without wanting the body: it is not sent,
			// so the server's reader is out of step with the connection.
			pc.bodyStarted = true
			closeRequestBody(req)
			pc.bodyUnsent = true
			pc.wroteRequest(nil)
			return kind, nil
		}
	} else if hasBody && req.GetBody == nil && pc.served > 1 {
		// A body that cannot be replayed is not read until the reused
		// connection took the head, so a dead connection leaves it intact
		// for a retry on another.
		if err := pc.bufs.bw.Flush(); err != nil {
			return 0, pc.wroteRequest(pc.ioErr(err))
		}
	}
	if hasBody {
		pc.bodyStarted = true
		early, err := pc.writeBody(req)
		if early {
			// The server answered while the body was going out. Unless all
			// of it went, the server's reader is out of step: the
			// connection closes after this response.
			pc.wroteRequest(pc.ioErr(err))
			if pc.aborted.Load() {
				return 0, pc.abortErr()
			}
			pc.bodyUnsent = err != nil
			return pc.readHead(req, resp, false)
		}
		if err != nil {
			var be *requestBodyError
			if errors.As(err, &be) {
				return 0, pc.wroteRequest(err)
			}
			pc.wroteRequest(pc.ioErr(err))
			return pc.earlyResponse(req, resp, pc.ioErr(err))
		}
	} else if err := pc.bufs.bw.Flush(); err != nil {
		return 0, pc.wroteRequest(pc.ioErr(err))
	}
	pc.wroteRequest(nil)
	if pc.yieldToRead {
		// The response cannot have arrived yet: reading now would cost a
		// failed read and a park in the netpoller. Letting the goroutines
		// of the other requests in flight run first gives the server that
		// time, so the read usually finds the response; at concurrency 64
		// this halves the client's reads (see BenchmarkGET).
		runtime.Gosched()
	}
	return pc.readHead(req, resp, false)
}

// awaitContinue waits up to timeout for the server's answer to "Expect:
// 100-continue". It reports final when the server sent its final response
// instead, which is then in resp.
func (pc *h1Conn) awaitContinue(req *http.Request, resp *http.Response, timeout time.Duration) (wire.BodyKind, bool, error) {
	if err := pc.setReadDeadline(time.Now().Add(timeout)); err != nil {
		return 0, false, err
	}
	_, err := pc.bufs.br.Peek(1)
	if derr := pc.setReadDeadline(time.Time{}); derr != nil {
		return 0, false, derr
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, false, nil // no answer in time: send the body
		}
		return 0, false, pc.ioErr(err)
	}
	kind, err := pc.readHead(req, resp, true)
	if err != nil {
		return 0, false, err
	}
	return kind, resp.StatusCode != http.StatusContinue, nil
}

// earlyResponse handles a request body write that failed: the server may
// have answered and closed already, and its answer is worth more than the
// write error.
func (pc *h1Conn) earlyResponse(req *http.Request, resp *http.Response, werr error) (wire.BodyKind, error) {
	if pc.aborted.Load() || pc.setReadDeadline(time.Now().Add(earlyResponseWait)) != nil {
		return 0, werr
	}
	kind, err := pc.readHead(req, resp, false)
	if err != nil {
		return 0, werr
	}
	if pc.setReadDeadline(time.Time{}) != nil {
		return 0, werr
	}
	pc.bodyUnsent = true
	return kind, nil
}

// readHead reads the response head, skipping informational responses. With
// stopAt100 set, a "100 Continue" is returned to the caller. As in net/http,
// the heads of one exchange, 1xx ones included, share one budget of
// Config.MaxResponseHeaderBytes, so a flood of 1xx responses ends soon.
func (pc *h1Conn) readHead(req *http.Request, resp *http.Response, stopAt100 bool) (wire.BodyKind, error) {
	cfg := &pc.hp.core.cfg
	if cfg.ResponseHeaderTimeout > 0 {
		if err := pc.setReadDeadline(time.Now().Add(cfg.ResponseHeaderTimeout)); err != nil {
			return 0, err
		}
	}
	var kind wire.BodyKind
	for {
		var err error
		if t := pc.trace; t != nil && t.GotFirstResponseByte != nil && !pc.firstByte {
			if _, err := pc.bufs.br.Peek(1); err == nil {
				pc.firstByte = true
				t.GotFirstResponseByte()
			}
		}
		before, buffered := pc.nread, pc.bufs.br.Buffered()
		kind, err = pc.bufs.heads.ReadHead(pc.bufs.br, req.Method, pc.headBudget, resp)
		pc.headBudget -= int(pc.nread-before) + buffered - pc.bufs.br.Buffered()
		if err != nil {
			if pc.aborted.Load() {
				return 0, pc.abortErr()
			}
			if cfg.ResponseHeaderTimeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, ErrResponseHeaderTimeout
			}
			return 0, err
		}
		code := resp.StatusCode
		if code == http.StatusContinue && stopAt100 {
			if err := pc.got1xx(resp); err != nil {
				return 0, err
			}
			break
		}
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		if pc.headBudget <= 0 {
			return 0, wire.ErrHeaderTooLarge // the next head cannot fit
		}
		if err := pc.got1xx(resp); err != nil {
			return 0, err
		}
		resp.Header = nil
	}
	if cfg.ResponseHeaderTimeout > 0 {
		if err := pc.setReadDeadline(time.Time{}); err != nil {
			return 0, err
		}
	}
	return kind, nil
}

// h1Error gives an HTTP/1.1 parse failure the type it has on every
// protocol: a *ProtocolError.
func h1Error(err error) error {
	var pe *wire.ProtocolError
	if errors.As(err, &pe) || errors.Is(err, wire.ErrHeaderTooLarge) || errors.Is(err, wire.ErrTrailerTooLarge) {
		return &ProtocolError{Proto: "HTTP/1.1", Err: err}
	}
	return err
}

// upgrade hands the connection of a "101 Switching Protocols" response to
// the caller: it leaves the pool, as with net/http.
func (pc *h1Conn) upgrade(resp *http.Response) *http.Response {
	if pc.stopCancel != nil {
		pc.stopCancel()
		pc.stopCancel = nil
	}
	// The caller reads on from the buffered reader: the buffers never go
	// back to the pool.
	resp.Body = &upgradedConn{br: pc.bufs.br, nc: pc.nc}
	pc.bufs = nil
	pc.hp.detach(pc)
	pc.hp.core.requestDone()
	return resp
}

// upgradedConn is the body of a "101 Switching Protocols" response: the
// connection itself, reading first what was already buffered.
type upgradedConn struct {
	br *bufio.Reader
	nc net.Conn
}

func (u *upgradedConn) Read(p []byte) (int, error)  { return u.br.Read(p) }
func (u *upgradedConn) Write(p []byte) (int, error) { return u.nc.Write(p) }
func (u *upgradedConn) Close() error                { return u.nc.Close() }

// h1Response allocates a response and its body reader together.
type h1Response struct {
	resp http.Response
	body h1Body
}

// h1Body is a response body framed by Content-Length, chunked encoding or
// the connection's close. Read to its end, it returns the connection to the
// pool at once.
type h1Body struct {
	pc        *h1Conn
	remaining int64

	mu  sync.Mutex
	err error // io.EOF or the failure

	// ending guards against a Close that interrupts a Read just as that Read
	// releases the connection: the abort must never reach a pooled connection.
	ending atomic.Int32 // bodyOpen, bodyAborting or bodyEnded

	// Packed after ending, so that h1Response fits the 192-byte size class.
	kind   wire.BodyKind
	done   bool // the connection was released; Read returns err
	closed bool
}

const (
	bodyOpen int32 = iota
	bodyAborting
	bodyEnded
)

func (b *h1Body) Read(p []byte) (n int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrBodyClosed
	}
	if b.done {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	pc := b.pc
	switch b.kind {
	case wire.LengthBody:
		// p is not cut at the body's end: bufio reads straight into a large
		// p, and a read that stopped exactly at the end would leave bytes
		// sent after it unseen in the socket. Bytes past the end mean the
		// server is out of step; they are wiped from p's spare room.
		n, err = pc.bufs.br.Read(p)
		if int64(n) > b.remaining {
			clear(p[b.remaining:n])
			n = int(b.remaining)
			pc.unsolicited = true
		}
		b.remaining -= int64(n)
		if b.remaining == 0 {
			b.end(closeReasonNone, io.EOF)
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case wire.ChunkedBody:
		n, err = pc.bufs.chunked.Read(p)
		if err == io.EOF {
			b.end(closeReasonNone, io.EOF)
			return n, io.EOF
		}
	default: // wire.CloseBody
		n, err = pc.bufs.br.Read(p)
		if err == io.EOF {
			b.end(closeReasonConnectionClose, io.EOF)
			return n, io.EOF
		}
	}
	if err != nil {
		err = h1Error(pc.ioErr(err))
		b.end(closeReasonError, err)
	}
	return n, err
}

// end releases the connection, to the pool when reason is closeReasonNone.
func (b *h1Body) end(reason closeReason, err error) {
	b.done, b.err = true, err
	if !b.ending.CompareAndSwap(bodyOpen, bodyEnded) && reason == closeReasonNone {
		reason = closeReasonError // a Close is aborting the connection
	}
	b.pc.finish(reason)
	b.pc.hp.core.requestDone()
}

// Close releases the connection. An unfinished body is drained when what is
// left is small and arrives quickly; otherwise the connection is closed. A
// Close during a blocked Read interrupts it.
func (b *h1Body) Close() error {
	if !b.mu.TryLock() {
		if b.ending.CompareAndSwap(bodyOpen, bodyAborting) {
			b.pc.abort()
		}
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if !b.done {
		b.end(b.drain(), ErrBodyClosed)
	}
	return nil
}

// drain reads the rest of a small body so the connection can be reused,
// returning closeReasonNone on success.
func (b *h1Body) drain() closeReason {
	pc := b.pc
	if pc.aborted.Load() {
		return closeReasonError
	}
	switch b.kind {
	case wire.LengthBody:
		if b.remaining > maxDrain {
			return closeReasonUnreadBody
		}
		if int64(pc.bufs.br.Buffered()) >= b.remaining {
			pc.bufs.br.Discard(int(b.remaining))
			return closeReasonNone
		}
	case wire.ChunkedBody:
	default:
		return closeReasonUnreadBody
	}
	if pc.setReadDeadline(time.Now().Add(drainTimeout)) != nil {
		return closeReasonError
	}
	var err error
	if b.kind == wire.LengthBody {
		_, err = pc.bufs.br.Discard(int(b.remaining))
	} else {
		var n int64
		n, err = io.CopyN(io.Discard, &pc.bufs.chunked, maxDrain+1)
		if err == io.EOF {
			err = nil
		} else if err == nil && n > maxDrain {
			return closeReasonUnreadBody
		}
	}
	if err != nil || pc.setReadDeadline(time.Time{}) != nil {
		return closeReasonUnreadBody
	}
	return closeReasonNone
}

// askedToClose reports whether req or resp asked in so many words for the
// connection to close ("Connection: close"), as opposed to an HTTP/1.0
// response that closes for want of keep-alive.
func askedToClose(req *http.Request, resp *http.Response) bool {
	return req.Close || resp.ProtoAtLeast(1, 1) || hasToken(resp.Header["Connection"], "close")
}
