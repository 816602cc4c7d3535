package httppool

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"time"
)

// errHostPoolDead reports a host pool retired while a request looked it up.
var errHostPoolDead = errors.New("httppool: host pool retired")

// connectKey identifies the connections that may serve a request: a
// connection made for one key never serves another.
type connectKey struct {
	scheme string // "http" or "https"
	addr   string // host:port with the host in lower case; empty for http:// origins through an HTTP proxy
	proxy  string // the proxy URL, empty for a direct connection
}

// String returns the key as "scheme://host:port", followed by " via " and
// the proxy's URL without its password when there is a proxy.
func (k connectKey) String() string {
	s := k.scheme + "://" + k.addr
	if k.proxy != "" {
		if u, err := url.Parse(k.proxy); err == nil {
			s += " via " + u.Redacted()
		}
	}
	return s
}

// hostPool holds the connections of one key: a LIFO stack of idle HTTP/1.1
// ones, the shared HTTP/2 ones, the count of all open ones, and the FIFO
// queue of requests waiting for a connection when Config.MaxConnsPerHost is
// reached.
type hostPool struct {
	core    *core
	key     connectKey
	route   proxyRoute // how connections reach the origin
	wantsH2 bool       // the key may speak HTTP/2: https with ALPN, or h2c

	mu      sync.Mutex
	idle    []*h1Conn // newest last
	open    int       // dialing + active + idle, HTTP/1.1 and HTTP/2
	dialing int
	waiters []*waiter // oldest first
	conns   connList  // every open HTTP/1.1 connection, for Shutdown
	dead    bool      // removed from core.hosts; look the key up again

	proto      proto         // what the host speaks, once a connection told
	h2         []*h2Conn     // HTTP/2 connections, newest last
	connecting chan struct{} // while a dial that others wait for runs; closed when it ends
}

// waiter is a request waiting for a connection of its host.
type waiter struct {
	ch chan grant // buffered: the granter never blocks
}

// grant answers a waiter: a connection handed over; retry, to look again
// because an HTTP/2 stream freed up; err; or, when all are zero, a slot of
// MaxConnsPerHost in which to dial.
type grant struct {
	c     *h1Conn
	retry bool
	err   error
}

// checkout is what get hands a request: an HTTP/1.1 connection (c) or a
// stream reserved on an HTTP/2 one (h2).
type checkout struct {
	c        *h1Conn
	h2       *h2Conn
	reused   bool          // the connection served requests before
	wasIdle  bool          // it was idle (not handed over by a finishing request)
	idleTime time.Duration // how long it was idle
}

// get returns a connection for one request: a stream on a shared HTTP/2
// connection, the newest usable idle HTTP/1.1 one, a new one dialed within
// the host's limit, or one freed while waiting in line. With fresh set it
// always dials. While a dial that decides the host's protocol (or adds
// HTTP/2 capacity) runs, other requests wait for it rather than dial too.
// It fails with errHostPoolDead when hp was retired; the caller then looks
// the key up again.
func (hp *hostPool) get(ctx context.Context, fresh bool) (checkout, error) {
	c := hp.core
	for {
		hp.mu.Lock()
		if hp.dead {
			hp.mu.Unlock()
			return checkout{}, errHostPoolDead
		}
		if c.closed.Load() {
			hp.mu.Unlock()
			return checkout{}, ErrClosed
		}
		connect := false
		if hp.sharesH2() {
			if !fresh {
				if co, ok := hp.takeH2Locked(); ok {
					hp.mu.Unlock()
					return co, nil
				}
			}
			if hp.dead { // retiring a spent connection emptied the pool
				hp.mu.Unlock()
				return checkout{}, errHostPoolDead
			}
			if ch := hp.connecting; ch != nil {
				hp.mu.Unlock()
				select {
				case <-ch:
					continue
				case <-ctx.Done():
					return checkout{}, ctx.Err()
				}
			}
			connect = true
		}
		if n := len(hp.idle); n > 0 && !fresh {
			pc := hp.idle[n-1]
			hp.idle[n-1] = nil
			hp.idle = hp.idle[:n-1]
			pc.idle = false
			pc.yieldToRead = hp.open-hp.dialing-len(hp.idle) > 1
			hp.mu.Unlock()
			c.idleRemoved(pc)
			now := monoNow()
			if reason := pc.unusableAfterIdle(now); reason != closeReasonNone {
				hp.discard(pc, reason)
				continue
			}
			return checkout{c: pc, reused: true, wasIdle: true, idleTime: now.Sub(pc.idleSince)}, nil
		}
		if max := c.cfg.MaxConnsPerHost; max > 0 && hp.open >= max {
			if fresh && len(hp.idle) > 0 {
				// Trade the oldest idle connection's slot for a new one.
				pc := hp.idle[0]
				hp.removeIdleLocked(0)
				hp.conns.remove(pc)
				hp.dialing++
				hp.mu.Unlock()
				c.idleRemoved(pc)
				pc.closeConn(closeReasonRetry)
				return hp.dial(ctx, false)
			}
			g, err := hp.wait(ctx)
			switch {
			case err != nil:
				return checkout{}, err
			case g.retry:
				continue
			case g.c == nil:
				return hp.dial(ctx, false) // slot granted, counted in open and dialing
			case fresh:
				hp.mu.Lock()
				hp.conns.remove(g.c)
				hp.dialing++
				hp.mu.Unlock()
				g.c.closeConn(closeReasonRetry)
				return hp.dial(ctx, false)
			}
			if reason := g.c.unreadInput(); reason != closeReasonNone {
				hp.discard(g.c, reason)
				continue
			}
			g.c.yieldToRead = true // handed over: the pool is busy
			return checkout{c: g.c, reused: true}, nil
		}
		hp.open++
		hp.dialing++
		if connect {
			hp.connecting = make(chan struct{})
		}
		hp.mu.Unlock()
		return hp.dial(ctx, connect)
	}
}

// wait queues a request until a connection or a slot is granted or ctx ends.
// It is called with hp.mu held and returns with it released.
func (hp *hostPool) wait(ctx context.Context) (grant, error) {
	w := &waiter{ch: make(chan grant, 1)}
	hp.waiters = append(hp.waiters, w)
	hp.mu.Unlock()
	stats := &hp.core.stats
	stats.waiting.Add(1)
	start := time.Now()
	defer func() {
		stats.waiting.Add(-1)
		stats.waitCount.Add(1)
		stats.waitDuration.Add(int64(time.Since(start)))
	}()
	select {
	case g := <-w.ch:
		return g, g.err
	case <-ctx.Done():
	}
	hp.mu.Lock()
	for i, x := range hp.waiters {
		if x == w {
			hp.waiters = append(hp.waiters[:i], hp.waiters[i+1:]...)
			hp.mu.Unlock()
			return grant{}, ctx.Err()
		}
	}
	hp.mu.Unlock()
	// Granted as ctx ended: give back what was granted.
	g := <-w.ch
	switch {
	case g.c != nil:
		hp.put(g.c)
	case g.err == nil && !g.retry:
		hp.mu.Lock()
		hp.dialing--
		hp.releaseSlotLocked()
		hp.mu.Unlock()
	}
	return grant{}, ctx.Err()
}

// dial opens a connection in a slot already counted in open and dialing.
// With connect set, the requests waiting on hp.connecting are woken once
// the connection's protocol, and for HTTP/2 its stream limit, are known.
func (hp *hostPool) dial(ctx context.Context, connect bool) (checkout, error) {
	c := hp.core
	c.stats.dials.Add(1)
	c.stats.dialing.Add(1)
	start := time.Now()
	pc, h2c, err := c.dialConn(ctx, hp)
	c.stats.dialing.Add(-1)
	hp.mu.Lock()
	defer hp.mu.Unlock()
	hp.dialing--
	var connecting chan struct{}
	if connect {
		connecting = hp.connecting
	}
	if err != nil {
		hp.releaseSlotLocked()
		hp.endConnectLocked(connecting)
		c.stats.dialErrors.Add(1)
		return checkout{}, err
	}
	c.stats.opened.Add(1)
	if h2c != nil {
		hp.setProto(protoH2)
		c.stats.openH2.Add(1)
		c.logDialed(h2c.id, hp.key, "HTTP/2.0", time.Since(start))
		h2c.reserve()
		h2c.streams, h2c.served = 1, 1
		if c.cfg.DisableKeepAlives {
			h2c.closing, h2c.reason = true, closeReasonNoPooling
		}
		hp.h2 = append(hp.h2, h2c)
		if connecting != nil {
			go hp.settle(h2c, connecting)
		}
		return checkout{h2: h2c}, nil
	}
	if hp.wantsH2 {
		hp.setProto(protoH1)
	}
	hp.endConnectLocked(connecting)
	hp.conns.push(pc)
	c.logDialed(pc.id, hp.key, "HTTP/1.1", time.Since(start))
	return checkout{c: pc}, nil
}

// setProto records what the host speaks, in the pool and, so that a pool
// created later for the key knows it, in the Transport.
func (hp *hostPool) setProto(p proto) {
	if hp.proto != p {
		hp.proto = p
		hp.core.rememberProto(hp.key, p)
	}
}

// put returns a connection whose response was read to the end: to the oldest
// waiter, else to the idle stack. It closes the oldest idle connection of the
// host over MaxIdlePerHost, and the least recently used one over MaxIdleConns.
// It fails with ErrClosed, closing pc, once the Transport is closed.
func (hp *hostPool) put(pc *h1Conn) error {
	c := hp.core
	hp.mu.Lock()
	if c.closed.Load() || hp.dead {
		hp.mu.Unlock()
		hp.discard(pc, closeReasonClosed)
		return ErrClosed
	}
	pc.logReturned()
	if len(hp.waiters) > 0 {
		w := hp.waiters[0]
		hp.waiters = hp.waiters[1:]
		hp.mu.Unlock()
		w.ch <- grant{c: pc}
		return nil
	}
	pc.idle = true
	pc.idleSince = monoNow()
	hp.idle = append(hp.idle, pc)
	lru := c.idleAddedLocked(pc)
	var evicted *h1Conn
	if max := c.cfg.MaxIdlePerHost; max > 0 && len(hp.idle) > max {
		evicted = hp.idle[0]
		hp.removeIdleLocked(0)
	}
	hp.mu.Unlock()
	if evicted != nil {
		c.idleRemoved(evicted)
		hp.discard(evicted, closeReasonMaxIdlePerHost)
	}
	c.evictIdle(lru)
	c.startSweeper()
	return nil
}

// removeIdleLocked takes the idle connection at index i out of the stack.
func (hp *hostPool) removeIdleLocked(i int) {
	hp.idle[i].idle = false
	copy(hp.idle[i:], hp.idle[i+1:])
	hp.idle[len(hp.idle)-1] = nil
	hp.idle = hp.idle[:len(hp.idle)-1]
}

// takeIdle removes pc from the idle stack if it is still there, reporting
// whether it was (and so now belongs to the caller).
func (hp *hostPool) takeIdle(pc *h1Conn) bool {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if !pc.idle {
		return false
	}
	for i, x := range hp.idle {
		if x == pc {
			hp.removeIdleLocked(i)
			return true
		}
	}
	return false
}

// discard closes a connection that is not idle and frees its slot.
func (hp *hostPool) discard(pc *h1Conn, reason closeReason) {
	pc.closeConn(reason)
	hp.mu.Lock()
	hp.conns.remove(pc)
	hp.releaseSlotLocked()
	hp.mu.Unlock()
}

// detach takes a connection out of the pool without closing it, as a
// "101 Switching Protocols" response does.
func (hp *hostPool) detach(pc *h1Conn) {
	hp.mu.Lock()
	hp.conns.remove(pc)
	hp.releaseSlotLocked()
	hp.mu.Unlock()
	hp.core.stats.closed[closeReasonUpgraded].Add(1)
}

// releaseSlotLocked frees one connection slot: it goes to the oldest waiter,
// which will dial, or the open count drops. An empty pool retires itself so
// that a client visiting many hosts does not keep one pool per host forever.
func (hp *hostPool) releaseSlotLocked() {
	if len(hp.waiters) > 0 {
		w := hp.waiters[0]
		hp.waiters = hp.waiters[1:]
		hp.dialing++
		w.ch <- grant{}
		return
	}
	hp.open--
	if hp.open == 0 && !hp.dead {
		hp.dead = true
		hp.core.hosts.CompareAndDelete(hp.key, hp)
	}
}

// closeIdle closes the host's idle connections. Once the Transport is
// closed, HTTP/2 connections in use also stop taking requests and close when
// their last stream ends; otherwise they are left alone.
func (hp *hostPool) closeIdle(reason closeReason) {
	hp.mu.Lock()
	idle := hp.idle
	hp.idle = nil
	for _, pc := range idle {
		pc.idle = false
	}
	for _, h := range slices.Clone(hp.h2) {
		if h.streams == 0 || reason == closeReasonClosed {
			hp.retireH2Locked(h, reason)
		}
	}
	hp.mu.Unlock()
	for _, pc := range idle {
		hp.core.idleRemoved(pc)
		hp.discard(pc, reason)
	}
}

// shutdown closes the idle connections and fails the waiters with ErrClosed.
func (hp *hostPool) shutdown() {
	hp.mu.Lock()
	waiters := hp.waiters
	hp.waiters = nil
	connecting := hp.connecting
	hp.endConnectLocked(connecting)
	hp.mu.Unlock()
	for _, w := range waiters {
		w.ch <- grant{err: ErrClosed}
	}
	hp.closeIdle(closeReasonClosed)
}

// closeAll closes every connection of the host, in use or not; requests on
// them fail. HTTP/2 connections get a GOAWAY first when graceful.
func (hp *hostPool) closeAll(graceful bool) {
	hp.shutdown()
	hp.mu.Lock()
	var all []*h1Conn
	for pc := hp.conns.head; pc != nil; pc = pc.next {
		all = append(all, pc)
	}
	for _, h := range slices.Clone(hp.h2) {
		if !h.closing {
			h.closing, h.reason = true, closeReasonClosed
		}
		hp.closeH2(h, graceful) // streams on it fail and end; streamDone removes it
		if h.streams == 0 {
			hp.removeH2Locked(h)
		}
	}
	hp.mu.Unlock()
	for _, pc := range all {
		pc.closeConn(closeReasonClosed) // requests on it fail and discard it
	}
}

// connList is an intrusive list of a host's open connections.
type connList struct{ head *h1Conn }

func (l *connList) push(pc *h1Conn) {
	pc.prev, pc.next = nil, l.head
	if l.head != nil {
		l.head.prev = pc
	}
	l.head = pc
	pc.listed = true
}

func (l *connList) remove(pc *h1Conn) {
	if !pc.listed {
		return
	}
	if pc.prev != nil {
		pc.prev.next = pc.next
	} else {
		l.head = pc.next
	}
	if pc.next != nil {
		pc.next.prev = pc.prev
	}
	pc.prev, pc.next, pc.listed = nil, nil, false
}
