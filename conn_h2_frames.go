package httppool

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// processFrame handles one frame from the server. It returns a connection
// error; a stream's failure is the stream's alone.
func (cc *h2Conn) processFrame(f http2.Frame) error {
	if !cc.sawSettings {
		if _, ok := f.(*http2.SettingsFrame); !ok {
			return cc.protocolError(http2.ErrCodeProtocol, fmt.Errorf("server sent %s before its SETTINGS", f.Header().Type))
		}
		cc.sawSettings = true
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return cc.onData(f.StreamID, int32(f.Length), f.Data(), f.StreamEnded())
	case *http2.HeadersFrame:
		return cc.onHeaders(f)
	case *http2.ContinuationFrame:
		return cc.onContinuation(f)
	case *http2.SettingsFrame:
		return cc.onSettings(f)
	case *http2.PingFrame:
		return cc.onPing(f)
	case *http2.WindowUpdateFrame:
		return cc.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return cc.onReset(f)
	case *http2.GoAwayFrame:
		return cc.onGoAway(f)
	case *http2.PushPromiseFrame:
		return cc.protocolError(http2.ErrCodeProtocol, errors.New("server pushed a stream, which the client disabled"))
	case *http2.UnknownFrame:
		if f.Type == frameOrigin { // RFC 8336, for coalescing (coalesce_origin.go)
			return cc.onOrigin(f)
		}
	}
	return cc.noteJunk() // PRIORITY and unknown frames
}

// streamFor returns the open stream id names, nil for one that ended, or a
// connection error for one the client never opened.
func (cc *h2Conn) streamForLocked(id uint32) (*h2Stream, error) {
	if id%2 == 0 || id >= cc.nextID {
		return nil, cc.protocolError(http2.ErrCodeProtocol, fmt.Errorf("server sent a frame on stream %d, which the client never opened", id))
	}
	return cc.streams[id], nil
}

// onData takes a DATA frame under flow control: the connection's credit is
// given back as it arrives (the streams' windows bound what is buffered),
// the stream's as its body is read.
func (cc *h2Conn) onData(id uint32, length int32, data []byte, endStream bool) error {
	// The read loop alone changes recvUnacked.
	cc.recvUnacked += length
	if cc.recvUnacked > cc.opts.connWindow {
		return cc.protocolError(http2.ErrCodeFlowControl, errors.New("server sent more than the connection's window"))
	}
	if cc.recvUnacked >= cc.opts.connWindow/2 {
		cc.queueWindowUpdate(0, cc.recvUnacked)
		cc.recvUnacked = 0
	}
	cc.mu.Lock()
	s, err := cc.streamForLocked(id)
	if err != nil {
		cc.mu.Unlock()
		return err
	}
	if s == nil || s.readClosed {
		cc.mu.Unlock()
		return cc.noteJunk() // a stream that ended: its data is dropped
	}
	var streamErr error
	switch {
	case !s.gotHeaders:
		streamErr = errors.New("DATA before the response's HEADERS")
	case length > s.recvAvail:
		cc.mu.Unlock()
		cc.resetStream(s, http2.ErrCodeFlowControl, errors.New("server sent more than the stream's window"))
		return nil
	case len(data) > 0 && s.noBody:
		streamErr = errors.New("DATA in a response that has no body")
	case s.remain >= 0 && int64(len(data)) > s.remain:
		streamErr = errors.New("more DATA than the response's Content-Length")
	}
	if streamErr != nil {
		cc.mu.Unlock()
		cc.resetStream(s, http2.ErrCodeProtocol, streamErr)
		return nil
	}
	s.recvAvail -= length
	if pad := length - int32(len(data)); pad > 0 {
		s.recvUnacked += pad // padding is never read: its credit goes back with the data's
	}
	if s.remain >= 0 {
		s.remain -= int64(len(data))
	}
	if !s.bodyClosed {
		s.data.write(data)
	}
	useless := len(data) == 0 && !endStream
	var released bool
	if endStream {
		if s.remain > 0 {
			s.err = fmt.Errorf("%w: response body shorter than its Content-Length", errShortBody)
		}
		released = s.closeReadLocked()
	}
	s.signal()
	cc.mu.Unlock()
	if released {
		s.release()
	}
	if useless {
		return cc.noteJunk()
	}
	return nil
}

// onHeaders starts a header block: a response head (perhaps informational)
// or trailers. Blocks of streams that ended are decoded all the same, to
// keep HPACK's state, and dropped.
func (cc *h2Conn) onHeaders(f *http2.HeadersFrame) error {
	return cc.startBlock(f.StreamID, f.StreamEnded(), f.HeadersEnded(), f.HeaderBlockFragment())
}

// startBlock begins the header block of stream id with its first fragment.
func (cc *h2Conn) startBlock(id uint32, endStream, endHeaders bool, frag []byte) error {
	cc.mu.Lock()
	s, err := cc.streamForLocked(id)
	if s != nil && s.readClosed {
		s = nil
	}
	limit := cc.opts.maxHeaderBytes
	trailers := false
	if s != nil {
		s.responded = true
		trailers = s.gotHeaders
		if !trailers {
			limit = s.headBudget
		}
	}
	cc.mu.Unlock()
	if err != nil {
		return err
	}
	if s != nil && !trailers && s.trace != nil && s.trace.GotFirstResponseByte != nil && !s.firstByte {
		s.firstByte = true
		s.trace.GotFirstResponseByte()
	}
	cc.block.start(s, id, endStream, trailers, limit)
	if endHeaders && s != nil && !trailers && cc.decoded.hit(frag, cc.decGen, limit, &cc.block) {
		return cc.endBlock()
	}
	return cc.blockFragment(frag, endHeaders)
}

func (cc *h2Conn) onContinuation(f *http2.ContinuationFrame) error {
	b := &cc.block
	b.frames++
	if b.frames > h2MaxBlockFrames {
		return cc.protocolError(http2.ErrCodeEnhanceYourCalm, fmt.Errorf("header block of more than %d frames", h2MaxBlockFrames))
	}
	return cc.blockFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// blockFragment decodes one fragment of the header block. As x/net does,
// a fragment far larger than the header list may still grow by closes the
// connection rather than be decoded.
func (cc *h2Conn) blockFragment(frag []byte, end bool) error {
	b := &cc.block
	if int64(len(frag)) > 2*int64(max(b.limit-b.size, 0))+4096 {
		return cc.protocolError(http2.ErrCodeProtocol, fmt.Errorf("%w (encoded block beyond twice the limit)", ErrResponseHeaderTooLarge))
	}
	b.mutates = b.mutates || b.frames > 1 || changesTable(frag)
	if _, err := cc.dec.Write(frag); err != nil {
		if errors.Is(err, hpack.ErrStringLength) {
			// Past the limit in one field: HPACK's state is lost with it.
			err = fmt.Errorf("%w (a field longer than the whole limit)", ErrResponseHeaderTooLarge)
		}
		return cc.protocolError(http2.ErrCodeCompression, err)
	}
	if !end {
		return nil
	}
	err := cc.dec.Close()
	cc.dec.SetEmitEnabled(true)
	if err != nil {
		return cc.protocolError(http2.ErrCodeCompression, err)
	}
	if b.mutates {
		cc.decGen++ // the decoder's table may have changed
	} else if b.s != nil && !b.trailers {
		cc.decoded.remember(frag, cc.decGen, b)
	}
	return cc.endBlock()
}

// endBlock delivers a decoded header block to its stream.
func (cc *h2Conn) endBlock() error {
	b := &cc.block
	defer b.reset()
	s := b.s
	if s == nil {
		return cc.noteJunk()
	}
	switch {
	case b.tooLarge:
		cc.resetStream(s, http2.ErrCodeProtocol, ErrResponseHeaderTooLarge)
		return nil
	case b.invalid != nil:
		cc.resetStream(s, http2.ErrCodeProtocol, b.invalid)
		return nil
	case b.trailers:
		if !b.endStream || b.status != "" {
			return cc.protocolError(http2.ErrCodeProtocol, errors.New("trailers without END_STREAM or with a pseudo-header"))
		}
		return cc.deliverTrailers(s, b)
	}
	code, ok := parseStatus(b.status)
	if !ok {
		cc.resetStream(s, http2.ErrCodeProtocol, fmt.Errorf("malformed :status %q", b.status))
		return nil
	}
	if code < 200 {
		return cc.deliverInformational(s, b, code)
	}
	return cc.deliverResponse(s, b, code)
}

// deliverInformational hands a 1xx response to httptrace. The heads of one
// exchange share one budget of Config.MaxResponseHeaderBytes, as on HTTP/1.1.
func (cc *h2Conn) deliverInformational(s *h2Stream, b *headerBlock, code int) error {
	if b.endStream {
		cc.resetStream(s, http2.ErrCodeProtocol, errors.New("informational response with END_STREAM"))
		return nil
	}
	cc.mu.Lock()
	s.headBudget -= b.size
	if code == http.StatusContinue {
		s.got100 = true
		s.signal()
	}
	cc.mu.Unlock()
	if err := s.got1xx(code, b.header()); err != nil {
		cc.resetStream(s, http2.ErrCodeCancel, err)
		return nil
	}
	cc.junk = 0
	return nil
}

// connHeaders are HTTP/1.1 connection headers, which an HTTP/2 response
// must not carry; they are dropped as x/net drops them.
var connHeaders = [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"}

func (cc *h2Conn) deliverResponse(s *h2Stream, b *headerBlock, code int) error {
	resp := s.resp
	resp.StatusCode = code
	resp.Status = statusLine(code, b.status)
	resp.Header = b.header()
	if b.connHdr {
		for _, k := range connHeaders {
			delete(resp.Header, k)
		}
	}
	if t := resp.Header["Trailer"]; len(t) > 0 {
		resp.Trailer = make(http.Header, len(t))
		for _, v := range t {
			for k := range strings.SplitSeq(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					resp.Trailer[http.CanonicalHeaderKey(k)] = nil
				}
			}
		}
		delete(resp.Header, "Trailer")
	}
	resp.ContentLength = -1
	if cl := resp.Header["Content-Length"]; len(cl) > 0 {
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err == nil && !differ(cl) {
			resp.ContentLength = int64(n)
			resp.Header["Content-Length"] = cl[:1]
		} else {
			delete(resp.Header, "Content-Length")
		}
	}
	cc.mu.Lock()
	s.gotHeaders = true
	s.noBody = s.isHead || code == http.StatusNoContent || code == http.StatusNotModified
	s.remain = resp.ContentLength
	if s.noBody {
		s.remain = -1
	}
	var released bool
	if b.endStream {
		if resp.ContentLength < 0 && !s.isHead {
			resp.ContentLength = 0
		}
		if resp.ContentLength > 0 && !s.noBody {
			s.err = fmt.Errorf("%w: response ended before its Content-Length", errShortBody)
		}
		released = s.closeReadLocked()
	}
	if code > 299 {
		s.stopUpload = true // the server does not want the rest of the body
		cc.windowWait.Broadcast()
	}
	s.signal()
	cc.mu.Unlock()
	if released {
		s.release()
	}
	cc.junk = 0
	return nil
}

func (cc *h2Conn) deliverTrailers(s *h2Stream, b *headerBlock) error {
	h := b.header()
	cc.mu.Lock()
	s.trailer = h
	released := s.closeReadLocked()
	if s.remain > 0 {
		s.err = fmt.Errorf("%w: response body shorter than its Content-Length", errShortBody)
	}
	s.signal()
	cc.mu.Unlock()
	if released {
		s.release()
	}
	return nil
}

// errShortBody is the cause of a body that ended before its Content-Length.
var errShortBody = errors.New("httppool: unexpected EOF")

func differ(values []string) bool {
	for _, v := range values[1:] {
		if v != values[0] {
			return true
		}
	}
	return false
}

// onSettings applies the server's SETTINGS and acknowledges them. The
// first ones tell the pool how many streams the connection may carry.
func (cc *h2Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	first := false
	cc.wmu.Lock()
	cc.mu.Lock()
	if !cc.settled {
		first = true
		cc.settled = true
		cc.maxStreams.Store(1000) // no limit announced: x/net's default
	}
	err := f.ForeachSetting(func(st http2.Setting) error {
		if err := st.Valid(); err != nil {
			return err
		}
		switch st.ID {
		case http2.SettingMaxConcurrentStreams:
			cc.maxStreams.Store(int32(min(st.Val, math.MaxInt32)))
		case http2.SettingInitialWindowSize:
			delta := int32(st.Val) - cc.initialWindow
			for _, s := range cc.streams {
				if int64(s.sendWindow)+int64(delta) > math.MaxInt32 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				s.sendWindow += delta
			}
			cc.initialWindow = int32(st.Val)
			cc.windowWait.Broadcast()
		case http2.SettingMaxFrameSize:
			cc.peerMaxFrame = st.Val
		case http2.SettingHeaderTableSize:
			cc.enc.SetMaxDynamicTableSize(st.Val)
		case http2.SettingMaxHeaderListSize:
			cc.peerMaxHeaderList = st.Val
		}
		return nil
	})
	if first {
		close(cc.readyCh)
	}
	cc.mu.Unlock()
	if err == nil {
		cc.queueSettingsAckLocked()
	}
	cc.wmu.Unlock()
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			return cc.protocolError(http2.ErrCode(ce), errors.New("SETTINGS value out of range"))
		}
		return cc.protocolError(http2.ErrCodeProtocol, err)
	}
	cc.hp.capacityChanged(cc)
	if !first {
		return cc.noteJunk()
	}
	return nil
}

func (cc *h2Conn) onPing(f *http2.PingFrame) error {
	if f.IsAck() {
		if f.Data == h2HealthPing && !cc.pingSent.IsZero() {
			cc.pingSent = time.Time{}
			return nil
		}
		return cc.noteJunk()
	}
	cc.queuePing(true, f.Data)
	return cc.noteJunk()
}

func (cc *h2Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	if f.StreamID == 0 {
		defer cc.mu.Unlock()
		if int64(cc.sendWindow)+int64(f.Increment) > math.MaxInt32 {
			return cc.protocolError(http2.ErrCodeFlowControl, errors.New("WINDOW_UPDATE took the connection's window over 2^31-1"))
		}
		cc.sendWindow += int32(f.Increment)
		cc.windowWait.Broadcast()
		return nil
	}
	s, err := cc.streamForLocked(f.StreamID)
	if err != nil || s == nil {
		cc.mu.Unlock()
		return err
	}
	overflow := int64(s.sendWindow)+int64(f.Increment) > math.MaxInt32
	if !overflow {
		s.sendWindow += int32(f.Increment)
		cc.windowWait.Broadcast()
	}
	cc.mu.Unlock()
	if overflow {
		cc.resetStream(s, http2.ErrCodeFlowControl, errors.New("WINDOW_UPDATE took the stream's window over 2^31-1"))
	}
	return nil
}

// onReset ends a stream the server reset. REFUSED_STREAM before any
// response means the server did not process the request; NO_ERROR after
// a complete response only stops the request body.
func (cc *h2Conn) onReset(f *http2.RSTStreamFrame) error {
	cc.mu.Lock()
	s, err := cc.streamForLocked(f.StreamID)
	if err != nil || s == nil {
		cc.mu.Unlock()
		if err != nil {
			return err
		}
		return cc.noteJunk()
	}
	s.writeClosed = true // the server will read no more of it
	if f.ErrCode == http2.ErrCodeNo && s.readClosed {
		s.stopUpload = true
		released := s.maybeReleaseLocked()
		cc.windowWait.Broadcast()
		cc.mu.Unlock()
		if released {
			s.release()
		}
		return nil
	}
	s.unprocessed = f.ErrCode == http2.ErrCodeRefusedStream && !s.responded
	released := s.failLocked(&StreamResetError{Proto: "HTTP/2.0", Code: uint64(f.ErrCode)})
	cc.mu.Unlock()
	if released {
		s.release()
	}
	return nil
}

// onGoAway stops new streams; those above the last stream the server will
// process fail as not processed, to be sent again elsewhere, and the rest
// finish.
func (cc *h2Conn) onGoAway(f *http2.GoAwayFrame) error {
	ga := &GoAwayError{Proto: "HTTP/2.0", Code: uint64(f.ErrCode), LastStreamID: uint64(f.LastStreamID), Debug: string(f.DebugData())}
	var ended []*h2Stream
	cc.mu.Lock()
	if cc.goAway != nil && cc.goAway.LastStreamID < ga.LastStreamID {
		ga.LastStreamID = cc.goAway.LastStreamID // it may only go down
	}
	cc.goAway = ga
	for id, s := range cc.streams {
		if uint64(id) > ga.LastStreamID {
			s.unprocessed = true
			if s.failLocked(ga) {
				ended = append(ended, s)
			}
		}
	}
	cc.mu.Unlock()
	for _, s := range ended {
		s.release()
	}
	cc.hp.retire(cc, closeReasonGoAway)
	return nil
}
