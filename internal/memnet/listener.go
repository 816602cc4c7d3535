// Package memnet provides a net.Listener of in-memory connections, so that
// servers, proxies and clients of the tests can run in a testing/synctest
// bubble.
package memnet

import (
	"context"
	"net"
	"sync"
	"time"
)

// Listener is a net.Listener whose connections are in memory (net.Pipe,
// or TCP-like ones from NewStreamListener), so that a server and the proxy
// can run inside a testing/synctest bubble. Its Dial method connects to it.
type Listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once

	stream bool          // TCP-like connections (NewStreamListener) rather than net.Pipe
	oneWay time.Duration // their one-way delay
}

// NewListener returns a listener ready to accept.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for a Dial and returns the server's end of its connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Dial connects to the listener and returns the client's end; it blocks
// until the server accepts, the context ends or the listener closes.
func (l *Listener) Dial(ctx context.Context) (net.Conn, error) {
	if l.stream && l.oneWay > 0 {
		// The handshake: SYN, SYN-ACK.
		t := time.NewTimer(2 * l.oneWay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var client, server net.Conn
	if l.stream {
		client, server = StreamPair(l.oneWay)
	} else {
		client, server = net.Pipe()
	}
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: net.ErrClosed}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops accepting; connections already accepted stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns a placeholder address.
func (l *Listener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
