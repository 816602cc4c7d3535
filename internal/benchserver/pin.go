package benchserver

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Pinning uses taskset(1) rather than sched_setaffinity(2) so that the module
// needs no golang.org/x/sys; where taskset is missing or fails, benchmarks
// run unpinned and say so, never failing for it.

// pinnedCommand returns a command that runs exe on CPU cpu only, whether it
// is pinned, and a note saying how it is pinned or why it is not.
func pinnedCommand(cpu int, exe string) (cmd *exec.Cmd, pinned bool, note string) {
	if cpu < 0 {
		return exec.Command(exe), false, "server not pinned"
	}
	if cpu >= runtime.NumCPU() {
		return exec.Command(exe), false, fmt.Sprintf("server not pinned: no CPU %d", cpu)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return exec.Command(exe), false, "server not pinned: taskset not found"
	}
	return exec.Command(taskset, "-c", strconv.Itoa(cpu), exe), true, fmt.Sprintf("server pinned to CPU %d", cpu)
}

// PinSelf pins every thread of this process to CPU cpu and sets GOMAXPROCS
// to 1, since more Ps than cores would only make threads take turns. It
// returns a function that restores the former affinity and GOMAXPROCS, and a
// note saying how the process is pinned or why it is not; when it is not,
// restore does nothing.
func PinSelf(cpu int) (restore func(), note string) {
	nop := func() {}
	if cpu >= runtime.NumCPU() {
		return nop, fmt.Sprintf("client not pinned: no CPU %d", cpu)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return nop, "client not pinned: taskset not found"
	}
	pid := strconv.Itoa(os.Getpid())
	// "pid 42's current affinity mask: 3": the mask is the last field.
	out, err := exec.Command(taskset, "-p", pid).Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) == 0 {
		return nop, fmt.Sprintf("client not pinned: taskset -p: %v", err)
	}
	mask := fields[len(fields)-1]
	if out, err := exec.Command(taskset, "-a", "-p", "-c", strconv.Itoa(cpu), pid).CombinedOutput(); err != nil {
		return nop, fmt.Sprintf("client not pinned: taskset: %v: %s", err, strings.TrimSpace(string(out)))
	}
	procs := runtime.GOMAXPROCS(1)
	return func() {
		runtime.GOMAXPROCS(procs)
		exec.Command(taskset, "-a", "-p", mask, pid).Run()
	}, fmt.Sprintf("client pinned to CPU %d, GOMAXPROCS=1", cpu)
}
