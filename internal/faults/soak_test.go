package faults_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool"
	fp "github.com/httppool/httppool/internal/faultproxy"
)

var (
	soak         = flag.Bool("soak", false, "run TestSoak (HTTPPOOL_SOAK=1 does too)")
	soakDuration = flag.Duration("soak.duration", 3*time.Minute, "how long TestSoak runs, at most 10m")
	soakSeed     = flag.Uint64("soak.seed", 0, "seed of TestSoak's faults and load; 0 picks one")
)

const (
	soakWorkers     = 16
	soakIdlePerHost = 8
	// The heap, after a GC, may grow by this factor plus soakHeapSlack
	// between the start of the run (after its warm-up) and its end.
	soakHeapFactor = 1.25
	soakHeapSlack  = 4 << 20
	// The goroutines may grow by this many.
	soakGoroutineSlack = 2 * soakWorkers
)

// soakPlan picks a random fault for a connection: none, a reset or a close
// at a random point of one of its first 20 responses, a half-close after
// one, or a little latency.
func soakPlan(rng *rand.Rand) fp.Plan {
	f := fp.Fault{Response: rng.IntN(20)}
	switch rng.IntN(3) {
	case 0:
		f.Phase, f.Offset = fp.Head, rng.Int64N(40)
	case 1:
		f.Phase, f.Offset = fp.Body, rng.Int64N(80<<10)
	default:
		f.Phase = fp.End
	}
	switch x := rng.IntN(100); {
	case x < 40:
		return fp.Plan{}
	case x < 60:
		f.Action = fp.Reset
	case x < 80:
		f.Action = fp.Close
	case x < 90:
		f.Action, f.Phase, f.Offset = fp.HalfClose, fp.End, 0
	default:
		return fp.Plan{Latency: time.Duration(1+rng.IntN(3)) * time.Millisecond}
	}
	return fp.Plan{Fault: f}
}

// soakSample is the state of the process at one moment of the run.
type soakSample struct {
	at         time.Duration
	heap       uint64 // bytes live after a GC
	goroutines int
	open       int
	ok, failed int64
}

// soakCounts are the outcomes of the load's requests.
type soakCounts struct {
	ok, failed, cancelled, hung atomic.Int64
}

// TestSoak runs a sustained mixed load for a few minutes against a server
// whose connections the proxy randomly resets, closes and half-closes, and
// checks that no request hangs, that the heap and the goroutines stay flat
// (after a GC, between the start of the run and its end) and that the open
// connections stay within the pool's bounds.
func TestSoak(t *testing.T) {
	if !*soak && os.Getenv("HTTPPOOL_SOAK") != "1" {
		t.Skip("the soak test runs with -soak or HTTPPOOL_SOAK=1")
	}
	duration := min(*soakDuration, 10*time.Minute)
	seed := *soakSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d, %v, %d workers", seed, duration, soakWorkers)

	var rngMu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 0))
	script := func(int) fp.Plan {
		rngMu.Lock()
		defer rngMu.Unlock()
		return soakPlan(rng)
	}
	r := newTCPRig(t, script, httppool.Config{MaxIdlePerHost: soakIdlePerHost, IdleTimeout: 2 * time.Second})

	var counts soakCounts
	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()
	var wg sync.WaitGroup
	for w := range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w+1)))
			for ctx.Err() == nil {
				soakRequest(r, rng, &counts)
			}
		}()
	}

	var samples []soakSample
	start := time.Now()
	interval := max(duration/40, time.Second)
	tick := time.NewTicker(interval)
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			done = true
		}
		r.px.Forget() // the proxy's records of past connections would grow the heap
		s := sample(r, start, &counts)
		samples = append(samples, s)
		t.Logf("%6v: heap %5.1f MiB, goroutines %3d, open %2d, ok %7d, failed %6d",
			s.at.Round(time.Second), float64(s.heap)/(1<<20), s.goroutines, s.open, s.ok, s.failed)
	}
	tick.Stop()
	wg.Wait()

	t.Logf("requests: %d ok, %d failed by a fault, %d cancelled on purpose, %d hung",
		counts.ok.Load(), counts.failed.Load(), counts.cancelled.Load(), counts.hung.Load())
	if n := counts.hung.Load(); n > 0 {
		t.Errorf("%d requests hung until their %v deadline", n, requestTimeout)
	}
	checkFlat(t, samples)
	checkRest(t, r, "")
	accepted, fired := r.px.Accepted(), r.px.Fired()
	t.Logf("the proxy accepted %d connections and broke %d of them", accepted, fired)
	if fired == 0 {
		t.Error("no fault struck: the soak ran without faults")
	}
}

// soakRequest sends one request of the mixed load and counts its outcome.
func soakRequest(r *rig, rng *rand.Rand, counts *soakCounts) {
	timeout, cancelEarly := requestTimeout, false
	method, path, readAll := http.MethodGet, "/small", true
	var body io.Reader
	switch x := rng.IntN(100); {
	case x < 45:
	case x < 60:
		path = "/big?n=65536"
	case x < 70:
		path = "/chunked?n=100000"
	case x < 85:
		method, path, body = http.MethodPost, "/echo", strings.NewReader(strings.Repeat("p", 20<<10))
	case x < 95:
		path, readAll = "/big?n="+strconv.Itoa(bigBody), false // closed early
	default:
		path, timeout, cancelEarly = "/big?n="+strconv.Itoa(bigBody), time.Duration(1+rng.IntN(3))*time.Millisecond, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, r.base+path, body)
	err := func() error {
		resp, err := r.tr.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if readAll {
			_, err = io.Copy(io.Discard, resp.Body)
		} else {
			_, err = io.CopyN(io.Discard, resp.Body, 4<<10)
		}
		return err
	}()
	switch {
	case err == nil:
		counts.ok.Add(1)
	case cancelEarly && errors.Is(err, context.DeadlineExceeded):
		counts.cancelled.Add(1)
	case errors.Is(err, context.DeadlineExceeded):
		counts.hung.Add(1)
	default:
		counts.failed.Add(1)
	}
}

func sample(r *rig, start time.Time, counts *soakCounts) soakSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return soakSample{
		at:         time.Since(start),
		heap:       ms.HeapAlloc,
		goroutines: runtime.NumGoroutine(),
		open:       r.tr.Stats().Open,
		ok:         counts.ok.Load(),
		failed:     counts.failed.Load(),
	}
}

// checkFlat compares the median heap and goroutines of the samples just
// after the warm-up (the first fifth) with those of the last fifth, checks
// that the open connections never left the pool's bounds, and that every
// interval made progress.
func checkFlat(t *testing.T, samples []soakSample) {
	t.Helper()
	if len(samples) < 10 {
		t.Fatalf("%d samples; the soak needs a longer -soak.duration", len(samples))
	}
	fifth := len(samples) / 5
	early, late := samples[fifth:2*fifth], samples[len(samples)-fifth:]
	heapEarly, heapLate := median(early, func(s soakSample) float64 { return float64(s.heap) }),
		median(late, func(s soakSample) float64 { return float64(s.heap) })
	gEarly, gLate := median(early, func(s soakSample) float64 { return float64(s.goroutines) }),
		median(late, func(s soakSample) float64 { return float64(s.goroutines) })
	t.Logf("heap: %.1f MiB early, %.1f MiB late; goroutines: %.0f early, %.0f late",
		heapEarly/(1<<20), heapLate/(1<<20), gEarly, gLate)
	if heapLate > heapEarly*soakHeapFactor+soakHeapSlack {
		t.Errorf("the heap grew from %.1f MiB to %.1f MiB", heapEarly/(1<<20), heapLate/(1<<20))
	}
	if gLate > gEarly+soakGoroutineSlack {
		t.Errorf("the goroutines grew from %.0f to %.0f", gEarly, gLate)
	}
	const maxOpen = soakWorkers + soakIdlePerHost + 2 // +2: Stats' gauges may be a request apart
	for i, s := range samples {
		if s.open > maxOpen {
			t.Errorf("at %v, %d connections open; the pool allows %d", s.at.Round(time.Second), s.open, maxOpen)
		}
		if i > 0 && s.ok == samples[i-1].ok {
			t.Errorf("no request succeeded between %v and %v", samples[i-1].at.Round(time.Second), s.at.Round(time.Second))
		}
	}
}

func median(samples []soakSample, f func(soakSample) float64) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}
