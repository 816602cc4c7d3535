//go:build !linux

package main

import (
	"os"
	"syscall"
	"time"
)

// The h2o workloads run on Linux only; these keep the harness building
// elsewhere.

func serverProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { p.Kill() }

func treeCPU(pid int) (time.Duration, bool) { return 0, false }
