package main

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool/internal/benchserver"
)

// maxRequestsPerRound bounds a round run by duration, whatever the speed.
const maxRequestsPerRound = 50_000_000

// maxCountedRound bounds a round run by request count, whatever the speed.
const maxCountedRound = 2 * time.Minute

// sample is what one client measured in one round of one workload.
type sample struct {
	requests   int64
	elapsed    time.Duration
	cpu        time.Duration // the client's CPU time: this process's, or an external client's
	serverCPU  time.Duration // the server process's CPU time
	machineCPU time.Duration // every process's CPU time, these included
	harnessCPU time.Duration // with an external client: this process's CPU time meanwhile
	external   bool          // measured by runH2load: no allocations, no latency
	mallocs    uint64
	bytes      uint64
	dials      int64
	latency    histogram
	err        error
}

// measure runs one round of w with a new client of kind k and returns what
// it measured. Setup (the client and its workers) happens before the
// measurement starts; dials happen during it, as they do for a real program.
func measure(k clientKind, w *workload, t *target, srv cpuSource, cfg *config) (*sample, error) {
	d := &dialer{}
	c, err := k.open(w, t, d)
	if err != nil {
		return nil, err
	}
	defer c.close()
	workers := make([]worker, w.concurrency)
	for i := range workers {
		if workers[i], err = c.newWorker(w, t); err != nil {
			return nil, err
		}
	}
	hists := make([]histogram, w.concurrency)

	// A round runs for cfg.duration, or for a count of requests: the
	// many-hosts workload's or -requests. Either way it is bounded in both.
	counted := true
	limit, timeLimit := int64(cfg.requests), maxCountedRound
	switch {
	case w.manyHosts:
		limit = int64(len(t.addrs) * w.perHost)
	case cfg.requests <= 0:
		counted = false
		limit, timeLimit = maxRequestsPerRound, cfg.duration
	}

	var (
		next     atomic.Int64
		firstErr atomic.Pointer[error]
		wg       sync.WaitGroup
	)
	// Collect the garbage of the previous round now rather than during this one.
	runtime.GC()
	s := &sample{}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, _ := benchserver.SelfCPU()
	srv0, _ := srv.CPU()
	machine0, _ := benchserver.MachineCPU()
	start := time.Now()
	deadline := start.Add(timeLimit)
	for i, wk := range workers {
		h := &hists[i]
		wg.Go(func() {
			for {
				n := next.Add(1) - 1
				if n >= limit {
					return
				}
				t0 := time.Now()
				if err := wk.do(int(n)); err != nil {
					// Only this copy escapes, so that a request that
					// succeeds allocates nothing here.
					e := err
					firstErr.CompareAndSwap(nil, &e)
					return
				}
				t1 := time.Now()
				h.record(t1.Sub(t0))
				if t1.After(deadline) {
					return
				}
			}
		})
	}
	wg.Wait()
	s.elapsed = time.Since(start)
	machine1, _ := benchserver.MachineCPU()
	srv1, _ := srv.CPU()
	cpu1, _ := benchserver.SelfCPU()
	runtime.ReadMemStats(&ms1)

	for i := range hists {
		s.latency.merge(&hists[i])
	}
	s.requests = int64(s.latency.total)
	s.cpu = cpu1 - cpu0
	s.serverCPU = srv1 - srv0
	s.machineCPU = machine1 - machine0
	s.mallocs = ms1.Mallocs - ms0.Mallocs
	s.bytes = ms1.TotalAlloc - ms0.TotalAlloc
	s.dials = d.dials.Load()
	if p := firstErr.Load(); p != nil {
		s.err = *p
	} else if counted && s.requests < limit {
		s.err = errors.New("round timed out before its requests were done")
	}
	return s, nil
}
