package httppool

import (
	"slices"
	"sync"
	"time"
)

// lruList orders every idle connection across hosts by the time it became
// idle, for Config.MaxIdleConns. It is only maintained when MaxIdleConns is set, so a
// Transport without that limit has no lock shared between hosts.
type lruList struct {
	mu         sync.Mutex
	head, tail *h1Conn // head is the least recently used
	n          int
}

// idleAddedLocked accounts for pc joining its host's idle stack, with the
// host's lock held so that no request can take pc before it is counted. It
// returns the least recently used idle connection when MaxIdleConns is exceeded;
// the caller evicts it with evictIdle once the host's lock is released.
func (c *core) idleAddedLocked(pc *h1Conn) (victim *h1Conn) {
	c.stats.idle.Add(1)
	max := c.cfg.MaxIdleConns
	if max <= 0 {
		return nil
	}
	l := &c.lru
	l.mu.Lock()
	defer l.mu.Unlock()
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
	return victim
}

// evictIdle closes victim for MaxIdleConns unless a request took it meanwhile;
// then its taker owns it and the idle count already dropped.
func (c *core) evictIdle(victim *h1Conn) {
	if victim != nil && victim.hp.takeIdle(victim) {
		c.idleRemoved(victim)
		victim.hp.discard(victim, closeReasonMaxIdle)
	}
}

// idleRemoved accounts for pc leaving an idle stack; whoever removes a
// connection from a stack calls it exactly once.
func (c *core) idleRemoved(pc *h1Conn) {
	c.stats.idle.Add(-1)
	if c.cfg.MaxIdleConns > 0 {
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
// it never keeps an unreachable Transport alive. Its check is one atomic
// load, since every connection returned to the pool calls it.
func (c *core) startSweeper() {
	if c.idleTimeout <= 0 && c.cfg.MaxLifetime <= 0 || c.sweeping.Load() || c.closed.Load() {
		return
	}
	if c.sweeping.CompareAndSwap(false, true) {
		go c.sweepLoop()
	}
}

// sweepLoop sweeps until the Transport closes or nothing has been idle for
// a whole sweep period. That grace period keeps a pool that keeps flipping
// between one idle connection and none from starting a goroutine each time.
func (c *core) sweepLoop() {
	period := c.idleTimeout
	if period <= 0 {
		period = c.cfg.MaxLifetime
	}
	timer := time.NewTimer(period)
	defer timer.Stop()
	quiet := false // the previous sweep found nothing idle
	for {
		now := time.Now()
		next := c.sweep(now)
		wait := period
		if !next.IsZero() {
			wait, quiet = next.Sub(now), false
		} else if c.stats.idle.Load() == 0 {
			if quiet {
				c.sweeping.Store(false)
				// A connection that became idle after the load above saw
				// sweeping set and started no sweeper: carry on for it.
				if c.stats.idle.Load() == 0 || !c.sweeping.CompareAndSwap(false, true) {
					return
				}
			}
			quiet = true
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.closeCh:
			c.sweeping.Store(false)
			return
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
