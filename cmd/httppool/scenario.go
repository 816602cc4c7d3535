package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/httppool/httppool"
)

// scenario is one pool behaviour the demo walks through.
type scenario struct {
	name     string // the name --only takes
	what     string // one sentence: what the scenario shows
	expected string // what should happen, short enough for the summary table

	// background scenarios mostly sleep; they start with the demo and run
	// alongside the others, which keeps the whole walk short.
	background bool

	// run performs the scenario, recording checks and measures in o. An
	// error means the scenario could not be carried out; it fails.
	run func(ctx context.Context, o *outcome) error
}

// scenarios returns every scenario in the order the demo shows them.
func scenarios() []scenario {
	return []scenario{
		reuseScenario(),
		perHostScenario(),
		idleTimeoutScenario(),
		maxIdlePerHostScenario(),
		maxConnsPerHostScenario(),
		connectionCloseScenario(),
		noPoolScenario(),
		staleScenario(),
		learnedIdleTimeoutScenario(),
		keepAliveHeaderScenario(),
		httpsScenario(),
		http2Scenario(),
		http2StreamLimitScenario(),
		http3Scenario(),
		coalesceScenario(),
		preconnectScenario(),
		closeScenario(),
		shutdownScenario(),
	}
}

// scenarioTimeout bounds one scenario. The slowest takes about 4 s; the
// margin is for machines so busy that timers fire late.
const scenarioTimeout = 20 * time.Second

// check is one expectation of a scenario and what was observed for it.
type check struct {
	Name string `json:"check"`
	Want string `json:"want"`
	Got  string `json:"got"`
	OK   bool   `json:"ok"`
}

// outcome collects what a scenario observed.
type outcome struct {
	checks   []check
	measures map[string]any
	notes    []string
	observed string
	stats    *statsJSON
}

// expect records a check: ok says whether got satisfies want.
func (o *outcome) expect(name string, ok bool, want, got any) {
	o.checks = append(o.checks, check{Name: name, Want: fmt.Sprint(want), Got: fmt.Sprint(got), OK: ok})
}

// equal records a check that got equals want.
func (o *outcome) equal(name string, want, got int64) {
	o.expect(name, want == got, want, got)
}

// atMost records a check that got is at most limit.
func (o *outcome) atMost(name string, limit, got int64) {
	o.expect(name, got <= limit, fmt.Sprintf("<= %d", limit), got)
}

// atLeast records a check that got is at least limit.
func (o *outcome) atLeast(name string, limit, got int64) {
	o.expect(name, got >= limit, fmt.Sprintf(">= %d", limit), got)
}

// measure records a number (or other value) for the JSON details.
func (o *outcome) measure(key string, v any) {
	if o.measures == nil {
		o.measures = make(map[string]any)
	}
	if d, ok := v.(time.Duration); ok {
		v = ms(d)
	}
	o.measures[key] = v
}

// note adds a line to the scenario's section of the text report.
func (o *outcome) note(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// observe sets the one-line summary of what was observed.
func (o *outcome) observe(format string, args ...any) {
	o.observed = fmt.Sprintf(format, args...)
}

// recordStats keeps a snapshot of the Transport's Stats for the details.
func (o *outcome) recordStats(st httppool.Stats) {
	s := newStatsJSON(st)
	o.stats = &s
}

// runScenario runs s with a timeout and turns what it observed into a
// Result. A scenario that panics or does not finish in time fails.
func runScenario(ctx context.Context, s scenario) Result {
	ctx, cancel := context.WithTimeout(ctx, scenarioTimeout)
	defer cancel()
	o := &outcome{}
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		errc <- s.run(ctx, o)
	}()
	watchdog := time.NewTimer(scenarioTimeout + 5*time.Second)
	defer watchdog.Stop()
	var err error
	select {
	case err = <-errc:
	case <-watchdog.C:
		// The scenario ignores its context: report it rather than hang.
		return Result{
			Name: s.name, Expected: s.expected, Observed: "did not finish",
			Details: Details{What: s.what, Checks: []check{}, Error: "scenario did not finish in time", DurationMS: ms(time.Since(start))},
		}
	}
	if o.checks == nil {
		o.checks = []check{}
	}
	r := Result{
		Name:     s.name,
		Expected: s.expected,
		Observed: o.observed,
		Pass:     err == nil && len(o.checks) > 0,
		Details: Details{
			What:       s.what,
			Checks:     o.checks,
			Measures:   o.measures,
			Stats:      o.stats,
			Notes:      o.notes,
			DurationMS: ms(time.Since(start)),
		},
	}
	for _, c := range o.checks {
		r.Pass = r.Pass && c.OK
	}
	if err != nil {
		r.Details.Error = err.Error()
		if r.Observed == "" {
			r.Observed = "error: " + err.Error()
		}
	}
	return r
}

// runScenarios runs list and returns the results in the same order. The
// foreground scenarios run one after another while background ones run
// alongside; emit, if not nil, is called with each result in order as soon
// as it and those before it are known.
func runScenarios(ctx context.Context, list []scenario, emit func(Result)) []Result {
	done := make([]chan Result, len(list))
	var foreground []int
	for i, s := range list {
		done[i] = make(chan Result, 1)
		if s.background && len(list) > 1 {
			go func() { done[i] <- runScenario(ctx, s) }()
		} else {
			foreground = append(foreground, i)
		}
	}
	go func() {
		for _, i := range foreground {
			done[i] <- runScenario(ctx, list[i])
		}
	}()
	results := make([]Result, len(list))
	for i := range list {
		results[i] = <-done[i]
		if emit != nil {
			emit(results[i])
		}
	}
	return results
}

// newTransport returns a Transport for a scenario: cfg with a dialer that
// only reaches loopback addresses.
func newTransport(cfg httppool.Config) *httppool.Transport {
	cfg.DialContext = dialLoopback
	return httppool.New(cfg)
}

// fetch sends a GET for url through client and reads the response body to
// its end, which hands the connection back to the pool. The returned
// response's body is already consumed and closed.
func fetch(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp, fmt.Errorf("reading the body of %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp, nil
}

// timedFetch is fetch that also returns how long the request took.
func timedFetch(ctx context.Context, client *http.Client, url string) (*http.Response, time.Duration, error) {
	start := time.Now()
	resp, err := fetch(ctx, client, url)
	return resp, time.Since(start), err
}

// ms converts d to milliseconds with microsecond precision.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

// fmtDur formats d for people: microseconds below a millisecond, otherwise
// three significant digits or so.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 100*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// plural returns "1 connection" or "2 connections" ("1 retry", "2 retries").
func plural(n int64, word string) string {
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, word)
	case strings.HasSuffix(word, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// concurrently sends n GETs for url at once and returns their errors.
func concurrently(ctx context.Context, client *http.Client, url string, n int) []error {
	_, errs := fetchAll(ctx, client, url, n)
	return errs
}

// fetchAll sends n GETs for url at once and returns their responses, whose
// bodies are consumed, and their errors, index by index.
func fetchAll(ctx context.Context, client *http.Client, url string, n int) ([]*http.Response, []error) {
	resps := make([]*http.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = fetch(ctx, client, url)
		}()
	}
	wg.Wait()
	return resps, errs
}

// requireNoError returns the first of errs that is not nil, annotated with
// how many failed, or nil when none did.
func requireNoError(errs []error) error {
	var first error
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return nil
	}
	return fmt.Errorf("%d of %d requests failed, first: %w", n, len(errs), first)
}
