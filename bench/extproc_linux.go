package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/httppool/httppool/internal/benchserver"
)

// serverProcAttr puts an external process in a process group of its own, so
// that it can be stopped with its helpers, and has the kernel kill it should
// the harness die without stopping it.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills p's process group, which serverProcAttr made p's own.
func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// maxTreeProcs bounds the processes treeCPU visits.
const maxTreeProcs = 64

// treeCPU returns the CPU time, user and system, that process pid and its
// descendants have used, from /proc; ok is false if pid's own is unknown.
func treeCPU(pid int) (cpu time.Duration, ok bool) {
	cpu, ok = benchserver.ProcCPU(pid)
	if !ok {
		return 0, false
	}
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < maxTreeProcs {
		p := queue[0]
		queue = queue[1:]
		for _, child := range children(p) {
			if seen[child] {
				continue
			}
			seen[child] = true
			queue = append(queue, child)
			if c, ok := benchserver.ProcCPU(child); ok {
				cpu += c
			}
		}
	}
	return cpu, true
}

// children returns the pids of pid's children, from each of its threads'
// /proc/PID/task/TID/children; none where the kernel does not provide them.
func children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}
