package httppool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// h2InlineBody is the largest request body sent on the request's own
// goroutine before it waits for the response. A larger body, or one of
// unknown length, is sent by a goroutine of its own, for the length of the
// upload, so that a response that comes first (a 413, say) is returned at once.
const h2InlineBody = 64 << 10

// sendRequestBody sends the request body under flow control, after the
// server's "100 Continue" when the request expects one. A body the server
// answered before asking for is not sent.
func (s *h2Stream) sendRequestBody() error {
	cc := s.cc
	if wait := cc.opts.continueWait; wait > 0 && expectsContinue(s.req) {
		if t := s.trace; t != nil && t.Wait100Continue != nil {
			t.Wait100Continue()
		}
		send, err := s.awaitContinue(wait)
		if err != nil {
			return err
		}
		if !send {
			cc.mu.Lock()
			s.bodyStarted = true
			s.stopUpload = true
			cc.mu.Unlock()
			closeRequestBody(s.req)
			s.wroteRequest(nil)
			return nil
		}
	}
	// From here the body belongs to this try: a retry needs GetBody.
	cc.mu.Lock()
	s.bodyStarted = true
	cc.mu.Unlock()
	if n := outgoingLength(s.req); n >= 0 && n <= h2InlineBody {
		return s.upload()
	}
	go s.upload()
	return nil
}

// awaitContinue waits up to wait for "100 Continue" or a final response; it
// reports whether to send the body.
func (s *h2Stream) awaitContinue(wait time.Duration) (bool, error) {
	cc := s.cc
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		cc.mu.Lock()
		got100, final, err := s.got100, s.gotHeaders, s.err
		cc.mu.Unlock()
		switch {
		case err != nil:
			return false, err
		case final:
			return false, nil
		case got100:
			return true, nil
		}
		select {
		case <-s.wake:
		case <-timer.C:
			return true, nil
		case <-s.ctx.Done():
			cc.cancelStream(s, http2.ErrCodeCancel, s.ctx.Err())
			return false, s.ctx.Err()
		}
	}
}

func (s *h2Stream) wroteRequest(err error) {
	if t := s.trace; t != nil && t.WroteRequest != nil {
		t.WroteRequest(httptrace.WroteRequestInfo{Err: err})
	}
}

var h2BodyBuffers = sync.Pool{New: func() any { b := make([]byte, h2DefaultFrameSize); return &b }}

// upload sends the request body as DATA frames within the stream's and the
// connection's windows, then ends the stream, with the request's trailers
// when it has some. It stops when the server no longer wants the body.
// A failure to read the body resets the stream.
func (s *h2Stream) upload() error {
	cc := s.cc
	req := s.req
	body := req.Body
	defer body.Close()
	var stop func() bool
	if s.ctx.Done() != nil {
		stop = context.AfterFunc(s.ctx, func() {
			cc.mu.Lock()
			cc.windowWait.Broadcast()
			cc.mu.Unlock()
		})
		defer stop()
	}
	bufp := h2BodyBuffers.Get().(*[]byte)
	defer h2BodyBuffers.Put(bufp)
	buf := *bufp
	want := outgoingLength(req)
	var sent int64
	for {
		n, rerr := body.Read(buf)
		sent += int64(n)
		if want >= 0 && sent == want && rerr == nil {
			// All announced: make sure of the end, so that END_STREAM
			// goes with the last data.
			var one [1]byte
			var k int
			k, rerr = body.Read(one[:])
			sent += int64(k)
		}
		if want >= 0 && (sent > want || rerr == io.EOF && sent < want) {
			rerr = fmt.Errorf("ContentLength=%d with Body length %d", want, sent)
		}
		if rerr != nil && rerr != io.EOF {
			err := &requestBodyError{rerr}
			cc.cancelStream(s, http2.ErrCodeCancel, err)
			s.wroteRequest(err)
			return err
		}
		end := rerr == io.EOF && len(req.Trailer) == 0
		if err := s.sendData(buf[:n], end); err != nil {
			if errors.Is(err, errUploadStopped) {
				return nil
			}
			s.wroteRequest(err)
			return err
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(req.Trailer) > 0 {
		if err := s.sendTrailers(req.Trailer); err != nil {
			s.wroteRequest(err)
			return err
		}
	}
	s.wroteRequest(nil)
	return nil
}

// errUploadStopped ends an upload the server does not want any more.
var errUploadStopped = errors.New("httppool: request body not wanted")

// sendData sends p as DATA frames as the windows allow, the last with
// END_STREAM when end is set.
func (s *h2Stream) sendData(p []byte, end bool) error {
	cc := s.cc
	if len(p) == 0 && !end {
		return nil
	}
	for first := true; first || len(p) > 0; first = false {
		n, err := s.awaitWindow(len(p))
		if err != nil {
			return err
		}
		chunk := p[:n]
		p = p[n:]
		last := end && len(p) == 0
		cc.wmu.Lock()
		cc.awaitDrainLocked()
		cc.queueDataLocked(s.id, last, chunk)
		if last {
			cc.mu.Lock()
			s.writeClosed = true
			s.signal() // the response-header timeout starts now
			released := s.maybeReleaseLocked()
			cc.mu.Unlock()
			if released {
				defer s.release()
			}
		}
		ferr := cc.flushStream(false)
		cc.wmu.Unlock()
		if ferr != nil {
			cc.fail(ferr)
			return ferr
		}
	}
	return nil
}

// awaitWindow takes up to want bytes of the stream's and the connection's
// windows (at least one byte, or none for an empty p), waiting for the
// server's WINDOW_UPDATE when they are spent.
func (s *h2Stream) awaitWindow(want int) (int, error) {
	cc := s.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for {
		switch {
		case s.err != nil:
			return 0, s.err
		case s.stopUpload:
			return 0, errUploadStopped
		case s.ctx.Err() != nil:
			return 0, s.ctx.Err()
		case want == 0:
			return 0, nil
		}
		if avail := min(s.sendWindow, cc.sendWindow); avail > 0 {
			n := min(int32(want), avail, int32(cc.peerMaxFrame)) // onSettings changes it under mu too
			s.sendWindow -= n
			cc.sendWindow -= n
			return int(n), nil
		}
		cc.windowWait.Wait()
	}
}

// sendTrailers ends the stream with a HEADERS frame of the request's trailers.
func (s *h2Stream) sendTrailers(trailer http.Header) error {
	cc := s.cc
	if _, err := s.awaitWindow(0); err != nil {
		if errors.Is(err, errUploadStopped) {
			return nil
		}
		return err
	}
	cc.wmu.Lock()
	block, err := cc.encodeTrailersLocked(trailer)
	if err != nil {
		cc.wmu.Unlock()
		cc.cancelStream(s, http2.ErrCodeCancel, err)
		return err
	}
	cc.queueHeadersLocked(s.id, true, block)
	cc.mu.Lock()
	s.writeClosed = true
	s.signal() // the response-header timeout starts now
	released := s.maybeReleaseLocked()
	cc.mu.Unlock()
	ferr := cc.flushStream(false)
	cc.wmu.Unlock()
	if released {
		s.release()
	}
	if ferr != nil {
		cc.fail(ferr)
	}
	return ferr
}
