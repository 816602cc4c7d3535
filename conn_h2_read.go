package httppool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Bounds on what a server may make the read side do.
const (
	// h2JunkPerSecond is how many frames that do no work (PINGs and
	// SETTINGS to answer, empty DATA, frames for closed streams, unknown
	// frames) a server may send in a second before the connection is closed
	// with ENHANCE_YOUR_CALM, as x/net bounds rapid resets and CONTINUATION
	// floods.
	h2JunkPerSecond = 10000
	// h2MaxBlockFrames bounds the frames of one header block (HEADERS and
	// its CONTINUATIONs), empty ones included.
	h2MaxBlockFrames = 1024
)

var h2ReadBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, h2ReadBufferSize) }}

// startReadLoop runs the read loop; the caller claimed the read side.
func (cc *h2Conn) startReadLoop() {
	cc.acquireReadBuffers()
	go cc.readLoop()
}

func (cc *h2Conn) acquireReadBuffers() {
	if cc.br != nil {
		return
	}
	if need := int(cc.opts.maxReadFrame) + 9; need > h2ReadBufferSize {
		cc.br = bufio.NewReaderSize(cc.nc, need)
	} else {
		cc.br = h2ReadBuffers.Get().(*bufio.Reader)
		cc.br.Reset(cc.nc)
	}
	cc.fr = http2.NewFramer(nil, cc.br)
	cc.fr.SetMaxReadFrameSize(cc.opts.maxReadFrame)
	cc.fr.SetReuseFrames()
}

// releaseReadBuffers gives the read buffer back once nothing is in it.
func (cc *h2Conn) releaseReadBuffers() {
	br := cc.br
	if br == nil || br.Buffered() > 0 {
		return
	}
	cc.br, cc.fr = nil, nil
	br.Reset(nil)
	if br.Size() == h2ReadBufferSize {
		h2ReadBuffers.Put(br)
	}
}

// readLoop reads and handles frames until the connection fails or, with
// no stream left for a while, it parks.
func (cc *h2Conn) readLoop() {
	cc.armDeadline()
	for {
		f, err := cc.readFrame()
		if err == nil && f != nil {
			err = cc.processFrame(f)
		} else if isTimeout(err) {
			var park bool
			if park, err = cc.onDeadline(); park {
				return
			}
		}
		if err != nil {
			cc.readFailed(err)
			return
		}
		if !cc.frameBuffered() {
			// About to wait for the network: first send what the frames
			// read so far asked for, and set the deadline that applies.
			cc.flushControl()
			cc.armDeadline()
		}
	}
}

// readFailed ends the connection after a read error or a violation.
func (cc *h2Conn) readFailed(err error) {
	var ce http2.ConnectionError
	var pe *ProtocolError
	switch {
	case errors.As(err, &ce):
		err = cc.protocolError(http2.ErrCode(ce), cc.frameErrorDetail(http2.ErrCode(ce)))
	case errors.Is(err, http2.ErrFrameTooLarge):
		err = cc.protocolError(http2.ErrCodeFrameSize, errors.New("frame larger than advertised"))
	}
	if errors.As(err, &pe) {
		cc.goAwayAndFlush(http2.ErrCode(pe.Code), nil)
	}
	cc.fail(err)
	cc.nc.Close()
	cc.reading.Store(false)
}

func (cc *h2Conn) frameErrorDetail(code http2.ErrCode) error {
	if cc.fr != nil {
		if d := cc.fr.ErrorDetail(); d != nil {
			return d
		}
	}
	return errors.New("server broke the protocol: " + code.String())
}

// readFrame reads the next frame. It peeks the whole frame into the buffer
// before the Framer reads it, so that a deadline that fires while a frame
// is half arrived loses nothing: the next read carries on.
func (cc *h2Conn) readFrame() (http2.Frame, error) {
	hdr, err := cc.br.Peek(9)
	if err != nil {
		return nil, err
	}
	n := uint32(hdr[0])<<16 | uint32(hdr[1])<<8 | uint32(hdr[2])
	if n > cc.opts.maxReadFrame {
		return nil, http2.ErrFrameTooLarge
	}
	frame, err := cc.br.Peek(9 + int(n))
	if err != nil {
		return nil, err
	}
	if cc.opts.pingAfter > 0 {
		cc.lastRead = time.Now() // the connection is alive: no health check yet
	}
	if cc.sawSettings && cc.block.frames == 0 {
		// The commonest frames are read without the Framer, which
		// allocates each HEADERS frame and copies each DATA frame's payload.
		// (frame, not hdr: the second Peek may have moved the bytes.)
		switch typ := http2.FrameType(frame[3]); {
		case typ == http2.FrameData:
			return nil, cc.onDataFrame(frame)
		case typ == http2.FrameHeaders && http2.Flags(frame[4]).Has(http2.FlagHeadersEndHeaders):
			return nil, cc.onHeadersFrame(frame)
		}
	}
	return cc.fr.ReadFrame()
}

// onDataFrame handles a DATA frame in the read buffer, as the Framer would
// parse it, and discards it: its payload is copied once, into the stream.
func (cc *h2Conn) onDataFrame(frame []byte) error {
	flags := http2.Flags(frame[4])
	id := binary.BigEndian.Uint32(frame[5:9]) & (1<<31 - 1)
	p := frame[9:]
	if id == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if flags.Has(http2.FlagDataPadded) {
		if len(p) < 1 || int(p[0]) >= len(p) {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		p = p[1 : len(p)-int(p[0])]
	}
	err := cc.onData(id, int32(len(frame)-9), p, flags.Has(http2.FlagDataEndStream))
	cc.br.Discard(len(frame))
	return err
}

// onHeadersFrame handles a HEADERS frame that holds a whole header block,
// in the read buffer, as the Framer would parse it, and discards it. A
// block continued in CONTINUATIONs goes through the Framer, which checks
// their order.
func (cc *h2Conn) onHeadersFrame(frame []byte) error {
	flags := http2.Flags(frame[4])
	id := binary.BigEndian.Uint32(frame[5:9]) & (1<<31 - 1)
	p := frame[9:]
	if id == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	pad := 0
	if flags.Has(http2.FlagHeadersPadded) {
		if len(p) < 1 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		pad, p = int(p[0]), p[1:]
	}
	if flags.Has(http2.FlagHeadersPriority) {
		if len(p) < 5 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if binary.BigEndian.Uint32(p)&(1<<31-1) == id {
			return http2.ConnectionError(http2.ErrCodeProtocol) // depends on itself
		}
		p = p[5:]
	}
	if pad > len(p) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	err := cc.startBlock(id, flags.Has(http2.FlagHeadersEndStream), true, p[:len(p)-pad])
	cc.br.Discard(len(frame))
	return err
}

// frameBuffered reports whether a whole frame is in the read buffer.
func (cc *h2Conn) frameBuffered() bool {
	b := cc.br.Buffered()
	if b < 9 {
		return false
	}
	hdr, _ := cc.br.Peek(9)
	return b >= 9+(int(hdr[0])<<16|int(hdr[1])<<8|int(hdr[2]))
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// armDeadline sets the read deadline that applies now: the server's first
// SETTINGS are due, a health check is due, or the loop parks after the
// last stream. An earlier deadline already set is left to fire; the loop
// then works out the next one.
func (cc *h2Conn) armDeadline() {
	want := cc.wantDeadline()
	if want.IsZero() || !cc.armed.IsZero() && !want.Before(cc.armed) {
		return
	}
	cc.armed = want
	cc.nc.SetReadDeadline(want)
}

func (cc *h2Conn) wantDeadline() time.Time {
	o := cc.opts
	cc.mu.Lock()
	settled, streams, idleSince := cc.settled, len(cc.streams), cc.idleSince
	cc.mu.Unlock()
	switch {
	case !settled && o.settleTimeout > 0:
		return cc.createdAt.Add(o.settleTimeout)
	case !cc.pingSent.IsZero():
		return cc.pingSent.Add(o.pingTimeout)
	case o.pingAfter > 0:
		return cc.lastRead.Add(o.pingAfter)
	case streams == 0:
		return idleSince.Add(h2ParkAfter)
	}
	return time.Time{}
}

// onDeadline handles a read deadline that fired: it fails the connection
// when the server's SETTINGS or a PING's answer are overdue, sends a
// health-check PING, or parks the loop when no stream has been open for
// h2ParkAfter. Otherwise the loop reads on.
func (cc *h2Conn) onDeadline() (park bool, err error) {
	now := time.Now()
	o := cc.opts
	cc.armed = time.Time{}
	cc.nc.SetReadDeadline(time.Time{})
	cc.mu.Lock()
	settled, streams, idleSince, failed := cc.settled, len(cc.streams), cc.idleSince, cc.err != nil
	cc.mu.Unlock()
	switch {
	case failed:
		return false, cc.err
	case !settled && o.settleTimeout > 0 && !now.Before(cc.createdAt.Add(o.settleTimeout)):
		return false, timeoutError{fmt.Sprintf("httppool: HTTP/2 server sent no SETTINGS within %v", o.settleTimeout)}
	case !cc.pingSent.IsZero() && !now.Before(cc.pingSent.Add(o.pingTimeout)):
		return false, timeoutError{fmt.Sprintf("httppool: HTTP/2 server did not answer a PING within %v", o.pingTimeout)}
	case o.pingAfter > 0 && cc.pingSent.IsZero() && !now.Before(cc.lastRead.Add(o.pingAfter)):
		cc.pingSent = now
		cc.queuePing(false, h2HealthPing)
		cc.flushControl()
	case o.pingAfter <= 0 && settled && streams == 0 && !now.Before(idleSince.Add(h2ParkAfter)):
		return cc.park(), nil
	}
	cc.armDeadline()
	return false, nil
}

// h2HealthPing is the payload of health-check PINGs.
var h2HealthPing = [8]byte{'h', 't', 't', 'p', 'p', 'o', 'o', 'l'}

// park stops the read loop if the connection still has no stream: its
// buffers go back to their pool, and checkReuse reads what arrives
// meanwhile. Bytes already buffered (a frame half arrived) keep it going.
func (cc *h2Conn) park() bool {
	if cc.br.Buffered() > 0 || cc.tlsBuffered() {
		return false
	}
	cc.mu.Lock()
	if len(cc.streams) > 0 || cc.err != nil {
		cc.mu.Unlock()
		return false
	}
	// Under mu, so that a stream opened now starts a new loop, with
	// buffers of its own.
	cc.releaseReadBuffers()
	cc.reading.Store(false)
	cc.mu.Unlock()
	cc.releaseWriteBuffers()
	return true
}

// tlsBuffered reports whether crypto/tls holds decrypted bytes the read
// buffer has not taken: a non-blocking look, consuming nothing.
func (cc *h2Conn) tlsBuffered() bool {
	if cc.tc == nil {
		return false
	}
	cc.tc.SetReadDeadline(aLongTimeAgo)
	_, err := cc.br.Peek(1)
	cc.tc.SetReadDeadline(time.Time{})
	return err == nil
}

// readParked reads, on the caller's goroutine, what arrived while the read
// loop was parked: frames are handled as the loop would, within a moment
// (tlsRecordWait) for a frame half arrived. It reports why the connection
// cannot be used, or closeReasonNone.
func (cc *h2Conn) readParked() closeReason {
	deadline := aLongTimeAgo // only what crypto/tls holds already
	switch cc.probe.check() {
	case closeReasonServerClosed:
		cc.fail(errServerClosedIdleH2)
		return closeReasonServerClosed
	case closeReasonUnsolicited: // bytes wait in the socket: frames, or TLS records
		deadline = time.Now().Add(tlsRecordWait)
	default:
		if cc.tc == nil {
			return closeReasonNone
		}
	}
	cc.acquireReadBuffers()
	cc.nc.SetReadDeadline(deadline)
	var err error
	for err == nil {
		var f http2.Frame
		if f, err = cc.readFrame(); err == nil && f != nil {
			err = cc.processFrame(f)
		}
	}
	cc.nc.SetReadDeadline(time.Time{})
	if !isTimeout(err) {
		cc.readFailed(err)
		if isConnGone(err) {
			return closeReasonServerClosed
		}
		return closeReasonError
	}
	cc.flushControl()
	return cc.unusable()
}

// errServerClosedIdleH2 fails a parked connection the server closed.
var errServerClosedIdleH2 = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection closed by server while idle")}

// noteJunk counts a frame that did no work against the flood budget.
func (cc *h2Conn) noteJunk() error {
	now := monoNow()
	if now.Sub(cc.junkSince) > time.Second || cc.junk == 0 {
		cc.junk, cc.junkSince = 0, now
	}
	cc.junk++
	if cc.junk > h2JunkPerSecond {
		return cc.protocolError(http2.ErrCodeEnhanceYourCalm, errors.New("flood of frames that do no work"))
	}
	return nil
}
