package httppool

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// h2Exchange allocates a stream, its response and the response's body
// together: one allocation for the request's side of the exchange.
type h2Exchange struct {
	s    h2Stream
	resp http.Response
	body h2Body
}

// h2Stream is one request's stream on an HTTP/2 connection.
type h2Stream struct {
	cc     *h2Conn
	id     uint32
	ctx    context.Context
	req    *http.Request
	trace  *httptrace.ClientTrace // nil when the request has none
	resp   *http.Response
	wake   chan struct{} // buffered: the read loop never blocks on it
	isHead bool

	firstByte bool       // GotFirstResponseByte fired; the read loop's
	slotMu    sync.Mutex // held while the stream's slot goes back to the pool

	// Guarded by cc.mu.
	responded   bool // a HEADERS frame of the response arrived
	gotHeaders  bool // the final response head arrived
	got100      bool // "100 Continue" arrived
	noBody      bool // the response has no body (HEAD, 204, 304)
	readClosed  bool // the response ended (END_STREAM), or the stream failed
	writeClosed bool // the request ended (END_STREAM), or a reset either way
	released    bool // ended both ways and out of the connection's streams
	slotFreed   bool // its slot was given back to the pool
	bodyClosed  bool // its reader closed the response body
	bodyEnded   bool // the response body returned its end to its reader
	stopUpload  bool // the rest of the request body is not wanted
	written     bool // the request's HEADERS were queued
	bodyStarted bool // the request body was read from
	unprocessed bool // the server said it did not process the request
	err         error
	data        h2Data
	trailer     http.Header
	remain      int64 // response bytes the Content-Length still announces; -1 if unknown
	recvAvail   int32 // what the server may still send under the stream's window
	recvUnacked int32 // read by the body's reader, not yet given back
	sendWindow  int32 // what the request body may still send
	headBudget  int   // response head bytes still allowed, 1xx heads included
}

// signal wakes the request's goroutine, if it waits; cc.mu is held.
func (s *h2Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// outcome reports how far a failed exchange went, for the retry policy.
func (s *h2Stream) outcome() outcome {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	return outcome{written: s.written, responded: s.responded, bodyStarted: s.bodyStarted, unprocessed: s.unprocessed}
}

// closeReadLocked ends the response side; it reports whether the stream
// must now be given back to the pool (by release, without cc.mu).
func (s *h2Stream) closeReadLocked() bool {
	s.readClosed = true
	return s.maybeReleaseLocked()
}

// failLocked ends the stream with err, unless it ended already. It
// reports whether the stream must now be given back to the pool.
func (s *h2Stream) failLocked(err error) bool {
	if s.err == nil && !(s.readClosed && s.writeClosed) {
		s.err = err
	}
	s.readClosed, s.writeClosed, s.stopUpload = true, true, true
	s.signal()
	s.cc.windowWait.Broadcast()
	return s.maybeReleaseLocked()
}

// maybeReleaseLocked takes a stream that ended both ways out of the
// connection; it reports whether the stream was still counted, and so
// must be given back to the pool.
func (s *h2Stream) maybeReleaseLocked() bool {
	if !s.readClosed || !s.writeClosed || s.released {
		return false
	}
	s.released = true
	cc := s.cc
	if s.id != 0 && cc.streams[s.id] == s {
		delete(cc.streams, s.id)
		if len(cc.streams) == 0 {
			cc.idleSince = time.Now()
		}
	}
	return true
}

// release gives the slot of a stream that ended both ways back to the
// pool, once: the read loop calls it when the stream ends, and the
// request's goroutine before it reports the end (RoundTrip's error, the
// body's end), so that Stats never shows an exchange the caller saw end
// as still in use.
func (s *h2Stream) release() {
	cc := s.cc
	s.slotMu.Lock() // a second caller returns once the first gave the slot back
	defer s.slotMu.Unlock()
	cc.mu.Lock()
	free := s.released && !s.slotFreed
	s.slotFreed = s.slotFreed || free
	cc.mu.Unlock()
	if free {
		cc.hp.release(cc, closeReasonNone)
	}
}

// resetStream ends s with RST_STREAM(code), for a violation the client
// found on it: its request fails with a *ProtocolError.
func (cc *h2Conn) resetStream(s *h2Stream, code http2.ErrCode, cause error) {
	cc.cancelStream(s, code, &ProtocolError{Proto: "HTTP/2.0", Code: uint64(code), Err: cause})
}

// cancelStream ends s with RST_STREAM(code), unless it ended already, and
// fails it with err.
func (cc *h2Conn) cancelStream(s *h2Stream, code http2.ErrCode, err error) {
	cc.wmu.Lock()
	cc.mu.Lock()
	sendReset := !s.released && s.id != 0 && !(s.readClosed && s.writeClosed)
	released := s.failLocked(err)
	cc.mu.Unlock()
	if sendReset {
		cc.queueResetLocked(s.id, code)
	}
	ferr := cc.flushStream(false)
	cc.wmu.Unlock()
	if ferr != nil {
		cc.fail(ferr)
	}
	if released {
		s.release()
	}
}

// roundTrip sends req on a new stream and waits for the response head.
func (cc *h2Conn) roundTrip(ctx context.Context, req *http.Request, t try) (*http.Response, outcome, error) {
	x := new(h2Exchange)
	s := &x.s
	s.cc, s.ctx, s.req, s.trace, s.resp = cc, ctx, req, t.trace, &x.resp
	s.wake = make(chan struct{}, 1)
	s.isHead = req.Method == http.MethodHead
	s.remain = -1
	s.headBudget = cc.opts.maxHeaderBytes
	gz := cc.opts.gzip && cc.hp.core.wantsGzip(req)
	hasBody := req.Body != nil && req.Body != http.NoBody
	if err := cc.openStream(s, gz, hasBody); err != nil {
		return nil, s.outcome(), err
	}
	if req.Close {
		cc.hp.retire(cc, closeReasonConnectionClose) // as x/net: the connection takes no more
	}
	if hasBody {
		if err := s.sendRequestBody(); err != nil {
			s.release()
			return nil, s.outcome(), err
		}
	}
	if err := s.awaitHeaders(); err != nil {
		s.release()
		return nil, s.outcome(), err
	}
	resp := &x.resp
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/2.0", 2, 0
	resp.Request = req
	resp.TLS = cc.tlsState
	cc.mu.Lock()
	empty := s.noBody || s.readClosed && s.data.len() == 0 && s.err == nil
	cc.mu.Unlock()
	if empty {
		resp.Body = http.NoBody
		s.endBody(io.EOF)
		return resp, outcome{}, nil
	}
	x.body.s = s
	resp.Body = &x.body
	if gz && gzipEncoded(resp.Header["Content-Encoding"]) {
		decodeGzip(resp, &x.body)
	}
	return resp, outcome{}, nil
}

// openStream assigns the stream its ID and queues its HEADERS, in the
// order of the IDs, as the protocol requires. A connection that cannot
// take the stream fails it as not processed, its request untouched.
func (cc *h2Conn) openStream(s *h2Stream, gz, hasBody bool) error {
	req := s.req
	if testHookH2Open != nil {
		testHookH2Open()
	}
	// wmu keeps the stream IDs in the order of their HEADERS, and the
	// server's SETTINGS (which onSettings applies under wmu) as they are.
	cc.wmu.Lock()
	cc.mu.Lock()
	reason, err := cc.unusableLocked()
	if err == nil && len(cc.streams) >= int(cc.maxStreams.Load()) {
		// The server lowered its limit after the pool gave out the slot.
		err = errH2StreamLimit
	}
	cc.mu.Unlock()
	if err != nil {
		s.unprocessed = true
		cc.wmu.Unlock()
		cc.hp.release(cc, reason)
		return err
	}
	// A request that cannot be encoded opens no stream; the encoder's
	// table is unchanged by the failure.
	block, err := cc.encodeRequestHeadersLocked(req, s.trace, gz, outgoingLength(req))
	if err != nil {
		cc.wmu.Unlock()
		cc.hp.release(cc, closeReasonNone)
		return err
	}
	cc.mu.Lock()
	if reason, err := cc.unusableLocked(); err != nil { // failed while encoding: nothing was sent
		s.unprocessed = true
		cc.mu.Unlock()
		cc.wmu.Unlock()
		cc.hp.release(cc, reason)
		return err
	}
	if !cc.reading.Load() && cc.reading.CompareAndSwap(false, true) {
		cc.startReadLoop()
	}
	s.id = cc.nextID
	cc.nextID += 2
	cc.streams[s.id] = s
	company := len(cc.streams) > 1 // other streams' goroutines may queue frames too
	s.sendWindow = cc.initialWindow
	s.recvAvail = cc.opts.streamWindow
	cc.mu.Unlock()

	cc.queueHeadersLocked(s.id, !hasBody, block)
	cc.mu.Lock()
	s.written = true
	s.writeClosed = !hasBody
	cc.mu.Unlock()
	ferr := cc.flushStream(company)
	cc.wmu.Unlock()
	if t := s.trace; t != nil && t.WroteHeaders != nil {
		t.WroteHeaders()
	}
	if !hasBody && s.trace != nil && s.trace.WroteRequest != nil {
		s.trace.WroteRequest(httptrace.WroteRequestInfo{Err: ferr})
	}
	if ferr != nil {
		cc.fail(ferr)
	}
	return nil
}

// unusableLocked says why the connection can open no stream, if it cannot.
func (cc *h2Conn) unusableLocked() (closeReason, error) {
	switch {
	case cc.err != nil:
		return closeReasonError, cc.err
	case cc.goAway != nil:
		return closeReasonGoAway, cc.goAway
	case cc.nextID > 1<<31-1:
		return closeReasonMaxRequests, errH2StreamsExhausted
	}
	return closeReasonNone, nil
}

// errH2StreamLimit fails a stream the server's lowered limit shuts out:
// the request goes elsewhere, as one the server did not process.
var errH2StreamLimit = errors.New("httppool: HTTP/2 server lowered its stream limit")

// testHookH2Open, when set by a test, runs before a stream is opened.
var testHookH2Open func()

// errH2StreamsExhausted is the failure of a connection that used up its
// stream IDs: the request goes to another connection.
var errH2StreamsExhausted = errors.New("httppool: HTTP/2 connection used up its stream IDs")

// awaitHeaders waits for the final response head, the request's context,
// or Config.ResponseHeaderTimeout, which runs, as net/http's does, from
// when the request, its body included, was written. A request that gives
// up resets its stream.
func (s *h2Stream) awaitHeaders() error {
	cc := s.cc
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		cc.mu.Lock()
		got, err, written := s.gotHeaders, s.err, s.writeClosed
		cc.mu.Unlock()
		switch {
		case got:
			return nil
		case err != nil:
			return err
		}
		if d := cc.opts.headerTimeout; d > 0 && timer == nil && written {
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			cc.cancelStream(s, http2.ErrCodeCancel, s.ctx.Err())
			return s.ctx.Err()
		case <-timeout:
			cc.cancelStream(s, http2.ErrCodeCancel, ErrResponseHeaderTimeout)
			return ErrResponseHeaderTimeout
		}
	}
}

// got1xx fires the httptrace hooks of an informational response, on the
// read loop's goroutine; Got1xxResponse's error fails the request.
func (s *h2Stream) got1xx(code int, h http.Header) error {
	t := s.trace
	if t == nil {
		return nil
	}
	if code == http.StatusContinue && t.Got100Continue != nil {
		t.Got100Continue()
	}
	if t.Got1xxResponse != nil {
		return t.Got1xxResponse(code, textproto.MIMEHeader(h))
	}
	return nil
}

// endBody ends the exchange on the reader's side, once: the response body
// returned its end or was closed. A stream still open is reset.
func (s *h2Stream) endBody(err error) {
	cc := s.cc
	cc.mu.Lock()
	if s.bodyEnded {
		cc.mu.Unlock()
		return
	}
	s.bodyEnded = true
	open := !(s.readClosed && s.writeClosed)
	cc.mu.Unlock()
	if open {
		cc.cancelStream(s, http2.ErrCodeCancel, err)
	}
	s.release()
	if t := s.trace; t != nil && t.PutIdleConn != nil {
		tracePutIdleConn(t, cc.hp.closingReason(cc))
	}
	cc.hp.core.requestDone()
}

// h2Body is a response body: the DATA of its stream, read on the caller's
// goroutine. Reading gives the stream's flow-control credit back.
type h2Body struct {
	s *h2Stream
}

func (b *h2Body) Read(p []byte) (int, error) {
	s := b.s
	cc := s.cc
	cc.mu.Lock()
	for {
		switch {
		case s.bodyClosed:
			cc.mu.Unlock()
			return 0, ErrBodyClosed
		case s.data.len() > 0:
			if len(p) == 0 {
				cc.mu.Unlock()
				return 0, nil
			}
			n := s.data.read(p)
			credit := s.creditLocked(n)
			end := s.readClosed && s.data.len() == 0
			err := s.err
			cc.mu.Unlock()
			if credit > 0 {
				cc.giveStreamCredit(s.id, credit)
			}
			if end {
				return n, b.end(err)
			}
			return n, nil
		case s.readClosed:
			err := s.err
			cc.mu.Unlock()
			return 0, b.end(err)
		}
		cc.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			s.endBody(s.ctx.Err())
			return 0, s.ctx.Err()
		}
		cc.mu.Lock()
	}
}

// end returns the body's end: io.EOF, with the trailers in place, or the
// error that ended the stream.
func (b *h2Body) end(err error) error {
	s := b.s
	if err == nil {
		err = io.EOF
		for k, vv := range s.trailer {
			if s.resp.Trailer == nil {
				s.resp.Trailer = make(http.Header, len(s.trailer))
			}
			s.resp.Trailer[k] = vv
		}
	} else if errors.Is(err, errShortBody) {
		err = io.ErrUnexpectedEOF
	}
	s.endBody(err)
	return err
}

// Close releases the stream: one the server has not finished is reset
// (RST_STREAM CANCEL), and a Read blocked on it returns ErrBodyClosed.
func (b *h2Body) Close() error {
	s := b.s
	cc := s.cc
	cc.mu.Lock()
	s.bodyClosed = true
	s.data.reset()
	s.signal()
	cc.mu.Unlock()
	s.endBody(ErrBodyClosed)
	return nil
}

// creditLocked accounts for n bytes read from the stream and returns the
// window update to send: the credit goes back in batches of half the window.
func (s *h2Stream) creditLocked(n int) int32 {
	s.recvUnacked += int32(n)
	if s.readClosed || s.recvUnacked < s.cc.opts.streamWindow/2 {
		return 0
	}
	credit := s.recvUnacked
	s.recvUnacked = 0
	s.recvAvail += credit
	return credit
}

func (cc *h2Conn) giveStreamCredit(id uint32, n int32) {
	cc.wmu.Lock()
	cc.buf = appendWindowUpdate(cc.acquireLocked(), id, uint32(n))
	err := cc.flushStream(false)
	cc.wmu.Unlock()
	if err != nil {
		cc.fail(err)
	}
}
