package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// minIdleConns is the smallest count the idle workload falls back to.
const minIdleConns = 100

// idleSample is what one client's n idle connections cost it.
type idleSample struct {
	conns      int
	heap       float64 // heap bytes per connection
	stack      float64 // goroutine stack bytes per connection
	goroutines float64 // goroutines per connection
	open       time.Duration
	dials      int64
}

// measureIdle opens n idle connections with a new client of kind k and
// measures, after two garbage collections, the heap, stacks and goroutines
// they add to the state before the client existed. The server's barrier
// holds every response until all n requests are in flight, which forces n
// distinct connections; they are idle once the responses are read.
func measureIdle(k clientKind, t *target, n int) (*idleSample, error) {
	w := &workload{
		name: "idle", method: "GET", path: fmt.Sprintf("/barrier/%d", n),
		respBody: defaultBody, concurrency: n,
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	d := &dialer{}
	c, err := k.open(w, t, d)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = sendConcurrently(c, w, t)
	open := time.Since(start)
	if err != nil {
		c.close()
		waitGoroutines(g0)
		return nil, err
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	c.close() // also keeps the client reachable until after the measurement
	waitGoroutines(g0)

	perConn := func(d int64) float64 { return float64(d) / float64(n) }
	return &idleSample{
		conns:      n,
		heap:       perConn(int64(after.HeapAlloc) - int64(before.HeapAlloc)),
		stack:      perConn(int64(after.StackInuse) - int64(before.StackInuse)),
		goroutines: perConn(int64(g1 - g0)),
		open:       open,
		dials:      d.dials.Load(),
	}, nil
}

// sendConcurrently sends one request of w from each of w.concurrency
// goroutines at once. The workers are garbage once it returns.
func sendConcurrently(c client, w *workload, t *target) error {
	workers := make([]worker, w.concurrency)
	for i := range workers {
		var err error
		if workers[i], err = c.newWorker(w, t); err != nil {
			return err
		}
	}
	errs := make(chan error, w.concurrency)
	var wg sync.WaitGroup
	for _, wk := range workers {
		wg.Go(func() { errs <- wk.do(0) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// waitGoroutines waits, for a few seconds at most, until the goroutines a
// closed client leaves exit, so that the next measurement starts from the
// same state.
func waitGoroutines(n int) {
	for i := 0; runtime.NumGoroutine() > n && i < 1000; i++ {
		time.Sleep(5 * time.Millisecond)
	}
}

// idleResult is one client's idle-connection figures over the rounds.
type idleResult struct {
	Client          string  `json:"client"`
	NA              string  `json:"na,omitempty"`
	Error           string  `json:"error,omitempty"`
	Conns           int     `json:"conns"`
	HeapPerConn     float64 `json:"heap_bytes_per_conn"`
	StackPerConn    float64 `json:"stack_bytes_per_conn"`
	GoroutinesPer   float64 `json:"goroutines_per_conn"`
	OpenSeconds     float64 `json:"open_seconds"`
	DialsPerRound   float64 `json:"dials_per_round"`
	rounds          int
	heap, stack, gr float64
	open            time.Duration
	dials           int64
}

func (r *idleResult) client() string { return r.Client }

func (r *idleResult) external() bool { return false }

// ok reports whether r has figures.
func (r *idleResult) ok() bool { return r.NA == "" && r.Error == "" && r.rounds > 0 }

// runIdle measures every client's idle connections for cfg.rounds rounds,
// taking turns. If n connections cannot be opened (file descriptors, ports),
// it halves n and says so in progress.
func runIdle(t *target, cfg *config, progress io.Writer) []*idleResult {
	n := cfg.idleConns
	results := make([]*idleResult, len(clientKinds))
	for i, k := range clientKinds {
		results[i] = &idleResult{Client: k.name}
	}
	for round := range cfg.rounds {
		for i, k := range clientKinds {
			res := results[i]
			if res.Error != "" || res.NA != "" {
				continue
			}
			fmt.Fprintf(progress, "idle: round %d/%d: %s, %d connections\n", round+1, cfg.rounds, k.name, n)
			s, err := measureIdle(k, t, n)
			for err != nil && round == 0 && i == 0 && n/2 >= minIdleConns {
				// The first measurement finds a count that works for all.
				fmt.Fprintf(progress, "idle: %d connections failed (%v); trying %d\n", n, err, n/2)
				n /= 2
				s, err = measureIdle(k, t, n)
			}
			var na notApplicable
			switch {
			case errors.As(err, &na):
				res.NA = string(na)
				continue
			case err != nil:
				res.Error = err.Error()
				continue
			}
			res.rounds++
			res.Conns = s.conns
			res.heap += s.heap
			res.stack += s.stack
			res.gr += s.goroutines
			res.open += s.open
			res.dials += s.dials
		}
	}
	for _, res := range results {
		if res.rounds == 0 {
			continue
		}
		r := float64(res.rounds)
		res.HeapPerConn = res.heap / r
		res.StackPerConn = res.stack / r
		res.GoroutinesPer = res.gr / r
		res.OpenSeconds = res.open.Seconds() / r
		res.DialsPerRound = float64(res.dials) / r
	}
	return results
}
