package httppool

import (
	"slices"
	"sync"
	"time"
)

// lruList orders every idle connection across hosts by the time it became
// idle, for Config.MaxIdle. It is only maintained when MaxIdle is set, so a
// Transport without that limit has no lock shared between hosts.
type lruList struct {
	mu         sync.Mutex
	head, tail *h1Conn // head is the least recently used
	n          int
}

// idleAdded accounts for pc joining an idle stack: it enforces MaxIdle and
// makes sure the sweeper runs.
func (c *core) idleAdded(pc *h1Conn) {
	c.stats.idle.Add(1)
	if max := c.cfg.MaxIdle; max > 0 {
		var victim *h1Conn
		l := &c.lru
		l.mu.Lock()
		pc.lruPrev, pc.lruNext = l.tail, nil
		if l.tail != nil {
			l.tail.lruNext = pc
		} else {
			l.head = pc
		}
		l.tail = pc
		pc.inLRU = true
		l.n++
		if l.n > max {
			victim = l.head
			l.unlinkLocked(victim)
		}
		l.mu.Unlock()
		// The victim may have been taken from its stack meanwhile; then its
		// taker owns it and the idle count already dropped.
		if victim != nil && victim.hp.takeIdle(victim) {
			c.idleRemoved(victim)
			victim.hp.discard(victim, closeReasonMaxIdle)
		}
	}
	c.startSweeper()
}

// idleRemoved accounts for pc leaving an idle stack; whoever removes a
// connection from a stack calls it exactly once.
func (c *core) idleRemoved(pc *h1Conn) {
	c.stats.idle.Add(-1)
	if c.cfg.MaxIdle > 0 {
		c.lru.mu.Lock()
		c.lru.unlinkLocked(pc)
		c.lru.mu.Unlock()
	}
}

func (l *lruList) unlinkLocked(pc *h1Conn) {
	if !pc.inLRU {
		return
	}
	if pc.lruPrev != nil {
		pc.lruPrev.lruNext = pc.lruNext
	} else {
		l.head = pc.lruNext
	}
	if pc.lruNext != nil {
		pc.lruNext.lruPrev = pc.lruPrev
	} else {
		l.tail = pc.lruPrev
	}
	pc.lruPrev, pc.lruNext, pc.inLRU = nil, nil, false
	l.n--
}

// startSweeper starts the one background goroutine that closes expired idle
// connections, unless it runs already or nothing can expire. It runs only
// while connections are idle and refers to core, not to the Transport, so
// it never keeps an unreachable Transport alive.
func (c *core) startSweeper() {
	if c.idleTimeout <= 0 && c.cfg.MaxLifetime <= 0 {
		return
	}
	c.sweepMu.Lock()
	if !c.sweeping && !c.closed.Load() {
		c.sweeping = true
		go c.sweepLoop()
	}
	c.sweepMu.Unlock()
}

func (c *core) sweepLoop() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		next := c.sweep(now)
		c.sweepMu.Lock()
		if c.closed.Load() || (next.IsZero() && c.stats.idle.Load() == 0) {
			c.sweeping = false
			c.sweepMu.Unlock()
			return
		}
		c.sweepMu.Unlock()
		wait := next.Sub(now)
		if next.IsZero() {
			// Something became idle after the scan passed its host.
			wait = c.idleTimeout
			if wait <= 0 {
				wait = c.cfg.MaxLifetime
			}
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.closeCh:
		}
	}
}

// sweep closes every idle connection that expired by now and returns the
// earliest time another one will, zero if none is idle.
func (c *core) sweep(now time.Time) (next time.Time) {
	c.eachHost(func(hp *hostPool) {
		var expired []*h1Conn
		var reasons []closeReason
		hp.mu.Lock()
		for i := 0; i < len(hp.idle); {
			pc := hp.idle[i]
			if r := pc.expiredAt(now); r != closeReasonNone {
				hp.removeIdleLocked(i)
				expired = append(expired, pc)
				reasons = append(reasons, r)
				continue
			}
			if t := pc.expiry(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
			i++
		}
		for _, h := range slices.Clone(hp.h2) {
			if !h.idleCounted {
				continue
			}
			if r := h.expiredAt(now); r != closeReasonNone {
				h.closing, h.reason = true, r
				hp.removeH2Locked(h)
				continue
			}
			if t := h.expiry(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		hp.mu.Unlock()
		for i, pc := range expired {
			c.idleRemoved(pc)
			hp.discard(pc, reasons[i])
		}
	})
	return next
}
