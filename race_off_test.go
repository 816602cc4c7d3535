//go:build !race

package httppool

// raceEnabled says whether the race detector is on: it makes sync.Pool drop
// items at random and adds allocations of its own.
const raceEnabled = false
