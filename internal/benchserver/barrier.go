package benchserver

import (
	"sync"
	"time"
)

// barriers holds one barrier per N of /barrier/N.
type barriers struct {
	mu sync.Mutex
	m  map[int]*barrier
}

// barrier releases its waiters together once n of them arrived. Each release
// starts a new generation, so the same /barrier/N can be used again.
type barrier struct {
	mu      sync.Mutex
	arrived int
	release chan struct{} // closed when the current generation is released
}

// wait blocks until n requests wait on the barrier of n, and reports whether
// it was released; it gives up after timeout or when done is closed.
func (bs *barriers) wait(n int, timeout time.Duration, done <-chan struct{}) bool {
	bs.mu.Lock()
	if bs.m == nil {
		bs.m = make(map[int]*barrier)
	}
	b := bs.m[n]
	if b == nil {
		b = &barrier{release: make(chan struct{})}
		bs.m[n] = b
	}
	bs.mu.Unlock()
	return b.wait(n, timeout, done)
}

func (b *barrier) wait(n int, timeout time.Duration, done <-chan struct{}) bool {
	b.mu.Lock()
	b.arrived++
	if b.arrived >= n {
		close(b.release)
		b.release = make(chan struct{})
		b.arrived = 0
		b.mu.Unlock()
		return true
	}
	release := b.release
	b.mu.Unlock()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-release:
		return true
	case <-timer.C:
	case <-done:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.release != release {
		return true // released while giving up: answer as the others do
	}
	b.arrived-- // leave, so that a later generation counts only live waiters
	return false
}

// waiting returns how many requests wait at the barrier of n.
func (bs *barriers) waiting(n int) int {
	bs.mu.Lock()
	b := bs.m[n]
	bs.mu.Unlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.arrived
}
