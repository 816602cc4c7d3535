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
	rate       float64       // requests per second across the workers; 0: no limit
	accept     *statusSet    // the statuses counted as OK
	newRequest func(ctx context.Context) (*http.Request, error)
	requireH2  bool      // stop when a response is not HTTP/2
	progress   io.Writer // where the progress bar goes; nil: none
}

// runResult is what one load run observed. Every request sent is counted
// once: ok + otherStatus + failed + cutShort.
type runResult struct {
	client      string
	elapsed     time.Duration
	accepted    string          // the statuses counted as OK, as --accept-status gave them
	ok          int64           // requests answered with an accepted status, read to the end
	otherStatus int64           // requests answered with any other status, read to the end
	failed      int64           // requests that got an error
	cutShort    int64           // requests cancelled in flight by an interrupt
	bytes       int64           // response body bytes received, of every response
	latencies   []time.Duration // of every response, sorted
	status      map[int]int64
	protocols   map[string]int64
	errors      map[string]int64  // by kind, every kind present
	examples    map[string]string // the first error of each kind that occurred
	pool        poolReport
	stopped     string // why the run stopped early; "" when it did not
	notes       []string
}

// requests is how many requests the run sent.
func (r *runResult) requests() int64 {
	return r.ok + r.otherStatus + r.failed + r.cutShort
}

// Sampling during a run.
const (
	sampleEvery   = 10 * time.Millisecond  // how often open connections are sampled
	progressEvery = 100 * time.Millisecond // how often the progress bar is redrawn
)

// stoppedInterrupted is runResult.stopped for a run ended by an interrupt.
const stoppedInterrupted = "interrupted"

// abortAfter is how many failures with no response at all stop a run: an
// unreachable server should not take the whole -n or -d to say so.
func abortAfter(c int) int64 {
	return int64(max(10, c))
}

// loadRun is the shared state of one run's workers.
type loadRun struct {
	plan     runPlan
	client   *http.Client
	ctx      context.Context // ends on an interrupt, cancelling requests in flight
	pacer    *pacer
	deadline time.Time // zero: no time bound
	issued   atomic.Int64
	answered atomic.Int64 // requests that got a response, of any status
	failed   atomic.Int64

	stopOnce sync.Once
	stopped  chan struct{} // closed when the run must start no more requests
	cause    error         // why it was stopped; set before stopped is closed
}

// stop starts no more requests, letting those in flight finish, for cause.
// The first cause is kept.
func (r *loadRun) stop(cause error) {
	r.stopOnce.Do(func() {
		r.cause = cause
		close(r.stopped)
	})
}

// isStopped reports whether stop was called.
func (r *loadRun) isStopped() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

// tally is what one worker observed; tallies are merged after the run so
// that workers share nothing but a few counters while it lasts.
type tally struct {
	ok, otherStatus, failed, cutShort, bytes int64

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

// runLoad sends plan's requests through lc, plan.c at a time and at most
// plan.rate a second, until -n requests were sent, -d passed, the run was
// stopped (its first abortAfter requests all failed, or --http2 was
// refused) or ctx ended. Requests in flight when -d passes or the run is
// stopped are let finish and counted; those in flight when ctx ends are
// cancelled and counted as cut short.
func runLoad(ctx context.Context, lc *loadClient, plan runPlan) *runResult {
	r := &loadRun{plan: plan, client: lc.client, ctx: ctx, pacer: newPacer(plan.rate), stopped: make(chan struct{})}
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
	res.accepted = plan.accept.String()
	res.pool = lc.report(peakOpen)
	res.notes = lc.notes
	switch {
	case ctx.Err() != nil:
		res.stopped = stoppedInterrupted
	case r.isStopped():
		res.stopped = r.cause.Error()
	}
	return res
}

// work sends requests one after another until the run is over.
func (r *loadRun) work(t *tally) {
	for r.ctx.Err() == nil && !r.isStopped() {
		if r.plan.n > 0 && r.issued.Add(1) > r.plan.n {
			return
		}
		if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
			return
		}
		if !r.pacer.wait(r.ctx, r.stopped, r.deadline) {
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
	var n int64
	if err == nil {
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	t.bytes += n
	if err != nil {
		if r.ctx.Err() != nil && errors.Is(err, context.Canceled) {
			t.cutShort++ // cancelled by the interrupt, not the server's doing
			return
		}
		t.failed++
		kind := errorKind(err)
		t.errors[kind]++
		if _, seen := t.examples[kind]; !seen {
			t.examples[kind] = err.Error()
		}
		if failed := r.failed.Add(1); failed >= abortAfter(r.plan.c) && r.answered.Load() == 0 {
			r.stop(fmt.Errorf("the first %d requests to end all failed; those still in flight were let finish", failed))
		}
		return
	}
	r.answered.Add(1)
	if r.plan.accept.accepts(resp.StatusCode) {
		t.ok++
	} else {
		t.otherStatus++
	}
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
				failed := r.failed.Load()
				bar.update(r.answered.Load()+failed, failed, open)
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
		res.ok += t.ok
		res.otherStatus += t.otherStatus
		res.failed += t.failed
		res.cutShort += t.cutShort
		res.bytes += t.bytes
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
