package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufferSize is the most one read takes from either side.
const bufferSize = 32 << 10

// conn is one proxied connection: the client's side (front), the server's
// side, and the goroutines that pump bytes between them.
type conn struct {
	p      *Proxy
	n      int
	plan   Plan
	target position // where the fault strikes
	front  net.Conn

	mu     sync.Mutex
	server net.Conn // nil until dialed
	killed bool
	done   chan struct{} // closed by kill

	responses   atomic.Int64
	striking    atomic.Bool // the fault is being applied: client bytes count as after it
	fired       atomic.Bool // the fault was applied
	clientBytes atomic.Int64
	serverBytes atomic.Int64
	afterFault  atomic.Int64
	finished    atomic.Bool
}

func newConn(p *Proxy, n int, front net.Conn) *conn {
	plan := p.script(n)
	f := plan.Fault
	return &conn{
		p:      p,
		n:      n,
		plan:   plan,
		target: position{resp: f.Response, phase: f.Phase, offset: f.Offset},
		front:  front,
		done:   make(chan struct{}),
	}
}

func (c *conn) info() ConnInfo {
	return ConnInfo{
		N:                     c.n,
		Plan:                  c.plan,
		Responses:             int(c.responses.Load()),
		Fired:                 c.fired.Load(),
		ClientBytes:           c.clientBytes.Load(),
		ServerBytes:           c.serverBytes.Load(),
		ClientBytesAfterFault: c.afterFault.Load(),
		Done:                  c.finished.Load(),
	}
}

// serve dials the server and pumps bytes both ways until both sides close.
func (c *conn) serve(ctx context.Context, upstream Dialer) {
	defer c.finished.Store(true)
	server, err := upstream(ctx)
	if err != nil {
		c.kill()
		return
	}
	c.mu.Lock()
	if c.killed {
		c.mu.Unlock()
		server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.pumpUp(server)
	}()
	c.pumpDown(server)
	wg.Wait()
	c.kill()
}

// kill closes both sides at once.
func (c *conn) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return
	}
	c.killed = true
	close(c.done)
	c.front.Close()
	if c.server != nil {
		c.server.Close()
	}
}

// reset aborts the client's side with an RST, then closes everything.
func (c *conn) reset() {
	if tc, ok := c.front.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.kill()
}

// halfClose sends a FIN to the client, leaving the other direction open; a
// connection that cannot half-close is closed.
func (c *conn) halfClose() {
	if hc, ok := c.front.(interface{ CloseWrite() error }); ok {
		if hc.CloseWrite() == nil {
			return
		}
	}
	c.kill()
}

// pumpUp forwards the client's bytes to the server until the client closes.
// Once the server is gone, what the client sends is read and dropped, so
// that the client sees the server's own close rather than the proxy's.
func (c *conn) pumpUp(server net.Conn) {
	buf := make([]byte, bufferSize)
	serverGone := false
	for {
		n, err := c.front.Read(buf)
		if n > 0 {
			c.clientBytes.Add(int64(n))
			if c.striking.Load() {
				c.afterFault.Add(int64(n))
			}
			if !serverGone && c.send(server, buf[:n]) != nil {
				serverGone = true
			}
		}
		if err != nil {
			c.kill()
			return
		}
	}
}

// pumpDown forwards the server's bytes to the client, following its
// responses, until the fault strikes or the server closes.
func (c *conn) pumpDown(server net.Conn) {
	buf := make([]byte, bufferSize)
	var f framer
	pending := c.plan.Fault.Action != None
	for {
		n, err := server.Read(buf)
		c.serverBytes.Add(int64(n))
		data := buf[:n]
		for len(data) > 0 {
			f.startNext()
			if pending && !f.pos.before(c.target) {
				c.strike(server)
				return
			}
			k := f.consume(data, f.limit(c.target))
			if f.pos.phase == End {
				c.responses.Add(1)
			}
			if c.send(c.front, data[:k]) != nil {
				c.kill()
				return
			}
			data = data[k:]
		}
		if n > 0 && pending && !f.pos.before(c.target) {
			c.strike(server)
			return
		}
		if err != nil {
			switch {
			case errors.Is(err, syscall.ECONNRESET):
				c.reset() // pass the server's RST on
			case errors.Is(err, io.EOF):
				c.halfClose() // pass the server's FIN on; the client closes next
			default:
				c.kill()
			}
			return
		}
	}
}

// strike records that the plan's fault struck, then applies it: a client
// that met the RST or FIN can count on Fired being set already. Whatever the
// server sends afterwards is read and dropped.
func (c *conn) strike(server net.Conn) {
	c.striking.Store(true)
	c.fired.Store(true)
	c.p.fired.Add(1)
	switch c.plan.Fault.Action {
	case Reset:
		c.reset()
	case Close:
		c.kill()
	case HalfClose:
		c.halfClose()
	}
	if a := c.plan.Fault.Action; a == Reset || a == Close {
		return
	}
	io.Copy(io.Discard, server)
	<-c.done
}

// send writes b to dst after the plan's latency, at most at its bandwidth.
func (c *conn) send(dst net.Conn, b []byte) error {
	if d := c.plan.Latency; d > 0 && !c.sleep(d) {
		return net.ErrClosed
	}
	bw := c.plan.Bandwidth
	if bw <= 0 {
		_, err := dst.Write(b)
		return err
	}
	piece := max(bw/20, 1) // a twentieth of a second's worth at a time
	for len(b) > 0 {
		n := min(piece, len(b))
		if _, err := dst.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if !c.sleep(time.Duration(n) * time.Second / time.Duration(bw)) {
			return net.ErrClosed
		}
	}
	return nil
}

// sleep waits for d, reporting false if the connection was closed first.
func (c *conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}
