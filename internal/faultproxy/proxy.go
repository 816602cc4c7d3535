package faultproxy

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// Dialer connects the proxy to its server.
type Dialer func(ctx context.Context) (net.Conn, error)

// TCP returns a Dialer for a server listening on addr.
func TCP(addr string) Dialer {
	var d net.Dialer
	return func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}
}

// ErrClosed is returned by DialContext once the proxy is closed.
var ErrClosed = errors.New("faultproxy: proxy closed")

// Proxy forwards connections to a server, breaking them as its Script says.
// Create it with New; serve clients with Listen, DialContext or both; Close
// it when done, which closes every connection and waits for its goroutines.
type Proxy struct {
	upstream Dialer
	script   Script

	ctx    context.Context // ends at Close, cancelling dials to the server
	cancel context.CancelFunc
	wg     sync.WaitGroup

	fired atomic.Int64 // faults struck, over all connections

	mu       sync.Mutex
	ln       net.Listener
	accepted int
	conns    map[int]*conn // by number; Forget drops those done
	closed   bool
}

// New returns a proxy to the server that upstream reaches, whose connections
// follow script. A nil script breaks nothing.
func New(upstream Dialer, script Script) *Proxy {
	if script == nil {
		script = Always(Plan{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{upstream: upstream, script: script, ctx: ctx, cancel: cancel, conns: make(map[int]*conn)}
}

// Listen makes the proxy accept clients on a loopback TCP port and returns
// its address ("127.0.0.1:port"). Call it at most once.
func (p *Proxy) Listen() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	if p.closed || p.ln != nil {
		p.mu.Unlock()
		ln.Close()
		return "", ErrClosed
	}
	p.ln = ln
	p.wg.Add(1)
	p.mu.Unlock()
	go p.acceptLoop(ln)
	return ln.Addr().String(), nil
}

func (p *Proxy) acceptLoop(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.start(c) {
			c.Close()
			return
		}
	}
}

// DialContext connects a client to the proxy in memory, whatever network
// and address it is given; it fits Config.DialContext. The connection has
// no RST and no half-close: Reset and HalfClose faults close it.
func (p *Proxy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	client, front := net.Pipe()
	if !p.start(front) {
		client.Close()
		front.Close()
		return nil, ErrClosed
	}
	return client, nil
}

// start registers a client connection and serves it; it reports false once
// the proxy is closed.
func (p *Proxy) start(front net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.accepted++
	c := newConn(p, p.accepted, front)
	p.conns[c.n] = c
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		c.serve(p.ctx, p.upstream)
	}()
	return true
}

// ConnInfo describes one connection the proxy accepted.
type ConnInfo struct {
	// N numbers the connection from 1 in the order the proxy accepted it.
	N int
	// Plan is what the script chose for it.
	Plan Plan
	// Responses counts the responses forwarded in full to the client.
	Responses int
	// Fired reports whether the plan's fault struck; it is set just before
	// the RST or FIN is sent, so a client that met one sees it set.
	Fired bool
	// ClientBytes and ServerBytes count the bytes received from each side.
	ClientBytes, ServerBytes int64
	// ClientBytesAfterFault counts the bytes the client sent after the
	// fault struck: a client that reuses a broken connection sends some.
	ClientBytesAfterFault int64
	// Done reports that both sides of the connection are closed.
	Done bool
}

// Accepted returns how many connections the proxy accepted.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Fired returns how many faults struck, over all connections.
func (p *Proxy) Fired() int { return int(p.fired.Load()) }

// Conns returns a snapshot of the connections the proxy accepted and still
// remembers (see Forget), in the order it accepted them.
func (p *Proxy) Conns() []ConnInfo {
	p.mu.Lock()
	infos := make([]ConnInfo, 0, len(p.conns))
	for _, c := range p.conns {
		infos = append(infos, c.info())
	}
	p.mu.Unlock()
	slices.SortFunc(infos, func(a, b ConnInfo) int { return a.N - b.N })
	return infos
}

// Conn returns a snapshot of connection n (from 1), and false when the proxy
// has not accepted that many or has forgotten it.
func (p *Proxy) Conn(n int) (ConnInfo, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[n]
	if !ok {
		return ConnInfo{}, false
	}
	return c.info(), true
}

// Forget drops what the proxy remembers of the connections that are done,
// keeping only the totals (Accepted, Fired), so that a long test's proxy
// uses no more memory as connections come and go.
func (p *Proxy) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, c := range p.conns {
		if c.finished.Load() {
			delete(p.conns, n)
		}
	}
}

// Close stops accepting, closes every connection, and waits until all the
// proxy's goroutines have returned. It may be called more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	ln := p.ln
	conns := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.cancel()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.kill()
	}
	p.wg.Wait()
	return nil
}
