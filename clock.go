package httppool

import "time"

// clockBase anchors monoNow's readings.
var clockBase = time.Now()

// monoNow returns the current time as time.Now does, for the pool's own
// bookkeeping on every request (idle since, expiry checks). It reads only
// the monotonic clock, which costs half of time.Now's two clock reads; the
// monotonic reading is exactly time.Now's, so comparisons and durations
// against time.Now values are exact, inside a synctest bubble too. Its wall
// clock drifts from the system's when that is changed, so it is never shown
// to users or turned into a deadline.
func monoNow() time.Time {
	return clockBase.Add(time.Since(clockBase))
}
