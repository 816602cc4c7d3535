package memnet

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// NewStreamListener returns a listener whose connections behave like TCP
// over a link with the given one-way delay, rather than like net.Pipe:
// writes are buffered and never wait for the reader; bytes, and a close
// (FIN), reach the other end oneWay later; bytes that reach an end already
// closed make the kernel answer with a reset, which reaches the writer
// oneWay later and fails its reads and writes with ECONNRESET; a Dial
// takes one round trip, the handshake. Within a testing/synctest bubble
// the delays pass in the bubble's time, so that a server closing an idle
// connection races a request in flight as it does over a network.
func NewStreamListener(oneWay time.Duration) *Listener {
	l := NewListener()
	l.oneWay = oneWay
	l.stream = true
	return l
}

// StreamPair returns the two ends of a connection like those of
// NewStreamListener, without a listener.
func StreamPair(oneWay time.Duration) (net.Conn, net.Conn) {
	s := &stream{oneWay: oneWay, wake: make(chan struct{})}
	return &streamConn{s: s, end: 0}, &streamConn{s: s, end: 1}
}

// stream is the state of one connection, both ends under one lock.
type stream struct {
	oneWay time.Duration
	mu     sync.Mutex
	wake   chan struct{} // closed, and replaced, at every change
	ends   [2]endState
}

// endState is one end: what travels to it, and what it did.
type endState struct {
	inbox    []segment // bytes on their way to this end, or arrived and unread
	finAt    time.Time // when the other end's close reaches this end; zero while open
	resetAt  time.Time // when a reset reaches this end; zero if none
	closed   bool      // this end was closed
	readDL   time.Time
	writeDL  time.Time
	received int // bytes of inbox[0] already read
}

type segment struct {
	data []byte
	at   time.Time // when it reaches the reader
}

// changedLocked wakes every goroutine waiting on s.
func (s *stream) changedLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// streamConn is one end of a stream.
type streamConn struct {
	s   *stream
	end int
}

func connReset(op string) error {
	return &net.OpError{Op: op, Net: "mem", Err: os.NewSyscallError(op, syscall.ECONNRESET)}
}

func (c *streamConn) Read(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		e := &s.ends[c.end]
		now := time.Now()
		switch {
		case e.closed:
			return 0, net.ErrClosed
		case !e.resetAt.IsZero() && !now.Before(e.resetAt):
			return 0, connReset("read")
		case len(e.inbox) > 0 && !now.Before(e.inbox[0].at):
			if len(p) == 0 {
				return 0, nil
			}
			n := 0
			for n < len(p) && len(e.inbox) > 0 && !now.Before(e.inbox[0].at) {
				seg := e.inbox[0].data[e.received:]
				k := copy(p[n:], seg)
				n += k
				if e.received += k; e.received == len(e.inbox[0].data) {
					e.inbox = e.inbox[1:]
					e.received = 0
				}
			}
			return n, nil
		case len(e.inbox) == 0 && !e.finAt.IsZero() && !now.Before(e.finAt):
			return 0, io.EOF
		case !e.readDL.IsZero() && !now.Before(e.readDL):
			return 0, os.ErrDeadlineExceeded
		}
		next := e.readDL
		for _, t := range []time.Time{e.resetAt, e.finAt} {
			if !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if len(e.inbox) > 0 && (next.IsZero() || e.inbox[0].at.Before(next)) {
			next = e.inbox[0].at
		}
		s.waitLocked(next)
	}
}

// waitLocked waits, unlocked, for a change or until deadline (if not zero).
func (s *stream) waitLocked(deadline time.Time) {
	wake := s.wake
	s.mu.Unlock()
	defer s.mu.Lock()
	if deadline.IsZero() {
		<-wake
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	}
}

func (c *streamConn) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e, peer := &s.ends[c.end], &s.ends[1-c.end]
	now := time.Now()
	switch {
	case e.closed:
		return 0, net.ErrClosed
	case !e.writeDL.IsZero() && !now.Before(e.writeDL):
		return 0, os.ErrDeadlineExceeded
	case !e.resetAt.IsZero() && !now.Before(e.resetAt):
		return 0, connReset("write")
	case len(p) == 0:
		return 0, nil
	}
	at := now.Add(s.oneWay)
	if peer.closed {
		// The peer's kernel answers bytes for a closed socket with a reset.
		s.resetLocked(c.end, at.Add(s.oneWay))
		return len(p), nil
	}
	peer.inbox = append(peer.inbox, segment{data: append([]byte(nil), p...), at: at})
	s.changedLocked()
	return len(p), nil
}

// resetLocked makes a reset reach end at t, unless one reaches it sooner.
func (s *stream) resetLocked(end int, t time.Time) {
	e := &s.ends[end]
	if e.resetAt.IsZero() || t.Before(e.resetAt) {
		e.resetAt = t
		s.changedLocked()
	}
}

// Close closes this end: its close reaches the peer oneWay later, after
// the bytes already sent. Bytes sent to it and not read, or still on their
// way, are answered with a reset, as a kernel does.
func (c *streamConn) Close() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e, peer := &s.ends[c.end], &s.ends[1-c.end]
	if e.closed {
		return net.ErrClosed
	}
	now := time.Now()
	e.closed = true
	if peer.finAt.IsZero() {
		peer.finAt = now.Add(s.oneWay)
	}
	for _, seg := range e.inbox {
		s.resetLocked(1-c.end, maxTime(now, seg.at).Add(s.oneWay))
	}
	e.inbox = nil
	s.changedLocked()
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (c *streamConn) SetDeadline(t time.Time) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	e := &c.s.ends[c.end]
	e.readDL, e.writeDL = t, t
	c.s.changedLocked()
	return nil
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ends[c.end].readDL = t
	c.s.changedLocked()
	return nil
}

func (c *streamConn) SetWriteDeadline(t time.Time) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ends[c.end].writeDL = t
	c.s.changedLocked()
	return nil
}

func (c *streamConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *streamConn) RemoteAddr() net.Addr { return pipeAddr{} }

// PeerState reports, without blocking or reading, whether the peer's close
// or a reset has reached this end, and whether bytes have arrived unread:
// what a non-blocking peek at a socket tells. httppool's liveness check
// asks it of connections that are not sockets.
func (c *streamConn) PeerState() (closed, pending bool) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &s.ends[c.end]
	now := time.Now()
	pending = len(e.inbox) > 0 && !now.Before(e.inbox[0].at)
	closed = !e.resetAt.IsZero() && !now.Before(e.resetAt) || !e.finAt.IsZero() && !now.Before(e.finAt)
	return closed, pending
}
