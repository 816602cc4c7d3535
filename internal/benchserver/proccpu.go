package benchserver

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of /proc/PID/stat's CPU times. Linux's USER_HZ is
// 100 on every architecture Go supports; reading it needs sysconf, i.e. cgo.
const clockTick = 10 * time.Millisecond

// ProcCPU returns the CPU time, user and system, that process pid has used,
// from Linux's /proc; ok is false elsewhere.
func ProcCPU(pid int) (cpu time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * clockTick, true
}

// MachineCPU returns the CPU time that the processes on the machine have
// used since boot, in user and system mode, from Linux's /proc/stat; ok is
// false elsewhere. Less a benchmark's own processes' time, it tells how much
// other work disturbed the benchmark. Interrupt time is left out: most of it
// is the loopback network's softirqs, which the benchmark's own traffic
// causes and which no process's CPU time includes.
func MachineCPU() (cpu time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	// "cpu  user nice system idle iowait irq softirq steal ...".
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 4 || string(f[0]) != "cpu" {
		return 0, false
	}
	var busy int64
	for _, field := range f[1:4] {
		n, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil {
			return 0, false
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, true
}
