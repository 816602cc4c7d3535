package main

import (
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
)

// latencySummary is the distribution of a run's latencies.
type latencySummary struct {
	Min, Mean, P50, P90, P95, P99, P999, Max time.Duration
}

// summarize computes the summary of sorted latencies, all zero when there
// are none. Percentiles are nearest-rank.
func summarize(sorted []time.Duration) latencySummary {
	if len(sorted) == 0 {
		return latencySummary{}
	}
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return latencySummary{
		Min:  sorted[0],
		Mean: sum / time.Duration(len(sorted)),
		P50:  percentile(sorted, 50),
		P90:  percentile(sorted, 90),
		P95:  percentile(sorted, 95),
		P99:  percentile(sorted, 99),
		P999: percentile(sorted, 99.9),
		Max:  sorted[len(sorted)-1],
	}
}

// percentile returns the nearest-rank p-th percentile of sorted, which is
// not empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// requestsPerSecond is the rate of a run, every request included.
func (r *runResult) requestsPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests()) / r.elapsed.Seconds()
}

// bytesPerSecond is the rate at which the run received response bodies.
func (r *runResult) bytesPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.bytes) / r.elapsed.Seconds()
}

// histogramBuckets is how many buckets a latency histogram has.
const histogramBuckets = 10

// bucket is one bar of a latency histogram: the latencies up to upTo and
// above the bucket before, counted for each run.
type bucket struct {
	upTo   time.Duration
	counts []int64 // one per run, in the runs' order
}

// histogram sorts the latencies of runs into buckets spaced evenly on a
// log scale from the smallest to the largest latency of any run, so that
// runs compared share their buckets. It returns nil when no request got a
// response.
func histogram(runs []*runResult) []bucket {
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for _, r := range runs {
		if len(r.latencies) > 0 {
			lo = min(lo, r.latencies[0])
			hi = max(hi, r.latencies[len(r.latencies)-1])
		}
	}
	if hi == 0 {
		return nil
	}
	lo = max(lo, time.Microsecond)
	n := histogramBuckets
	if hi <= lo {
		n = 1
	}
	buckets := make([]bucket, n)
	step := math.Pow(float64(hi)/float64(lo), 1/float64(n))
	for i := range buckets {
		buckets[i].upTo = time.Duration(float64(lo) * math.Pow(step, float64(i+1)))
		buckets[i].counts = make([]int64, len(runs))
	}
	buckets[n-1].upTo = hi // no rounding may leave the largest out
	for j, r := range runs {
		for _, d := range r.latencies {
			i := sort.Search(n, func(i int) bool { return buckets[i].upTo >= d })
			buckets[i].counts[j]++
		}
	}
	return buckets
}

// loadJSON is the output of "load --json".
type loadJSON struct {
	URL             string    `json:"url"`
	EmbeddedServer  bool      `json:"embedded_server"`
	Method          string    `json:"method"`
	Concurrency     int       `json:"concurrency"`
	RequestsPlanned int       `json:"requests_planned,omitempty"`    // -n; absent when only -d bounds the run
	DurationPlanMS  float64   `json:"duration_planned_ms,omitempty"` // -d
	Runs            []runJSON `json:"runs"`
	HistogramUpToMS []float64 `json:"histogram_up_to_ms"` // the buckets' upper bounds, shared by the runs
}

// runJSON is one run in loadJSON.
type runJSON struct {
	Client        string             `json:"client"`
	Requests      int64              `json:"requests"` // ok + other_status + failed + cut_short
	OK            int64              `json:"ok"`
	OtherStatus   int64              `json:"other_status"`
	Failed        int64              `json:"failed"`
	CutShort      int64              `json:"cut_short"`
	AcceptStatus  string             `json:"accept_status"`
	ElapsedMS     float64            `json:"elapsed_ms"`
	RPS           float64            `json:"requests_per_second"`
	BytesReceived int64              `json:"bytes_received"` // response bodies
	BytesPerSec   float64            `json:"bytes_per_second"`
	Latency       map[string]float64 `json:"latency_ms"` // of every response
	Histogram     []int64            `json:"histogram"`  // counts per bucket of histogram_up_to_ms
	StatusClasses map[string]int64   `json:"status_classes"`
	Status        map[string]int64   `json:"status"`
	Protocols     map[string]int64   `json:"protocols"`
	Errors        map[string]int64   `json:"errors"`
	ErrorExamples map[string]string  `json:"error_examples,omitempty"`
	Pool          poolReport         `json:"pool"`
	Stopped       string             `json:"stopped,omitempty"`
	Notes         []string           `json:"notes,omitempty"` // e.g. that net/http has no HTTP/3
}

// writeLoadJSON prints runs as indented JSON.
func writeLoadJSON(w io.Writer, h loadHeader, runs []*runResult) error {
	out := loadJSON{
		URL: h.url, EmbeddedServer: h.embedded, Method: h.method, Concurrency: h.c,
		RequestsPlanned: int(h.n), DurationPlanMS: ms(h.d),
		Runs: make([]runJSON, len(runs)), HistogramUpToMS: []float64{},
	}
	buckets := histogram(runs)
	for _, b := range buckets {
		out.HistogramUpToMS = append(out.HistogramUpToMS, ms(b.upTo))
	}
	for i, r := range runs {
		s := summarize(r.latencies)
		rj := runJSON{
			Client: r.client, Requests: r.requests(), OK: r.ok, OtherStatus: r.otherStatus,
			Failed: r.failed, CutShort: r.cutShort, AcceptStatus: r.accepted,
			ElapsedMS: ms(r.elapsed), RPS: math.Round(r.requestsPerSecond()*10) / 10,
			BytesReceived: r.bytes, BytesPerSec: math.Round(r.bytesPerSecond()),
			Latency: map[string]float64{
				"min": ms(s.Min), "mean": ms(s.Mean), "p50": ms(s.P50), "p90": ms(s.P90), "p95": ms(s.P95),
				"p99": ms(s.P99), "p99.9": ms(s.P999), "max": ms(s.Max),
			},
			Histogram:     make([]int64, len(buckets)),
			StatusClasses: statusClasses(r.status),
			Status:        make(map[string]int64, len(r.status)),
			Protocols:     r.protocols, Errors: r.errors, ErrorExamples: r.examples,
			Pool: r.pool, Stopped: r.stopped, Notes: r.notes,
		}
		for j, b := range buckets {
			rj.Histogram[j] = b.counts[i]
		}
		for code, n := range r.status {
			rj.Status[strconv.Itoa(code)] = n
		}
		if len(rj.ErrorExamples) == 0 {
			rj.ErrorExamples = nil
		}
		out.Runs[i] = rj
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
