package httppool

import (
	"bytes"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Writer is the write side of an HTTP/2 connection. Request goroutines
// and the read loop append frames to one buffer; one goroutine at a time
// writes all that is queued, while the others append to a second buffer
// and go on, so that the frames of many streams leave in one write. A
// request goroutine that has company on the connection yields before it
// writes, letting the others queue theirs first (at 64 concurrent streams
// one write then carries many requests).
type h2Writer struct {
	wmu      sync.Mutex
	buf      []byte // frames queued
	spare    []byte // the other buffer, while buf's contents are written
	flushing bool   // a goroutine is writing; it writes what is queued meanwhile too
	pending  bool   // a goroutine yielded and will write what is queued
	werr     error  // the write that failed: the connection is broken
	drained  sync.Cond

	// Guarded by wmu (and, where the read loop changes them, mu too).
	peerMaxFrame      uint32 // largest frame the server accepts
	peerMaxHeaderList uint32 // the server's SETTINGS_MAX_HEADER_LIST_SIZE, zero if none
	enc               *hpack.Encoder
	hbuf              bytes.Buffer
	encGen            uint64 // counts changes of the encoder's table
	encCache          headerCache
}

// h2MaxQueued bounds the bytes queued for writing before a request body
// waits for them to go.
const h2MaxQueued = 1 << 20

var h2WriteBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (w *h2Writer) init(o *h2Options) {
	w.drained.L = &w.wmu
	w.peerMaxFrame = h2DefaultFrameSize
	w.enc = hpack.NewEncoder(&w.hbuf)
	w.enc.SetMaxDynamicTableSizeLimit(o.encoderTable)
}

// writePreface sends the client preface, SETTINGS and the connection's
// window, from the dialing goroutine.
func (cc *h2Conn) writePreface() error {
	o := cc.opts
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	b := append(cc.acquireLocked(), http2.ClientPreface...)
	settings := []http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: uint32(o.streamWindow)},
		{ID: http2.SettingMaxHeaderListSize, Val: uint32(min(o.maxHeaderBytes, 1<<31))},
	}
	if o.maxReadFrame != h2DefaultFrameSize {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxFrameSize, Val: o.maxReadFrame})
	}
	if o.decoderTable != h2DefaultTableSize {
		settings = append(settings, http2.Setting{ID: http2.SettingHeaderTableSize, Val: o.decoderTable})
	}
	b = appendFrameHeader(b, 6*len(settings), http2.FrameSettings, 0, 0)
	for _, s := range settings {
		b = append(b, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
	}
	cc.buf = appendWindowUpdate(b, 0, uint32(o.connWindow-65535))
	return cc.flushLocked()
}

// acquireLocked returns the queue, taking buffers from their pool when
// the connection gave them back while idle.
func (cc *h2Conn) acquireLocked() []byte {
	if cc.buf == nil {
		cc.buf = (*h2WriteBuffers.Get().(*[]byte))[:0]
	}
	return cc.buf
}

// releaseWriteBuffers gives an idle connection's buffers back.
func (cc *h2Conn) releaseWriteBuffers() {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if cc.flushing || len(cc.buf) > 0 {
		return
	}
	for _, b := range [...][]byte{cc.buf, cc.spare} {
		if b != nil && cap(b) <= 64<<10 {
			h2WriteBuffers.Put(&b)
		}
	}
	cc.buf, cc.spare = nil, nil
}

// flushLocked writes what is queued, unless another goroutine is writing:
// that one writes it too, before it stops. It is called with wmu held and
// returns with it held; an error breaks the connection, and the caller
// fails it once wmu is released.
func (cc *h2Conn) flushLocked() error {
	if cc.flushing {
		return nil
	}
	cc.flushing = true
	for len(cc.buf) > 0 && cc.werr == nil {
		b := cc.buf
		cc.buf, cc.spare = cc.spare[:0], nil
		cc.wmu.Unlock()
		if d := cc.opts.writeTimeout; d > 0 {
			cc.nc.SetWriteDeadline(time.Now().Add(d))
		}
		_, err := cc.nc.Write(b)
		cc.wmu.Lock()
		cc.spare = b[:0]
		if err != nil {
			cc.werr = err
		}
	}
	cc.flushing = false
	cc.drained.Broadcast()
	return cc.werr
}

// flushStream writes the frames a request queued. With company on the
// connection it yields first, unless another goroutine already will
// write, so that the other requests' frames go in the same write.
func (cc *h2Conn) flushStream(yield bool) error {
	if cc.pending {
		return cc.werr
	}
	if yield && !cc.flushing {
		cc.pending = true
		cc.wmu.Unlock()
		runtime.Gosched()
		cc.wmu.Lock()
		cc.pending = false
	}
	return cc.flushLocked()
}

// flushControl writes what the read loop queued (acknowledgements, window
// updates) before it waits for the network.
func (cc *h2Conn) flushControl() {
	cc.wmu.Lock()
	var err error
	if !cc.pending && len(cc.buf) > 0 {
		err = cc.flushLocked()
	}
	cc.wmu.Unlock()
	if err != nil {
		cc.fail(err)
	}
}

// awaitDrainLocked waits, for a request body, until the queue is short.
func (cc *h2Conn) awaitDrainLocked() {
	for len(cc.buf) > h2MaxQueued && cc.flushing && cc.werr == nil {
		cc.drained.Wait()
	}
}

func (cc *h2Conn) queueWindowUpdate(id uint32, n int32) {
	if n <= 0 {
		return
	}
	cc.wmu.Lock()
	cc.buf = appendWindowUpdate(cc.acquireLocked(), id, uint32(n))
	cc.wmu.Unlock()
}

func (cc *h2Conn) queuePing(ack bool, data [8]byte) {
	var flags http2.Flags
	if ack {
		flags = http2.FlagPingAck
	}
	cc.wmu.Lock()
	b := appendFrameHeader(cc.acquireLocked(), 8, http2.FramePing, flags, 0)
	cc.buf = append(b, data[:]...)
	cc.wmu.Unlock()
}

func (cc *h2Conn) queueSettingsAckLocked() {
	cc.buf = appendFrameHeader(cc.acquireLocked(), 0, http2.FrameSettings, http2.FlagSettingsAck, 0)
}

func (cc *h2Conn) queueResetLocked(id uint32, code http2.ErrCode) {
	b := appendFrameHeader(cc.acquireLocked(), 4, http2.FrameRSTStream, 0, id)
	cc.buf = append(b, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
}

// goAwayAndFlush tells the server the client is done with the connection:
// gracefully (NO_ERROR) or after an error it found. The write is bounded:
// a server that reads nothing does not hold the close up.
func (cc *h2Conn) goAwayAndFlush(code http2.ErrCode, debug []byte) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if cc.werr != nil {
		return
	}
	b := appendFrameHeader(cc.acquireLocked(), 8+len(debug), http2.FrameGoAway, 0, 0)
	b = append(b, 0, 0, 0, 0, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
	cc.buf = append(b, debug...)
	cc.nc.SetWriteDeadline(time.Now().Add(goAwayWriteTimeout))
	cc.flushLocked()
}

// goAwayWriteTimeout bounds the write of a closing GOAWAY.
const goAwayWriteTimeout = time.Second

// queueHeadersLocked queues a header block as HEADERS and, past the
// server's frame size, CONTINUATION frames.
func (cc *h2Conn) queueHeadersLocked(id uint32, endStream bool, block []byte) {
	b := cc.acquireLocked()
	max := int(cc.peerMaxFrame)
	typ := http2.FrameHeaders
	for first := true; first || len(block) > 0; first = false {
		chunk := block[:min(len(block), max)]
		block = block[len(chunk):]
		var flags http2.Flags
		if first && endStream {
			flags |= http2.FlagHeadersEndStream
		}
		if len(block) == 0 {
			flags |= http2.FlagHeadersEndHeaders
		}
		b = appendFrameHeader(b, len(chunk), typ, flags, id)
		b = append(b, chunk...)
		typ = http2.FrameContinuation
	}
	cc.buf = b
}

func (cc *h2Conn) queueDataLocked(id uint32, endStream bool, data []byte) {
	var flags http2.Flags
	if endStream {
		flags = http2.FlagDataEndStream
	}
	b := appendFrameHeader(cc.acquireLocked(), len(data), http2.FrameData, flags, id)
	cc.buf = append(b, data...)
}

func appendFrameHeader(b []byte, length int, typ http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(typ), byte(flags),
		byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

func appendWindowUpdate(b []byte, id, n uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, id)
	return append(b, byte(n>>24)&0x7f, byte(n>>16), byte(n>>8), byte(n))
}
