//go:build unix

package benchserver

import (
	"syscall"
	"time"
)

// SelfCPU returns the CPU time, user and system, that this process has used
// so far; ok is false where the platform does not say.
func SelfCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
