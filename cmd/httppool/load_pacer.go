package main

import (
	"context"
	"sync"
	"time"
)

// pacerCatchUp is how far a pacer may fall behind its schedule and still
// send the requests it owes: after a stall (a slow server, a descheduled
// process) the slots of this last stretch go out at once and older ones are
// given up, so that no window sees more than its share of the rate plus
// this much. On a busy machine wake-ups run tens of milliseconds late: with
// 20ms, -q 10000 fell to about 8000/s there; with 100ms it held.
const pacerCatchUp = 100 * time.Millisecond

// maxRate is the largest -q: beyond it the interval between requests is
// under a microsecond, finer than the pacer's timers.
const maxRate = 1_000_000

// pacer spaces requests shared by any number of workers at a fixed rate.
// Slots are handed out on an absolute schedule, start + i/rate, so that a
// worker that wakes late does not delay the slots after it: the rate holds
// on average even when each sleep overshoots, as timers on a busy machine
// do. A nil *pacer sends at once.
type pacer struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // the next free slot; zero before the first
}

// newPacer returns a pacer of perSecond requests per second, nil for zero
// (no limit).
func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 {
		return nil
	}
	return &pacer{interval: max(time.Duration(float64(time.Second)/perSecond), 1)}
}

// wait takes the next slot and sleeps until it comes. It returns false,
// without waiting, when the slot falls at or after deadline (unless
// deadline is zero), and false as soon as ctx ends or stop is closed.
func (p *pacer) wait(ctx context.Context, stop <-chan struct{}, deadline time.Time) bool {
	if p == nil {
		return true
	}
	at := p.take(time.Now())
	if !deadline.IsZero() && !at.Before(deadline) {
		return false
	}
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

// take returns the time of the next slot, now or later, and moves the
// schedule on by one interval.
func (p *pacer) take(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch floor := now.Add(-pacerCatchUp); {
	case p.next.IsZero():
		p.next = now // the first request goes at once, with no backlog behind it
	case p.next.Before(floor):
		p.next = floor // the slots further back are given up
	}
	at := p.next
	p.next = at.Add(p.interval)
	return at
}
