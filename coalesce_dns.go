package httppool

import (
	"context"
	"net/netip"
	"time"
)

// The names of origins that may share a connection are resolved through
// Config.LookupNetIP (coalesce.go), briefly cached: a burst of requests to
// a new origin makes one lookup, and a lookup is made only for a name that
// some connection's certificate covers.

// Bounds of the cache of resolutions.
const (
	coalesceDNSTTL = 10 * time.Second // how long a resolution is trusted
	maxCoalesceDNS = 1024             // cached resolutions
)

// dnsAnswer is a cached name resolution; done is closed once it is known.
type dnsAnswer struct {
	done    chan struct{}
	addrs   []netip.Addr
	err     error
	expires time.Time
}

// resolve returns the addresses host resolves to, from a cache of answers
// younger than coalesceDNSTTL; concurrent requests for one name share one
// lookup. Failures are not cached.
func (co *coalescer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	now := time.Now()
	co.mu.Lock()
	a := co.dns[host]
	if a == nil || a.err == nil && !a.expires.IsZero() && !now.Before(a.expires) {
		if len(co.dns) >= maxCoalesceDNS {
			co.pruneDNSLocked(now)
		}
		a = &dnsAnswer{done: make(chan struct{})}
		co.dns[host] = a
		co.mu.Unlock()
		// Shared: the first caller's cancellation must not fail the others.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultDialTimeout)
		addrs, err := co.lookup(lctx, "ip", host)
		cancel()
		co.mu.Lock()
		a.addrs, a.err, a.expires = addrs, err, time.Now().Add(coalesceDNSTTL)
		if err != nil && co.dns[host] == a {
			delete(co.dns, host)
		}
		close(a.done)
		co.mu.Unlock()
		return addrs, err
	}
	co.mu.Unlock()
	select {
	case <-a.done:
		return a.addrs, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pruneDNSLocked drops expired answers and, if the cache is still full,
// every finished one.
func (co *coalescer) pruneDNSLocked(now time.Time) {
	for h, a := range co.dns {
		if !a.expires.IsZero() && !now.Before(a.expires) {
			delete(co.dns, h)
		}
	}
	if len(co.dns) >= maxCoalesceDNS {
		for h, a := range co.dns {
			if !a.expires.IsZero() {
				delete(co.dns, h)
			}
		}
	}
}
