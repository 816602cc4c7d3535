//go:build race

package http3

// raceEnabled says whether the race detector is on.
const raceEnabled = true
