package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// runPlan says what a load run sends and when it stops.
type runPlan struct {
	n          int64         // requests to send; 0: no count bound
	d          time.Duration // how long to send; 0: no time bound
	c          int           // workers, each sending one request at a time
	newRequest func(ctx context.Context) (*http.Request, error)
	requireH2  bool      // stop when a response is not HTTP/2
	progress   io.Writer // where the progress bar goes; nil: none
}

// runResult is what one load run observed.
type runResult struct {
	client    string
	elapsed   time.Duration
	ok        int64           // requests that got a response, read to its end
	failed    int64           // requests that got an error
	latencies []time.Duration // of the requests that got a response, sorted
	status    map[int]int64
	protocols map[string]int64
	errors    map[string]int64  // by kind, every kind present
	examples  map[string]string // the first error of each kind that occurred
	pool      poolReport
	stopped   string // why the run stopped early; "" when it did not
}

// Sampling during a run.
const (
	sampleEvery   = 10 * time.Millisecond  // how often open connections are sampled
	progressEvery = 100 * time.Millisecond // how often the progress bar is redrawn
)

// abortAfter is how many failures with no success at all stop a run: an
// unreachable server should not take the whole -n or -d to say so.
func abortAfter(c int) int64 {
	return int64(max(10, c))
}

// loadRun is the shared state of one run's workers.
type loadRun struct {
	plan     runPlan
	client   *http.Client
	ctx      context.Context
	stop     context.CancelCauseFunc
	deadline time.Time // zero: no time bound
	issued   atomic.Int64
	ok       atomic.Int64
	failed   atomic.Int64
}

// tally is what one worker observed; tallies are merged after the run so
// that workers share nothing but a few counters while it lasts.
type tally struct {
	latencies []time.Duration
	status    map[int]int64
	protocols map[string]int64
	errors    map[string]int64
	examples  map[string]string
}

func newTally() *tally {
	return &tally{
		status:    make(map[int]int64),
		protocols: make(map[string]int64),
		errors:    make(map[string]int64),
		examples:  make(map[string]string),
	}
}

// runLoad sends plan's requests through lc, plan.c at a time, until -n
// requests were sent, -d passed, the run was stopped (every early request
// failed, or --http2 was refused) or ctx ended. Requests in flight when -d
// passes are let finish.
func runLoad(ctx context.Context, lc *loadClient, plan runPlan) *runResult {
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &loadRun{plan: plan, client: lc.client, ctx: runCtx, stop: stop}
	start := time.Now()
	if plan.d > 0 {
		r.deadline = start.Add(plan.d)
	}
	var bar *progress
	if plan.progress != nil {
		bar = newProgress(plan.progress, lc.name, plan.n, plan.d)
	}
	samplerDone := make(chan struct{})
	peak := make(chan int, 1)
	go func() { peak <- r.sample(lc, bar, samplerDone) }()

	tallies := make([]*tally, plan.c)
	var wg sync.WaitGroup
	for i := range tallies {
		t := newTally()
		tallies[i] = t
		wg.Go(func() { r.work(t) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(samplerDone)
	peakOpen := <-peak
	if bar != nil {
		bar.finish()
	}

	res := merge(tallies)
	res.client = lc.name
	res.elapsed = elapsed
	res.ok, res.failed = r.ok.Load(), r.failed.Load()
	res.pool = lc.report(peakOpen)
	switch {
	case ctx.Err() != nil:
		res.stopped = "interrupted"
	case context.Cause(runCtx) != nil:
		res.stopped = context.Cause(runCtx).Error()
	}
	return res
}

// work sends requests one after another until the run is over.
func (r *loadRun) work(t *tally) {
	for r.ctx.Err() == nil {
		if r.plan.n > 0 && r.issued.Add(1) > r.plan.n {
			return
		}
		if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
			return
		}
		r.send(t)
	}
}

// send sends one request, reads its response to the end and records it.
func (r *loadRun) send(t *tally) {
	req, err := r.plan.newRequest(r.ctx)
	if err != nil {
		r.stop(err) // the same for every request: the run cannot go on
		return
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	if err != nil {
		if r.ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // cut short by the run's end, not the server's doing
		}
		kind := errorKind(err)
		t.errors[kind]++
		if _, seen := t.examples[kind]; !seen {
			t.examples[kind] = err.Error()
		}
		if failed := r.failed.Add(1); failed >= abortAfter(r.plan.c) && r.ok.Load() == 0 {
			r.stop(fmt.Errorf("the first %d requests all failed", failed))
		}
		return
	}
	r.ok.Add(1)
	t.latencies = append(t.latencies, took)
	t.status[resp.StatusCode]++
	t.protocols[resp.Proto]++
	if r.plan.requireH2 && resp.ProtoMajor != 2 {
		r.stop(fmt.Errorf("the server answered in %s; --http2 requires HTTP/2", resp.Proto))
	}
}

// sample records the client's open connections every sampleEvery and
// redraws the progress bar, if any, every progressEvery, until done is
// closed. It returns the most connections seen open at once.
func (r *loadRun) sample(lc *loadClient, bar *progress, done <-chan struct{}) int {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	peak := 0
	var drawn time.Time
	for {
		select {
		case <-done:
			return max(peak, lc.open())
		case now := <-tick.C:
			open := lc.open()
			peak = max(peak, open)
			if bar != nil && now.Sub(drawn) >= progressEvery {
				bar.update(r.ok.Load()+r.failed.Load(), r.failed.Load(), open)
				drawn = now
			}
		}
	}
}

// merge adds the workers' tallies up into a result.
func merge(tallies []*tally) *runResult {
	res := &runResult{
		status:    make(map[int]int64),
		protocols: make(map[string]int64),
		errors:    make(map[string]int64),
		examples:  make(map[string]string),
	}
	for _, k := range errorKinds {
		res.errors[k] = 0
	}
	for _, t := range tallies {
		res.latencies = append(res.latencies, t.latencies...)
		for k, v := range t.status {
			res.status[k] += v
		}
		for k, v := range t.protocols {
			res.protocols[k] += v
		}
		for k, v := range t.errors {
			res.errors[k] += v
		}
		for k, v := range t.examples {
			if _, seen := res.examples[k]; !seen {
				res.examples[k] = v
			}
		}
	}
	slices.Sort(res.latencies)
	return res
}
