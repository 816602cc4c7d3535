package httppool

import (
	"math"
	"sync"
	"time"
)

// lruList orders every idle connection across hosts by the time it became
// idle, for Config.MaxIdleConns. It is only maintained when MaxIdleConns is
// set, so a Transport without that limit has no lock shared between hosts.
type lruList struct {
	mu         sync.Mutex
	head, tail conn // head is the least recently used
	n          int
}

// idleAdded accounts for cn becoming idle, with its host's lock held so
// that no request can take it before it is counted. It returns the least
// recently used idle connection when MaxIdleConns is exceeded; the caller
// evicts it with evictIdle once the host's lock is released.
func (c *core) idleAdded(cn conn) (victim conn) {
	c.stats.idle.Add(1)
	max := c.cfg.MaxIdleConns
	if max <= 0 {
		return nil
	}
	l := &c.lru
	l.mu.Lock()
	defer l.mu.Unlock()
	b := cn.base()
	b.lruPrev, b.lruNext = l.tail, nil
	if l.tail != nil {
		l.tail.base().lruNext = cn
	} else {
		l.head = cn
	}
	l.tail = cn
	b.inLRU = true
	l.n++
	if l.n > max {
		victim = l.head
		l.unlinkLocked(victim)
	}
	return victim
}

// evictIdle closes victim for MaxIdleConns unless a request took it
// meanwhile; then its taker owns it and the idle count already dropped.
func (c *core) evictIdle(victim conn) {
	if victim != nil && victim.base().hp.takeIdle(victim, closeReasonMaxIdle) {
		victim.base().close(victim, closeReasonMaxIdle, false)
	}
}

// idleRemoved accounts for cn no longer idle; whoever takes a connection
// out of idleness calls it exactly once, with the host's lock held.
func (c *core) idleRemoved(cn conn) {
	c.stats.idle.Add(-1)
	if c.cfg.MaxIdleConns > 0 {
		c.lru.mu.Lock()
		c.lru.unlinkLocked(cn)
		c.lru.mu.Unlock()
	}
}

func (l *lruList) unlinkLocked(cn conn) {
	b := cn.base()
	if !b.inLRU {
		return
	}
	if b.lruPrev != nil {
		b.lruPrev.base().lruNext = b.lruNext
	} else {
		l.head = b.lruNext
	}
	if b.lruNext != nil {
		b.lruNext.base().lruPrev = b.lruPrev
	} else {
		l.tail = b.lruPrev
	}
	b.lruPrev, b.lruNext, b.inLRU = nil, nil, false
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

// sweepBy makes the running sweeper (startSweeper) run by t, a
// connection's expiry, sooner than it planned: a learned idle timeout
// makes a connection that became idle later expire sooner than those idle
// before it. A zero t does nothing.
func (c *core) sweepBy(t time.Time) {
	if t.IsZero() {
		return
	}
	if int64(t.Sub(clockBase)) < c.sweepAt.Load() {
		select {
		case c.sweepWake <- struct{}{}:
		default: // a wake-up is pending already
		}
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
		// A connection that becomes idle during the sweep wakes the next
		// wait at once: the sweep may have missed it.
		c.sweepAt.Store(math.MaxInt64)
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
		c.sweepAt.Store(int64(now.Add(wait).Sub(clockBase)))
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.sweepWake:
		case <-c.closeCtx.Done():
			c.sweeping.Store(false)
			return
		}
	}
}

// sweep closes every idle connection that expired by now and returns the
// earliest time another one will, zero if none is idle.
func (c *core) sweep(now time.Time) (next time.Time) {
	c.eachHost(func(hp *hostPool) {
		var expired, checks []conn
		hp.mu.Lock()
		for i := 0; i < len(hp.avail); {
			cn := hp.avail[i]
			b := cn.base()
			if !b.idleCounted {
				i++
				continue
			}
			if r := b.unusableLocked(now); r != closeReasonNone {
				hp.dropLocked(cn, r)
				expired = append(expired, cn)
				continue
			}
			if learnCheckDueLocked(cn, now) {
				checks = append(checks, cn) // checked in place, below
			}
			if t := b.expiryLocked(); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
			i++
		}
		hp.mu.Unlock()
		for _, cn := range expired {
			hp.closeUnusable(cn)
		}
		hp.checkIdle(checks)
	})
	return next
}
