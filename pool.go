package httppool

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
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

// hostPool holds the connections of one key, whatever their protocol: the
// ones that can take another request now (an idle HTTP/1.1 connection, an
// HTTP/2 one with a free stream), every open one, the count of slots of
// Config.MaxConnsPerHost in use, and the FIFO queue of requests waiting for
// a connection.
type hostPool struct {
	core    *core
	key     connectKey
	route   proxyRoute // how connections reach the origin
	wantsH2 bool       // the key may speak HTTP/2: https with ALPN, or h2c

	mu      sync.Mutex
	avail   []conn    // connections that can take another request now, newest last
	idle    int       // connections serving no request
	open    int       // dialing + open
	dialing int       // connections being dialed
	waiters []*waiter // oldest first
	conns   connList  // every open connection
	byProto [numProtos]int
	dead    bool // removed from core.hosts; look the key up again

	proto      proto         // what the host speaks, once a connection told
	connecting chan struct{} // while a dial that others wait for runs; closed when it ends

	// HTTP/3 (issue 19, race.go).
	h3ok       bool                       // the key may speak HTTP/3: https, direct, Config.HTTP3.Dialer set
	altSvcSeen atomic.Pointer[altSvcSeen] // the Alt-Svc value last recorded (altsvc.go)

	// Coalescing and warm connections (issue 18: coalesce.go, preconnect.go),
	// guarded by mu.
	lender      *lender   // another origin's HTTP/2 connection the host's requests shared last
	warmDialing int       // of dialing, the dials of Preconnect and of the refill
	warming     bool      // the refill for Config.MinIdlePerHost runs
	refillAfter time.Time // no refill before then: the last one's dial failed

	learner atomic.Pointer[idleLearner] // the server's idle timeout, once it closed one (learn.go)
}

// waiter is a request waiting for a connection of its host.
type waiter struct {
	ch chan grant // buffered: the granter never blocks
}

// grant answers a waiter: a connection with a request slot reserved for it
// (c), an error, or, when both are zero, a slot of MaxConnsPerHost in which
// to dial.
type grant struct {
	c      conn
	served int // requests c started, the waiter's included
	err    error
}

// need says what a request needs of a connection (hostPool.get).
type need struct {
	fresh      bool // a new connection: the last try (database/sql's retry)
	noAlt      bool // not one to the alternative service (HTTP/3): that failed this request
	own        bool // the host's own, not another origin's (a 421 came over one)
	resendable bool // the request may be sent again once written (learn.go)
}

// get returns a try on a connection for one request: the newest connection
// that can take it, a new one dialed within the host's limits, or one freed
// while waiting in line. With fresh set it always dials. While a dial that
// decides the host's protocol (or adds HTTP/2 capacity) runs, other
// requests wait for it rather than dial too. An HTTP/3 connection is taken
// before any other; with noAlt set, none is. With no connection of its own
// to take, an https host may share another origin's HTTP/2 connection
// (coalesce.go), unless own is set. A request that is not resendable avoids
// connections idle about as long as the server keeps them (learn.go). It
// fails with errHostPoolDead when hp was retired; the caller then looks the
// key up again.
func (hp *hostPool) get(ctx context.Context, n need) (try, error) {
	fresh, noAlt := n.fresh, n.noAlt
	c := hp.core
	borrowTried := n.own || c.coal == nil
	for {
		hp.mu.Lock()
		if hp.dead {
			hp.mu.Unlock()
			return try{}, errHostPoolDead
		}
		if c.closed.Load() {
			hp.mu.Unlock()
			return try{}, ErrClosed
		}
		if !fresh {
			t, stale := hp.takeLocked(monoNow(), noAlt, n.resendable)
			if stale != nil {
				hp.mu.Unlock()
				hp.closeUnusable(stale)
				continue
			}
			if t.conn != nil {
				hp.mu.Unlock()
				if reason := t.conn.checkReuse(); reason != closeReasonNone {
					if reason == closeReasonServerClosed {
						t.learnClosed() // learn.go
					}
					hp.release(t.conn, reason)
					continue
				}
				return t, nil
			}
			// Coalescing (issue 18): before it dials or waits, share another
			// origin's connection if one may serve this origin.
			if !borrowTried {
				borrowTried = true
				if memo, ok := hp.mayBorrowLocked(); ok {
					hp.mu.Unlock()
					if t, ok := hp.borrow(ctx, memo, n.resendable); ok {
						return t, nil
					}
					continue
				}
			}
		}
		shares := hp.sharesLocked()
		if ch := hp.connecting; ch != nil && shares {
			hp.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return try{}, ctx.Err()
			}
		}
		if hp.mustWaitLocked(shares) {
			// The slot stays counted in open, now for the dial.
			if old := hp.tradeableLocked(fresh); old != nil {
				reason := closeReasonRetry
				if !fresh {
					reason = closeReasonLearnedIdle
				}
				hp.unlistLocked(old, reason)
				hp.dialing++
				hp.mu.Unlock()
				hp.closeUnusable(old)
				return hp.dial(ctx, false, noAlt, false)
			}
			g, err := hp.wait(ctx)
			switch {
			case err != nil:
				return try{}, err
			case g.c == nil:
				return hp.dial(ctx, false, noAlt, false) // slot granted, counted in open and dialing
			case fresh:
				hp.release(g.c, closeReasonRetry)
				continue
			}
			if reason := g.c.checkReuse(); reason != closeReasonNone {
				hp.release(g.c, reason)
				continue
			}
			return try{conn: g.c, served: g.served, reused: true, busy: true}, nil
		}
		hp.open++
		hp.dialing++
		connect := shares
		if connect {
			hp.connecting = make(chan struct{})
		}
		hp.mu.Unlock()
		return hp.dial(ctx, connect, noAlt, false)
	}
}

// takeLocked reserves a request slot on the newest connection that can take
// one, HTTP/3 first (none with noAlt). A connection found unusable is
// retired instead; when it must close now it is returned as stale, for the
// caller to close outside the lock. An idle connection past the learned idle
// timeout, or in its uncertain band for a request that cannot be resent, is
// left alone (learn.go).
func (hp *hostPool) takeLocked(now time.Time, noAlt, resendable bool) (t try, stale conn) {
	order := anyConn
	if hp.byProto[protoH3] > 0 {
		order = altFirst
		if noAlt {
			order = altNever
		}
	}
	learned := hp.learner.Load()
	for _, alt := range order {
		// Newest first. A connection taken out of avail shifts only those
		// after it, so the walk down goes on from where it was.
		for i := len(hp.avail) - 1; i >= 0; i-- {
			if take, t, stale := hp.tryTakeLocked(now, hp.avail[i], alt, learned, resendable); take {
				return t, stale
			}
		}
	}
	return try{}, nil
}

// The orders in which takeLocked looks at connections to the alternative
// service (HTTP/3) and at the others.
var (
	anyConn  = []altPick{pickAny}
	altFirst = []altPick{pickAlt, pickOwn}
	altNever = []altPick{pickOwn}
)

// altPick says which connections one walk of takeLocked looks at.
type altPick uint8

const (
	pickAny altPick = iota
	pickAlt         // only those to the alternative service
	pickOwn         // only those to the origin itself
)

// tryTakeLocked looks at cn for takeLocked: take reports whether the walk
// ends with t (a slot reserved on cn) or with stale (cn, to close).
func (hp *hostPool) tryTakeLocked(now time.Time, cn conn, pick altPick, learned *idleLearner, resendable bool) (take bool, t try, stale conn) {
	b := cn.base()
	if pick != pickAny && b.alt != (pick == pickAlt) {
		return false, try{}, nil
	}
	r := b.unusableLocked(now)
	if r == closeReasonNone && learned != nil && b.idleCounted && b.learns() {
		switch hp.learnedVerdict(learned, b, now.Sub(b.idleSince), resendable) {
		case learnSkip:
			return false, try{}, nil
		case learnExpired:
			r = closeReasonLearnedIdle
		}
	}
	if r != closeReasonNone {
		if hp.retireLocked(cn, r) {
			return true, try{}, cn
		}
		return false, try{}, nil
	}
	if b.active >= cn.capacity() { // the server lowered its stream limit
		hp.removeAvailLocked(cn)
		return false, try{}, nil
	}
	return true, hp.reserveLocked(cn, now), nil
}

// reserveLocked gives a request a slot on cn, a connection of hp that can
// take one, and accounts for it: served, idle no more, full.
func (hp *hostPool) reserveLocked(cn conn, now time.Time) try {
	b := cn.base()
	b.active++
	b.served++
	t := try{conn: cn, served: b.served, reused: b.served > 1}
	if b.idleCounted {
		t.wasIdle, t.idleTime = true, now.Sub(b.idleSince)
		hp.leaveIdleLocked(cn)
	}
	if b.active >= cn.capacity() {
		hp.removeAvailLocked(cn)
	}
	t.busy = hp.open-hp.dialing-hp.idle > 1
	return t
}

// sharesLocked reports whether a request should look for, or wait for, a
// shared HTTP/2 or HTTP/3 connection rather than dial its own.
func (hp *hostPool) sharesLocked() bool {
	return (hp.wantsH2 && hp.proto != protoH1 || hp.proto == protoH3) && !hp.core.cfg.DisableKeepAlives
}

// mustWaitLocked reports whether a request that found no connection must
// wait for one rather than dial: the host is at Config.MaxConnsPerHost, or
// its HTTP/2 connection is full and StrictMaxConcurrentRequests is set.
func (hp *hostPool) mustWaitLocked(shares bool) bool {
	c := hp.core
	if max := c.cfg.MaxConnsPerHost; max > 0 && hp.open >= max {
		return true
	}
	if !shares || !c.cfg.HTTP2.StrictMaxConcurrentRequests {
		return false
	}
	for cn := hp.conns.head; cn != nil; cn = cn.base().next {
		if b := cn.base(); b.proto == protoH2 && !b.closing {
			return true
		}
	}
	return false
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
		hp.release(g.c, closeReasonNone)
	case g.err == nil:
		hp.mu.Lock()
		hp.dialing--
		hp.releaseSlotLocked()
		hp.mu.Unlock()
	}
	return grant{}, ctx.Err()
}

// dial opens a connection in a slot already counted in open and dialing,
// with a request slot reserved for the caller. With connect set, the
// requests waiting on hp.connecting are woken once the connection's
// protocol, and for HTTP/2 its stream limit, are known. With noAlt set
// it does not try HTTP/3. A warm connection (preconnect.go) is dialed for
// no request: the slot is the caller's to release, and the connection
// starts having served none, so that its first request is not counted
// as reused.
func (hp *hostPool) dial(ctx context.Context, connect, noAlt, warm bool) (try, error) {
	c := hp.core
	c.stats.dials.Add(1)
	c.stats.dialing.Add(1)
	start := time.Now()
	cn, err := c.dialConn(ctx, hp, noAlt)
	c.stats.dialing.Add(-1)
	var connecting chan struct{}
	hp.mu.Lock()
	hp.dialing--
	if connect {
		connecting = hp.connecting
	}
	if err != nil {
		hp.releaseSlotLocked()
		hp.endConnectLocked(connecting)
		hp.mu.Unlock()
		c.stats.dialErrors.Add(1)
		return try{}, err
	}
	b := cn.base()
	c.stats.opened.Add(1)
	c.stats.open[b.proto].Add(1)
	if hp.wantsH2 || hp.h3ok {
		hp.setProto(b.proto)
	}
	b.active, b.served = 1, 1
	if warm {
		b.served = 0
	}
	if c.cfg.DisableKeepAlives {
		b.closing, b.reason = true, closeReasonNoPooling
	}
	hp.conns.push(cn)
	hp.byProto[b.proto]++
	if !b.closing && cn.capacity() > 1 {
		hp.pushAvailLocked(cn)
	}
	if connecting != nil {
		if ready := cn.ready(); ready == nil {
			hp.endConnectLocked(connecting)
		} else {
			go hp.settle(cn, ready, connecting)
		}
	}
	hp.mu.Unlock()
	hp.joined(cn, time.Since(start))
	return try{conn: cn, served: 1}, nil
}

// joined does, outside the host's lock, what follows a new connection's
// joining the pool: other origins may share it (coalesce.go), its dial
// time is a round trip for the learner (learn.go), the Logger hears of it.
func (hp *hostPool) joined(cn conn, took time.Duration) {
	c := hp.core
	b := cn.base()
	if c.coal != nil {
		c.coal.register(cn)
	}
	if b.learns() {
		hp.learnDialed(took)
	}
	c.logDialed(b.id, hp.key, b.proto.String(), took)
}

// settle lets the requests that waited for a new connection look again once
// it knows how many requests it may carry (HTTP/2: the server's SETTINGS
// arrived), or after settleTimeout.
func (hp *hostPool) settle(cn conn, ready <-chan struct{}, connecting chan struct{}) {
	timer := time.NewTimer(settleTimeout)
	select {
	case <-ready:
	case <-timer.C:
	}
	timer.Stop()
	hp.mu.Lock()
	hp.capacityChangedLocked(cn)
	hp.endConnectLocked(connecting)
	hp.mu.Unlock()
}

// capacityChanged makes cn available when it can take more requests than
// it carries, as after the server raised its stream limit.
func (hp *hostPool) capacityChanged(cn conn) {
	hp.mu.Lock()
	hp.capacityChangedLocked(cn)
	hp.mu.Unlock()
}

// capacityChangedLocked makes cn available when it can take more requests
// than it carries, as after the server raised its stream limit.
func (hp *hostPool) capacityChangedLocked(cn conn) {
	b := cn.base()
	if b.listed && !b.closing && !b.inAvail() && b.active < cn.capacity() {
		hp.pushAvailLocked(cn)
	}
}

// settleTimeout bounds the wait for a new HTTP/2 connection's SETTINGS.
const settleTimeout = time.Second

// endConnectLocked wakes the requests that waited for a connection whose
// dial decided the host's protocol or added HTTP/2 capacity.
func (hp *hostPool) endConnectLocked(connecting chan struct{}) {
	if hp.connecting == connecting && connecting != nil {
		close(connecting)
		hp.connecting = nil
	}
}

// setProto records what the host speaks, in the pool and, so that a pool
// created later for the key knows it, in the Transport.
func (hp *hostPool) setProto(p proto) {
	if hp.proto != p {
		hp.proto = p
		hp.core.rememberProto(hp.key, p)
	}
}

// release gives back the request slot a request held on cn once its
// response ended. With a reason, cn takes no more requests and is closed
// once its last one ends. Otherwise the slot goes to the oldest waiter, or
// cn becomes available again (idle, if it serves nothing else). It returns
// the reason cn was closed for, or closeReasonNone if it stays pooled.
func (hp *hostPool) release(cn conn, reason closeReason) closeReason {
	c := hp.core
	b := cn.base()
	hp.mu.Lock()
	b.active--
	if reason == closeReasonNone && (c.closed.Load() || hp.dead) {
		reason = closeReasonClosed
	}
	if reason != closeReasonNone && !b.closing {
		b.closing, b.reason = true, reason
	}
	if b.closing {
		reason = b.reason
		closeNow := hp.retireLocked(cn, reason)
		hp.mu.Unlock()
		if closeNow {
			b.close(cn, reason, false)
		}
		return reason
	}
	c.logReturned(b)
	if len(hp.waiters) > 0 {
		w := hp.waiters[0]
		hp.waiters = hp.waiters[1:]
		b.active++
		b.served++
		g := grant{c: cn, served: b.served}
		if b.active >= cn.capacity() {
			hp.removeAvailLocked(cn)
		}
		hp.mu.Unlock()
		w.ch <- g
		return closeReasonNone
	}
	if !b.inAvail() {
		hp.pushAvailLocked(cn)
	}
	idle := b.active == 0
	var lru, evicted conn
	var expiry time.Time
	if idle {
		lru = hp.enterIdleLocked(cn)
		expiry = b.learnedExpiryLocked()
		if max := c.cfg.MaxIdlePerHost; max > 0 && hp.idle > max {
			evicted = hp.oldestIdleLocked()
			hp.dropLocked(evicted, closeReasonMaxIdlePerHost)
		}
		hp.refillLocked(0) // Config.MinIdlePerHost (preconnect.go)
	}
	hp.mu.Unlock()
	if evicted != nil {
		evicted.base().close(evicted, closeReasonMaxIdlePerHost, false)
	}
	c.evictIdle(lru)
	if idle {
		c.startSweeper()
		c.sweepBy(expiry)
	}
	if evicted == cn {
		return closeReasonMaxIdlePerHost
	}
	return closeReasonNone
}

// closingReason reports why cn takes no more requests, or closeReasonNone
// while it stays pooled: what httptrace's PutIdleConn says when a request
// on a shared connection ends.
func (hp *hostPool) closingReason(cn conn) closeReason {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	switch b := cn.base(); {
	case b.closing:
		return b.reason
	case hp.core.closed.Load():
		return closeReasonClosed
	}
	return closeReasonNone
}

// retire stops cn taking requests, for reason, and closes it once its last
// request ends (at once if it serves none). The engines call it when the
// server shuts a connection down or breaks it.
func (hp *hostPool) retire(cn conn, reason closeReason) {
	b := cn.base()
	hp.mu.Lock()
	// A close the connection saw as the server made it (an HTTP/2 read
	// loop, QUIC) while idle is evidence of the server's idle timeout.
	closedIdle := reason == closeReasonServerClosed && b.idleCounted && !b.closing
	var idle time.Duration
	if closedIdle {
		idle = monoNow().Sub(b.idleSince)
	}
	closeNow := hp.retireLocked(cn, reason)
	hp.mu.Unlock()
	if closedIdle {
		hp.learnClosed(b, idle) // learn.go
	}
	if closeNow {
		cn.base().close(cn, cn.base().reason, false)
	}
}

// retireLocked marks cn closing and, if it serves no request, takes it out
// of the pool; it reports whether the caller must now close it.
func (hp *hostPool) retireLocked(cn conn, reason closeReason) bool {
	b := cn.base()
	if !b.closing {
		b.closing, b.reason = true, reason
	}
	hp.removeAvailLocked(cn)
	if b.active > 0 || !b.listed {
		return false
	}
	hp.dropLocked(cn, b.reason)
	return true
}

// dropLocked takes a connection that serves no request out of the pool,
// counts it closed for reason and frees its slot; the caller then closes
// its transport.
func (hp *hostPool) dropLocked(cn conn, reason closeReason) {
	if hp.unlistLocked(cn, reason) {
		hp.refillAfterLocked(reason) // Config.MinIdlePerHost (preconnect.go), before the pool may retire
		hp.releaseSlotLocked()
	}
}

// unlistLocked is dropLocked but for the slot, which cn's caller keeps for
// a new connection; it reports whether cn held one (was listed).
func (hp *hostPool) unlistLocked(cn conn, reason closeReason) bool {
	b := cn.base()
	if !b.closing {
		b.closing, b.reason = true, reason
	}
	if b.idleCounted {
		hp.leaveIdleLocked(cn)
	}
	hp.removeAvailLocked(cn)
	if !b.listed {
		return false
	}
	b.countClose(reason)
	hp.conns.remove(cn)
	hp.byProto[b.proto]--
	return true
}

// tradeableLocked returns the idle connection whose slot a request at the
// host's limit trades for a new connection, nil if none: the oldest, for
// the last try (fresh); otherwise, when the learned idle timeout left the
// idle ones alone (only those are left idle here), the oldest the sweeper
// is not checking, since closeUnusable checks it too.
func (hp *hostPool) tradeableLocked(fresh bool) conn {
	old := hp.oldestIdleLocked()
	if fresh || old == nil {
		return old
	}
	if b := old.base(); hp.learner.Load() == nil || !b.learns() || b.learnCheck == learnChecking {
		return nil
	}
	return old
}

// oldestIdleLocked returns the host's connection idle the longest, or nil.
func (hp *hostPool) oldestIdleLocked() conn {
	for _, cn := range hp.avail {
		if cn.base().idleCounted {
			return cn
		}
	}
	return nil
}

// detach takes a connection out of the pool without closing it, as a
// "101 Switching Protocols" response does.
func (hp *hostPool) detach(cn conn) {
	b := cn.base()
	b.closed.Store(true) // the caller owns it now: the pool never closes it
	hp.mu.Lock()
	b.active--
	hp.dropLocked(cn, closeReasonUpgraded)
	hp.mu.Unlock()
}

// takeIdle removes cn from the pool if it is still idle, reporting whether
// it was (and so now belongs to the caller, which closes it).
func (hp *hostPool) takeIdle(cn conn, reason closeReason) bool {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if !cn.base().idleCounted {
		return false
	}
	hp.dropLocked(cn, reason)
	return true
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

// enterIdleLocked accounts for cn serving no request any more, with the
// host's lock held so that no request can take it before it is counted. It
// returns the least recently used idle connection across hosts when
// Config.MaxIdleConns is exceeded; the caller evicts it with evictIdle once
// the host's lock is released.
func (hp *hostPool) enterIdleLocked(cn conn) (lruVictim conn) {
	b := cn.base()
	b.idleCounted = true
	b.idleSince = monoNow()
	b.learnCheck = learnUnchecked
	hp.idle++
	return hp.core.idleAdded(cn)
}

// leaveIdleLocked accounts for cn taking a request or leaving the pool.
func (hp *hostPool) leaveIdleLocked(cn conn) {
	cn.base().idleCounted = false
	hp.idle--
	hp.core.idleRemoved(cn)
}

func (b *connBase) inAvail() bool { return b.availIndex >= 0 }

// pushAvailLocked makes cn the newest connection that can take a request.
func (hp *hostPool) pushAvailLocked(cn conn) {
	cn.base().availIndex = len(hp.avail)
	hp.avail = append(hp.avail, cn)
}

// removeAvailLocked takes cn out of the available connections, keeping
// the others in order.
func (hp *hostPool) removeAvailLocked(cn conn) {
	b := cn.base()
	i := b.availIndex
	if i < 0 {
		return
	}
	copy(hp.avail[i:], hp.avail[i+1:])
	hp.avail[len(hp.avail)-1] = nil
	hp.avail = hp.avail[:len(hp.avail)-1]
	for _, x := range hp.avail[i:] {
		x.base().availIndex--
	}
	b.availIndex = -1
}

// closeIdle closes the host's idle connections. Once the Transport is
// closed, connections in use also stop taking requests and close when
// their last request ends; otherwise they are left alone.
func (hp *hostPool) closeIdle(reason closeReason) {
	var idle []conn
	hp.mu.Lock()
	for _, cn := range hp.avail {
		if cn.base().idleCounted {
			idle = append(idle, cn)
		}
	}
	for _, cn := range idle {
		hp.dropLocked(cn, reason)
	}
	if reason == closeReasonClosed {
		for cn := hp.conns.head; cn != nil; cn = cn.base().next {
			hp.retireLocked(cn, reason) // in use: closes after its last request
		}
	}
	hp.mu.Unlock()
	for _, cn := range idle {
		cn.base().close(cn, reason, reason == closeReasonClosed)
	}
}

// shutdown closes the idle connections and fails the waiters with ErrClosed.
func (hp *hostPool) shutdown() {
	hp.mu.Lock()
	waiters := hp.waiters
	hp.waiters = nil
	hp.endConnectLocked(hp.connecting)
	hp.mu.Unlock()
	for _, w := range waiters {
		w.ch <- grant{err: ErrClosed}
	}
	hp.closeIdle(closeReasonClosed)
}

// closeAll closes every connection of the host, in use or not; requests on
// them fail and give their connections back. Gracefully, HTTP/2
// connections get a GOAWAY first.
func (hp *hostPool) closeAll(graceful bool) {
	hp.shutdown()
	var all []conn
	hp.mu.Lock()
	for cn := hp.conns.head; cn != nil; cn = cn.base().next {
		hp.retireLocked(cn, closeReasonClosed)
		all = append(all, cn)
	}
	hp.mu.Unlock()
	for _, cn := range all {
		cn.base().close(cn, closeReasonClosed, graceful)
	}
}

// connList is an intrusive list of a host's open connections.
type connList struct{ head conn }

func (l *connList) push(cn conn) {
	b := cn.base()
	b.prev, b.next = nil, l.head
	if l.head != nil {
		l.head.base().prev = cn
	}
	l.head = cn
	b.listed = true
}

func (l *connList) remove(cn conn) {
	b := cn.base()
	if !b.listed {
		return
	}
	if b.prev != nil {
		b.prev.base().next = b.next
	} else {
		l.head = b.next
	}
	if b.next != nil {
		b.next.base().prev = b.prev
	}
	b.prev, b.next, b.listed = nil, nil, false
}
