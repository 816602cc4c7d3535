package httppool

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn is one HTTP/2 connection, shared by the concurrent requests of its
// host. Its engine is ours, on x/net's Framer (reading) and hpack:
//
//   - A request's goroutine writes its HEADERS and DATA frames into the
//     connection's write buffer and waits on its stream; one writer at a
//     time flushes everything queued, so the frames of many streams leave in
//     one write (conn_h2_write.go).
//   - One read loop decodes every frame a read brings and hands each stream
//     its response, data and end without a goroutine per stream
//     (conn_h2_read.go). It runs while the connection has streams and parks
//     a moment after the last one ends, giving back its buffers: an idle
//     connection has no goroutine (unless health checks are on) and holds
//     no read buffer. Input that arrives while it is parked is read when the
//     connection is next taken (checkReuse).
//   - Streams, their flow-control windows and bodies are in conn_h2_stream.go.
//
// Every quantity the server controls is bounded: header list size while
// decoding, CONTINUATION frames per block, frames that do no work (a flood
// budget), windows, queued control-frame answers.
type h2Conn struct {
	connBase
	tc       *tls.Conn // nc, when it is TLS
	tlsState *tls.ConnectionState
	probe    *livenessProbe // nil when nc is not a socket
	opts     *h2Options
	readyCh  chan struct{} // closed once the server's first SETTINGS arrived, or the connection failed

	origins    originSet    // the server's ORIGIN frames, for coalescing (coalesce_origin.go)
	maxStreams atomic.Int32 // the server's MAX_CONCURRENT_STREAMS: the pool's capacity
	reading    atomic.Bool  // the read side is claimed: the read loop runs, or an inline read

	mu            sync.Mutex
	streams       map[uint32]*h2Stream
	nextID        uint32 // the next stream to open; streams below it were opened
	sendWindow    int32  // the connection's window for request bodies
	initialWindow int32  // the server's SETTINGS_INITIAL_WINDOW_SIZE
	settled       bool   // the server's first SETTINGS arrived
	goAway        *GoAwayError
	err           error // the connection failed: every stream fails with it
	windowWait    sync.Cond

	// The read side, used by whoever holds reading.
	sawSettings bool          // the server's first frame, SETTINGS, arrived
	br          *bufio.Reader // nil while parked
	fr          *http2.Framer // nil while parked
	dec         *hpack.Decoder
	block       headerBlock  // the header block being decoded
	decoded     decodedBlock // the last response head decoded
	decGen      uint64       // counts the changes of the decoder's table
	recvUnacked int32        // connection-level credit not yet given back
	junk        int          // frames that did no work since junkSince: the flood budget
	junkSince   time.Time
	armed       time.Time // the read deadline set, zero if none
	lastRead    time.Time // when a frame last arrived, for health checks
	pingSent    time.Time // a health-check PING awaits its answer since then
	idleSince   time.Time // when the last stream ended, for parking

	h2Writer
}

// h2Options is what every HTTP/2 connection of a Transport needs from its
// Config, worked out once.
type h2Options struct {
	streamWindow   int32  // receive window per stream
	connWindow     int32  // receive window of the connection
	maxReadFrame   uint32 // largest frame the server may send
	decoderTable   uint32
	encoderTable   uint32
	maxHeaderBytes int // Config.MaxResponseHeaderBytes: decoded header list size
	pingAfter      time.Duration
	pingTimeout    time.Duration
	writeTimeout   time.Duration
	settleTimeout  time.Duration // the server's SETTINGS must arrive within it
	strict         bool
	gzip           bool
	continueWait   time.Duration
	headerTimeout  time.Duration
}

// HTTP/2 defaults, as net/http's client has them.
const (
	h2DefaultStreamWindow = 4 << 20
	h2DefaultConnWindow   = 1 << 30
	h2DefaultMaxStreams   = 100 // until the server's SETTINGS say otherwise
	h2DefaultFrameSize    = 16 << 10
	h2MaxFrameSizeLimit   = 1 << 20
	h2DefaultTableSize    = 4096
	h2DefaultPingTimeout  = 15 * time.Second
	h2ReadBufferSize      = 64 << 10
	// h2ParkAfter is how long the read loop outlives the last stream, so
	// that a burst of requests does not start and stop it each time.
	h2ParkAfter = time.Second
)

func newH2Options(cfg *Config) *h2Options {
	h := &cfg.HTTP2
	o := &h2Options{
		streamWindow:   h2DefaultStreamWindow,
		connWindow:     h2DefaultConnWindow,
		maxReadFrame:   h2DefaultFrameSize,
		decoderTable:   h2DefaultTableSize,
		encoderTable:   h2DefaultTableSize,
		maxHeaderBytes: cfg.maxResponseHeaderBytes(),
		pingAfter:      h.SendPingTimeout,
		pingTimeout:    h.PingTimeout,
		writeTimeout:   h.WriteByteTimeout,
		settleTimeout:  cfg.tlsHandshakeTimeout(),
		strict:         h.StrictMaxConcurrentRequests,
		gzip:           !cfg.DisableCompression,
		continueWait:   cfg.expectContinueTimeout(),
		headerTimeout:  cfg.ResponseHeaderTimeout,
	}
	if n := h.MaxReceiveBufferPerStream; n > 0 && n < 1<<31 {
		o.streamWindow = int32(n)
	}
	if n := h.MaxReceiveBufferPerConnection; n >= 1<<16 && n < 1<<31 {
		o.connWindow = int32(n)
	}
	if n := h.MaxReadFrameSize; n >= h2DefaultFrameSize && n <= h2MaxFrameSizeLimit {
		o.maxReadFrame = uint32(n)
	}
	if n := h.MaxDecoderHeaderTableSize; n > 0 && n < 1<<32 {
		o.decoderTable = uint32(n)
	}
	if n := h.MaxEncoderHeaderTableSize; n > 0 && n < 1<<32 {
		o.encoderTable = uint32(n)
	}
	if o.pingTimeout <= 0 {
		o.pingTimeout = h2DefaultPingTimeout
	}
	return o
}

// newH2Conn starts HTTP/2 on nc: it writes the client preface and SETTINGS
// and starts the read loop, which waits for the server's SETTINGS.
func newH2Conn(hp *hostPool, nc net.Conn) (*h2Conn, error) {
	o := hp.core.h2opts
	cc := &h2Conn{
		opts:          o,
		probe:         newLivenessProbe(nc),
		readyCh:       make(chan struct{}),
		streams:       make(map[uint32]*h2Stream),
		nextID:        1,
		sendWindow:    65535,
		initialWindow: 65535,
	}
	cc.connBase.init(hp, nc, protoH2)
	cc.windowWait.L = &cc.mu
	if tc, ok := nc.(*tls.Conn); ok {
		cc.tc = tc
		st := tc.ConnectionState()
		cc.tlsState = &st
	}
	cc.maxStreams.Store(h2DefaultMaxStreams)
	cc.dec = hpack.NewDecoder(o.decoderTable, cc.block.emit)
	cc.dec.SetMaxStringLength(o.maxHeaderBytes)
	cc.block.cc = cc
	cc.h2Writer.init(o)
	if err := cc.writePreface(); err != nil {
		return nil, err
	}
	cc.reading.Store(true)
	cc.startReadLoop()
	return cc, nil
}

func (cc *h2Conn) base() *connBase        { return &cc.connBase }
func (cc *h2Conn) ready() <-chan struct{} { return cc.readyCh }

// capacity is the server's stream limit: the pool puts no more requests on
// the connection at once.
func (cc *h2Conn) capacity() int { return int(cc.maxStreams.Load()) }

// checkReuse reads, on the caller's goroutine, what arrived while the read
// loop was parked (a PING, a GOAWAY, the server's close) and starts the
// read loop again for the request about to come. With the read loop
// running it has nothing to do.
func (cc *h2Conn) checkReuse() closeReason {
	if cc.reading.Load() || !cc.reading.CompareAndSwap(false, true) {
		return cc.unusable()
	}
	if r := cc.readParked(); r != closeReasonNone {
		cc.reading.Store(false)
		return r
	}
	cc.startReadLoop()
	return cc.unusable()
}

// unusable reports why the connection can take no new stream.
func (cc *h2Conn) unusable() closeReason {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	reason, _ := cc.unusableLocked()
	return reason
}

// closeTransport closes the connection; gracefully, it tells the server
// with a GOAWAY first. The read loop then fails every stream left.
func (cc *h2Conn) closeTransport(graceful bool) {
	if graceful {
		cc.goAwayAndFlush(http2.ErrCodeNo, nil)
	}
	cc.fail(errH2ConnClosed)
	cc.nc.Close()
}

// errH2ConnClosed fails the streams of a connection the pool closed.
var errH2ConnClosed = errors.New("httppool: HTTP/2 connection closed")

// fail ends the connection with err: every stream fails with it, waiters
// for the server's SETTINGS are woken, and the pool stops using it. The
// first error wins.
func (cc *h2Conn) fail(err error) {
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return
	}
	cc.err = err
	var ended []*h2Stream
	for _, s := range cc.streams {
		if s.failLocked(cc.streamErrorLocked(s, err)) {
			ended = append(ended, s)
		}
	}
	if !cc.settled {
		cc.settled = true
		close(cc.readyCh)
	}
	cc.windowWait.Broadcast()
	cc.mu.Unlock()
	for _, s := range ended {
		s.release()
	}
	reason := closeReasonError
	if isConnGone(err) {
		reason = closeReasonServerClosed
	} else if err == errH2ConnClosed {
		reason = closeReasonClosed
	}
	cc.hp.retire(cc, reason)
}

// streamErrorLocked is the error a stream gets when the connection fails
// with err.
func (cc *h2Conn) streamErrorLocked(s *h2Stream, err error) error {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return err
	case cc.goAway != nil && cc.goAway.Code != 0:
		return cc.goAway
	case err == io.EOF && s.gotHeaders:
		return io.ErrUnexpectedEOF
	}
	return err
}

// protocolError is a connection error the client found: it tells the
// server with GOAWAY, then fails the connection.
func (cc *h2Conn) protocolError(code http2.ErrCode, err error) error {
	return &ProtocolError{Proto: "HTTP/2.0", Code: uint64(code), Err: err}
}

// wantsH2 reports whether a host's requests may share HTTP/2 connections.
func (c *core) wantsH2(key connectKey) bool {
	if key.scheme == "https" {
		return !c.cfg.HTTP2.Disable
	}
	return c.cfg.HTTP2.H2C
}
