package httppool

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// conn is one connection of a host's pool, whatever its protocol. The pool,
// the sweeper, Stats, httptrace and the retry loop see only this interface
// and the connBase it carries; conn_h1.go, conn_h2.go and conn_h3.go
// implement it, and only they know their protocol.
type conn interface {
	// base returns the state that every protocol shares.
	base() *connBase

	// roundTrip sends req in the request slot that the pool reserved on the
	// connection for t and returns the response; on failure, the outcome
	// says how far the exchange went, for the retry policy. The slot is
	// given back (with hostPool.release) when the response ends: at the end
	// of its body, or at once on error. (t and the outcome travel by value:
	// through an interface, a pointer would cost an allocation.)
	roundTrip(ctx context.Context, req *http.Request, t try) (*http.Response, outcome, error)

	// capacity is how many requests the connection may carry at once now:
	// one for HTTP/1.1, the server's stream limit for HTTP/2 and HTTP/3.
	capacity() int

	// checkReuse tells why a connection about to take another request must
	// not, or closeReasonNone: the server closed it, or bytes arrived that
	// answer no request. It is called without the pool's lock, however
	// briefly the connection was idle.
	checkReuse() closeReason

	// ready returns a channel closed once a new connection knows how many
	// requests it may carry (HTTP/2: the server's SETTINGS arrived), or nil
	// when it knows at once.
	ready() <-chan struct{}

	// closeTransport closes the connection's transport; graceful, it first
	// tells the server (an HTTP/2 GOAWAY). connBase.close calls it once.
	closeTransport(graceful bool)
}

// proto is the protocol a connection speaks, or, for a host, what its
// connections spoke.
type proto uint8

const (
	protoUnknown proto = iota
	protoH1
	protoH2
	protoH3
	numProtos
)

func (p proto) String() string {
	switch p {
	case protoH1:
		return "HTTP/1.1"
	case protoH2:
		return "HTTP/2.0"
	case protoH3:
		return "HTTP/3.0"
	}
	return "unknown"
}

// connBase is the state every connection shares, whatever its protocol.
type connBase struct {
	hp        *hostPool
	id        uint64 // sequential per process, for logs and tools
	nc        net.Conn
	proto     proto
	alt       bool // reached through the origin's alternative service (HTTP/3 from Alt-Svc)
	createdAt time.Time
	expiresAt time.Time // Config.MaxLifetime less jitter; zero means never

	// Guarded by hp.mu.
	active      int         // requests from checkout to the end of their response
	served      int         // requests started on this connection
	idleSince   time.Time   // when active last fell to zero
	idleCounted bool        // idle: counted in Stats.Idle and in the host's idle count
	availIndex  int         // position in hp.avail; -1 when absent
	closing     bool        // takes no new request; closed when active reaches zero
	reason      closeReason // why it is closing
	reuseUntil  time.Time   // an idle connection is not reused from this time on (server's Keep-Alive); zero means no limit
	learnCheck  uint8       // what the sweeper did of it for the learned idle timeout this idle period (learn.go)
	prev, next  conn        // hp.conns, every open connection of the host
	listed      bool

	// Guarded by core.lru.mu.
	lruPrev, lruNext conn
	inLRU            bool

	closed  atomic.Bool // the transport was closed
	counted atomic.Bool // Stats counts it closed
}

// connIDs numbers connections across Transports.
var connIDs atomic.Uint64

// init sets up the base of a new connection to hp over nc.
func (b *connBase) init(hp *hostPool, nc net.Conn, p proto) {
	b.hp, b.id, b.nc, b.proto, b.availIndex = hp, connIDs.Add(1), nc, p, -1
	b.createdAt = time.Now()
	if lt := hp.core.cfg.MaxLifetime; lt > 0 {
		b.expiresAt = b.createdAt.Add(lt - lifetimeJitter(lt))
	}
}

// try is one attempt of a request on one connection: what the pool handed
// over, and what the connection reports back for the retry policy.
type try struct {
	conn     conn
	trace    *httptrace.ClientTrace // the request's, nil if none
	served   int                    // requests the connection started, this one included
	reused   bool                   // the connection served requests before
	wasIdle  bool                   // it was idle (not handed over by a finishing request)
	idleTime time.Duration          // how long it was idle
	busy     bool                   // other requests of the host were in flight at checkout
	// coalesced: the connection was dialed for another origin and shared
	// (coalesce.go); a 421 on it sends the request to one of its own.
	coalesced bool
}

// outcome is how far a failed try went, as its connection saw it.
type outcome struct {
	written     bool // some of the request reached the connection
	responded   bool // some of the response arrived
	bodyStarted bool // the request body was read from, and so closed
	unprocessed bool // the server said it did not process the request
	viaAlt      bool // the try went to the origin's alternative service
	misdirected bool // a 421 on another origin's connection: resend on one of the origin's own (coalesce.go)
}

// unusableLocked reports why the connection can take no new request at now,
// or closeReasonNone. Idle-time rules apply only while it is idle.
func (b *connBase) unusableLocked(now time.Time) closeReason {
	cfg := &b.hp.core.cfg
	switch {
	case b.closing:
		return b.reason
	case cfg.MaxRequestsPerConn > 0 && b.served >= cfg.MaxRequestsPerConn:
		return closeReasonMaxRequests
	case !b.expiresAt.IsZero() && !now.Before(b.expiresAt):
		return closeReasonMaxLifetime
	case !b.idleCounted:
		return closeReasonNone
	case b.hp.core.idleTimeout > 0 && now.Sub(b.idleSince) >= b.hp.core.idleTimeout && !b.hp.keepsWarmLocked():
		return closeReasonIdleTimeout
	case !b.reuseUntil.IsZero() && !now.Before(b.reuseUntil):
		return closeReasonKeepAlive
	case b.learnedExpiredLocked(now):
		return closeReasonLearnedIdle
	}
	return closeReasonNone
}

// expiryLocked returns when an idle connection expires, zero if never.
func (b *connBase) expiryLocked() time.Time {
	var t time.Time
	if it := b.hp.core.idleTimeout; it > 0 && !b.hp.keepsWarmLocked() { // Config.MinIdlePerHost keeps some
		t = b.idleSince.Add(it)
	}
	for _, d := range [...]time.Time{b.expiresAt, b.reuseUntil, b.learnedExpiryLocked()} {
		if !d.IsZero() && (t.IsZero() || d.Before(t)) {
			t = d
		}
	}
	return t
}

// close closes c's transport once and, unless dropLocked did, counts why.
// It does not touch the pool's lists: callers have taken c out of them or
// are about to.
func (b *connBase) close(c conn, reason closeReason, graceful bool) {
	b.countClose(reason)
	if !b.closed.Swap(true) {
		c.closeTransport(graceful)
		if co := b.hp.core.coal; co != nil && b.proto == protoH2 {
			co.forget(b) // other origins stop sharing it (coalesce.go)
		}
	}
}

// countClose counts the connection closed for reason, once. dropLocked
// counts it with the host's lock held, right where it stops counting as
// idle, so that Stats never sees a connection that is neither.
func (b *connBase) countClose(reason closeReason) {
	if b.counted.Swap(true) {
		return
	}
	core := b.hp.core
	core.stats.closed[reason].Add(1)
	core.stats.open[b.proto].Add(-1)
	core.logClosed(b.id, b.hp.key, reason, b.served, b.createdAt)
}
