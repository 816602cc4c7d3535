//go:build !unix

package benchserver

import "time"

// SelfCPU returns the CPU time, user and system, that this process has used
// so far; ok is false where the platform does not say, as here.
func SelfCPU() (cpu time.Duration, ok bool) {
	return 0, false
}
