package httppool

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errHostPoolDead reports a host pool retired while a request looked it up.
var errHostPoolDead = errors.New("httppool: host pool retired")

// connectKey identifies the connections that may serve a request: a
// connection made for one key never serves another.
type connectKey struct {
	scheme string // "http" or "https"
	addr   string // host:port with the host in lower case
}

// String returns the key as "scheme://host:port".
func (k connectKey) String() string { return k.scheme + "://" + k.addr }

// hostPool holds the connections of one key: a LIFO stack of idle ones, the
// count of all open ones, and the FIFO queue of requests waiting for a
// connection when Config.MaxConnsPerHost is reached.
type hostPool struct {
	core *core
	key  connectKey

	mu      sync.Mutex
	idle    []*h1Conn // newest last
	open    int       // dialing + active + idle
	dialing int
	waiters []*waiter // oldest first
	conns   connList  // every open connection, for Shutdown
	dead    bool      // removed from core.hosts; look the key up again
}

// waiter is a request waiting for a connection of its host.
type waiter struct {
	ch chan grant // buffered: the granter never blocks
}

// grant answers a waiter: a connection handed over, or, when c and err are
// nil, a slot of MaxConnsPerHost in which to dial.
type grant struct {
	c   *h1Conn
	err error
}

// checkout is what get hands a request.
type checkout struct {
	c        *h1Conn
	reused   bool          // the connection served requests before
	wasIdle  bool          // it came from the idle stack (not handed over by a finishing request)
	idleTime time.Duration // how long it was idle
}

// get returns a connection for one request: the newest usable idle one, a
// new one dialed within the host's limit, or one freed while waiting in line.
// With fresh set it always dials. It fails with errHostPoolDead when hp was
// retired; the caller then looks the key up again.
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
		if n := len(hp.idle); n > 0 && !fresh {
			pc := hp.idle[n-1]
			hp.idle[n-1] = nil
			hp.idle = hp.idle[:n-1]
			pc.idle = false
			hp.mu.Unlock()
			c.idleRemoved(pc)
			now := time.Now()
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
				return hp.dial(ctx)
			}
			g, err := hp.wait(ctx)
			if err != nil {
				return checkout{}, err
			}
			if g.c == nil {
				return hp.dial(ctx) // slot granted, counted in open and dialing
			}
			if fresh {
				hp.mu.Lock()
				hp.conns.remove(g.c)
				hp.dialing++
				hp.mu.Unlock()
				g.c.closeConn(closeReasonRetry)
				return hp.dial(ctx)
			}
			return checkout{c: g.c, reused: true}, nil
		}
		hp.open++
		hp.dialing++
		hp.mu.Unlock()
		return hp.dial(ctx)
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
	case g.err == nil:
		hp.mu.Lock()
		hp.dialing--
		hp.releaseSlotLocked()
		hp.mu.Unlock()
	}
	return grant{}, ctx.Err()
}

// dial opens a connection in a slot already counted in open and dialing.
func (hp *hostPool) dial(ctx context.Context) (checkout, error) {
	c := hp.core
	c.stats.dials.Add(1)
	c.stats.dialing.Add(1)
	start := time.Now()
	pc, err := c.dialConn(ctx, hp)
	c.stats.dialing.Add(-1)
	hp.mu.Lock()
	hp.dialing--
	if err != nil {
		hp.releaseSlotLocked()
		hp.mu.Unlock()
		c.stats.dialErrors.Add(1)
		return checkout{}, err
	}
	hp.conns.push(pc)
	hp.mu.Unlock()
	c.stats.opened.Add(1)
	pc.logDialed(time.Since(start))
	return checkout{c: pc}, nil
}

// put returns a connection whose response was read to the end: to the oldest
// waiter, else to the idle stack. It closes the oldest idle connection of the
// host over MaxIdlePerHost, and the least recently used one over MaxIdle.
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
	pc.idleSince = time.Now()
	hp.idle = append(hp.idle, pc)
	var evicted *h1Conn
	if max := c.cfg.MaxIdlePerHost; max > 0 && len(hp.idle) > max {
		evicted = hp.idle[0]
		hp.removeIdleLocked(0)
	}
	hp.mu.Unlock()
	c.idleAdded(pc)
	if evicted != nil {
		c.idleRemoved(evicted)
		hp.discard(evicted, closeReasonMaxIdlePerHost)
	}
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

// closeIdle closes the host's idle connections.
func (hp *hostPool) closeIdle(reason closeReason) {
	hp.mu.Lock()
	idle := hp.idle
	hp.idle = nil
	for _, pc := range idle {
		pc.idle = false
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
	hp.mu.Unlock()
	for _, w := range waiters {
		w.ch <- grant{err: ErrClosed}
	}
	hp.closeIdle(closeReasonClosed)
}

// closeAll closes every connection of the host, in use or not; requests on
// them fail.
func (hp *hostPool) closeAll() {
	hp.shutdown()
	hp.mu.Lock()
	var all []*h1Conn
	for pc := hp.conns.head; pc != nil; pc = pc.next {
		all = append(all, pc)
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
