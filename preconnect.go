package httppool

import (
	"context"
	"net/http"
	"time"
)

// Connections dialed ahead of need (issue 18): Transport.Preconnect on
// demand, and Config.MinIdlePerHost's refill in the background. Both dial
// through hostPool.dial in a slot counted like a request's, then hand the
// connection to the pool as a request ending on it would (hostPool.release):
// to the oldest waiter, or idle. A warm connection has served no request, so
// its first request is not counted as reused; it was idle, though, and the
// retry policy treats it as it treats a reused one.

// Preconnect opens connections to origin (a URL; only its scheme, host and
// port matter) ahead of need, so that the requests that follow do not wait
// for dials and handshakes: until the host has n idle HTTP/1.1 connections,
// or one HTTP/2 connection, which carries concurrent requests; nothing when
// the origin may share another origin's HTTP/2 connection (see
// HTTP2Config.DisableCoalescing). The first connection to a host decides
// its protocol; the others are dialed at once after it. Preconnect keeps to
// the host's limits: it dials only in free slots of Config.MaxConnsPerHost,
// never waiting for one, and keeps at most Config.MaxIdlePerHost idle. The
// connections join the pool idle and expire like any other.
//
// It returns nil once they are ready (an HTTP/2 connection once the
// server's SETTINGS arrived), the first dial's error if one failed, or
// ctx's error if ctx ended first; connections dialed by then stay pooled.
// n below 1 means 1. It returns ErrClosed after Close or Shutdown, and
// dials nothing with Config.DisableKeepAlives, which pools nothing.
func (t *Transport) Preconnect(ctx context.Context, origin string, n int) error {
	return t.c.preconnect(ctx, origin, n)
}

func (c *core) preconnect(ctx context.Context, origin string, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin, nil)
	if err != nil {
		return err
	}
	key, err := c.keyFor(req)
	switch {
	case err != nil:
		return err
	case c.closed.Load():
		return ErrClosed
	case c.cfg.DisableKeepAlives:
		return nil // nothing is pooled
	}
	n = max(n, 1)
	for {
		if err := c.hostPoolFor(key).preconnect(ctx, n); err != errHostPoolDead {
			return err
		}
	}
}

// maxPreconnectRounds bounds Preconnect's rounds of dials: one that tells
// the host's protocol, one for the rest, and one more in case a connection
// closed meanwhile.
const maxPreconnectRounds = 3

// preconnect dials what hp lacks of n warm connections (warmNeedLocked),
// in rounds: while the host's protocol is unknown, one connection, which
// tells it.
func (hp *hostPool) preconnect(ctx context.Context, n int) error {
	c := hp.core
	if c.coal != nil && hp.shareable(ctx) {
		return nil
	}
	for range maxPreconnectRounds {
		hp.mu.Lock()
		switch {
		case hp.dead:
			hp.mu.Unlock()
			return errHostPoolDead
		case c.closed.Load():
			hp.mu.Unlock()
			return ErrClosed
		}
		shares := hp.sharesLocked()
		if ch := hp.connecting; ch != nil && shares {
			// A dial under way decides the protocol or adds HTTP/2
			// capacity: what is missing is known once it ends.
			hp.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		k := hp.warmNeedLocked(n, false, 0)
		if k == 0 {
			hp.retireIfEmptyLocked()
			hp.mu.Unlock()
			return nil
		}
		if shares {
			hp.connecting = make(chan struct{})
		}
		hp.open += k
		hp.dialing += k
		hp.warmDialing += k
		hp.mu.Unlock()
		if err := hp.dialWarm(ctx, k, shares); err != nil {
			return err
		}
		if !shares {
			return nil
		}
	}
	return nil
}

// shareable reports whether hp, holding no connection of its own, may
// share another origin's HTTP/2 connection.
func (hp *hostPool) shareable(ctx context.Context) bool {
	hp.mu.Lock()
	_, may := hp.mayBorrowLocked()
	may = may && hp.open == 0
	hp.mu.Unlock()
	if !may {
		return false
	}
	host := hostOfKey(hp.key)
	if len(hp.core.coal.find(ctx, hp, host)) == 0 {
		return false
	}
	hp.mu.Lock()
	hp.retireIfEmptyLocked()
	hp.mu.Unlock()
	return true
}

// warmNeedLocked returns how many connections hp must dial to hold n warm
// ones. For Preconnect those are idle HTTP/1.1 connections, for the refill
// open ones, idle or not, so that a burst in flight does not make it dial
// more; at most Config.MaxIdlePerHost either way. A host that shares
// HTTP/2 or HTTP/3 connections, or does not know yet, needs one open
// connection. Those being dialed count. It never exceeds the free slots of
// Config.MaxConnsPerHost nor, for the refill, what Config.MaxIdleConns
// leaves across the Transport. leaving is how many of hp.open are closing
// connections about to leave it (dropLocked): they do not count as warm,
// and their slots are free unless a waiter takes them.
func (hp *hostPool) warmNeedLocked(n int, refill bool, leaving int) int {
	cfg := &hp.core.cfg
	var k int
	switch {
	case hp.sharesLocked():
		k = 1 - hp.dialing
		for cn := hp.conns.head; cn != nil && k > 0; cn = cn.base().next {
			if !cn.base().closing {
				k--
			}
		}
	case refill:
		k = min(n, orNoLimit(cfg.MaxIdlePerHost)) - (hp.open - leaving)
	default:
		k = min(n, orNoLimit(cfg.MaxIdlePerHost)) - hp.idle - hp.warmDialing
	}
	if m := cfg.MaxConnsPerHost; m > 0 {
		free := m - hp.open
		if len(hp.waiters) == 0 {
			free += leaving // the slots about to be freed go to no waiter
		}
		k = min(k, free)
	}
	if m := cfg.MaxIdleConns; refill && m > 0 {
		k = min(k, m-int(hp.core.stats.idle.Load())-hp.warmDialing)
	}
	return max(k, 0)
}

// orNoLimit returns limit, or the largest int when it is not positive.
func orNoLimit(limit int) int {
	if limit <= 0 {
		return int(^uint(0) >> 1)
	}
	return limit
}

// dialWarm dials k connections at once in slots already counted in open,
// dialing and warmDialing, and pools them; with connect set (k is then
// 1), the requests waiting on hp.connecting are woken as after a
// request's dial. It returns the first error.
func (hp *hostPool) dialWarm(ctx context.Context, k int, connect bool) error {
	if k == 1 {
		return hp.dialOneWarm(ctx, connect)
	}
	errs := make(chan error, k)
	for range k {
		go func() { errs <- hp.dialOneWarm(ctx, false) }()
	}
	var first error
	for range k {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// dialOneWarm dials one connection and hands it to the pool as if a
// request had just ended on it, then waits until it is ready.
func (hp *hostPool) dialOneWarm(ctx context.Context, connect bool) error {
	t, err := hp.dial(ctx, connect, false, true)
	hp.mu.Lock()
	hp.warmDialing--
	hp.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	hp.release(t.conn, closeReasonNone)
	if ready := t.conn.ready(); ready != nil {
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// retireIfEmptyLocked retires a pool that holds nothing: no connection, no
// waiter, no dial, no lender.
func (hp *hostPool) retireIfEmptyLocked() {
	if hp.open == 0 && len(hp.waiters) == 0 && hp.connecting == nil && hp.lender == nil && !hp.dead {
		hp.dead = true
		hp.core.hosts.CompareAndDelete(hp.key, hp)
	}
}

// refillBackoff is how long a host waits to refill after a refill's dial
// failed.
const refillBackoff = time.Second

// refillAfterLocked starts the refill (Config.MinIdlePerHost) after one of
// hp's connections closed for reason, unless the closing was the caller's
// wish or MaxIdleConns': those are not undone. hp.mu is held.
func (hp *hostPool) refillAfterLocked(reason closeReason) {
	switch reason {
	case closeReasonClosed, closeReasonIdleClosed, closeReasonMaxIdle, closeReasonUpgraded, closeReasonRetry:
		return
	}
	hp.refillLocked(1)
}

// refillLocked starts the host's background refill when it has fewer
// connections than Config.MinIdlePerHost and none runs. It reserves
// the first dial's slot at once, so that a host whose last connection just
// closed stays alive for it; leaving is as for warmNeedLocked. hp.mu is
// held.
func (hp *hostPool) refillLocked(leaving int) {
	c := hp.core
	m := c.cfg.MinIdlePerHost
	if m <= 0 || hp.warming || hp.dead || c.closed.Load() || c.cfg.DisableKeepAlives ||
		!hp.refillAfter.IsZero() && time.Now().Before(hp.refillAfter) {
		return
	}
	if hp.warmNeedLocked(m, true, leaving) == 0 {
		return
	}
	hp.warming = true
	go hp.refill(hp.reserveWarmLocked())
}

// reserveWarmLocked counts one dial for warmth in open and dialing and
// reports whether it is the dial that requests of an HTTP/2 host wait for
// (hp.connecting).
func (hp *hostPool) reserveWarmLocked() (connect bool) {
	connect = hp.sharesLocked() && hp.connecting == nil
	if connect {
		hp.connecting = make(chan struct{})
	}
	hp.open++
	hp.dialing++
	hp.warmDialing++
	return connect
}

// refill dials, one at a time, the host's missing warm connections, the
// first in the slot refillLocked reserved, until none is missing, the pool
// retires, the Transport closes, or a dial fails.
func (hp *hostPool) refill(connect bool) {
	c := hp.core
	ctx, cancel := c.backgroundDialContext() // Close stops a dial under way
	defer cancel()
	for {
		if err := hp.dialOneWarm(ctx, connect); err != nil {
			hp.mu.Lock()
			hp.warming = false
			hp.refillAfter = time.Now().Add(refillBackoff)
			hp.mu.Unlock()
			return
		}
		hp.mu.Lock()
		if hp.dead || c.closed.Load() || hp.warmNeedLocked(c.cfg.MinIdlePerHost, true, 0) == 0 {
			hp.warming = false
			hp.mu.Unlock()
			return
		}
		connect = hp.reserveWarmLocked()
		hp.mu.Unlock()
	}
}

// keepsWarmLocked reports whether the host's idle connections are all
// within Config.MinIdlePerHost, so that IdleTimeout closes none of them.
func (hp *hostPool) keepsWarmLocked() bool {
	m := hp.core.cfg.MinIdlePerHost
	return m > 0 && hp.idle <= m
}
