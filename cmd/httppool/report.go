package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/httppool/httppool"
)

// Result is the outcome of one scenario, as printed and as encoded by --json.
type Result struct {
	Name     string  `json:"name"`
	Expected string  `json:"expected"`
	Observed string  `json:"observed"`
	Pass     bool    `json:"pass"`
	Details  Details `json:"details"`
}

// Details is what a scenario measured beyond its one-line summary.
type Details struct {
	What       string         `json:"what"`
	Checks     []check        `json:"checks"`
	Measures   map[string]any `json:"measures,omitempty"` // durations in milliseconds
	Stats      *statsJSON     `json:"stats,omitempty"`    // the Transport's Stats at the end
	Notes      []string       `json:"notes,omitempty"`
	Error      string         `json:"error,omitempty"`
	DurationMS float64        `json:"duration_ms"`
}

// statsJSON is httppool.Stats with snake_case names and milliseconds.
type statsJSON struct {
	Open           int              `json:"open"`
	InUse          int              `json:"in_use"`
	Idle           int              `json:"idle"`
	Dialing        int              `json:"dialing"`
	Waiting        int              `json:"waiting"`
	WaitCount      int64            `json:"wait_count"`
	WaitDurationMS float64          `json:"wait_duration_ms"`
	Requests       int64            `json:"requests"`
	Reused         int64            `json:"reused"`
	Retries        int64            `json:"retries"`
	Coalesced      int64            `json:"coalesced,omitempty"` // attempts on another origin's HTTP/2 connection
	Dials          int64            `json:"dials"`
	DialErrors     int64            `json:"dial_errors"`
	Closed         map[string]int64 `json:"closed"`
	// Hosts is Stats.Hosts: a snapshot per host pool, keyed "http://host:port".
	Hosts map[string]hostStatsJSON `json:"hosts,omitempty"`
}

// hostStatsJSON is httppool.HostStats with snake_case names.
type hostStatsJSON struct {
	Open    int `json:"open"`
	InUse   int `json:"in_use"`
	Idle    int `json:"idle"`
	Dialing int `json:"dialing"`
	Waiting int `json:"waiting"`
	// Coalesced is the host whose HTTP/2 connection this host's requests
	// shared last, if any.
	Coalesced string `json:"coalesced,omitempty"`
}

// newStatsJSON converts a Stats snapshot for the JSON details.
func newStatsJSON(s httppool.Stats) statsJSON {
	out := statsJSON{
		Open: s.Open, InUse: s.InUse, Idle: s.Idle, Dialing: s.Dialing, Waiting: s.Waiting,
		WaitCount: s.WaitCount, WaitDurationMS: ms(s.WaitDuration),
		Requests: s.Requests, Reused: s.Reused, Retries: s.Retries, Coalesced: s.Coalesced,
		Dials: s.Dials, DialErrors: s.DialErrors, Closed: s.Closed,
	}
	if len(s.Hosts) > 0 {
		out.Hosts = make(map[string]hostStatsJSON, len(s.Hosts))
		for k, h := range s.Hosts {
			out.Hosts[k] = hostStatsJSON{Open: h.Open, InUse: h.InUse, Idle: h.Idle, Dialing: h.Dialing, Waiting: h.Waiting,
				Coalesced: h.Coalesced}
		}
	}
	return out
}

// String summarizes the counters for the text report, e.g. "requests 2,
// dials 1, reused 1, retries 0, waited 0; open 1, idle 1; closed: none".
func (s *statsJSON) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests %d, dials %d, reused %d, retries %d, waited %d; ",
		s.Requests, s.Dials, s.Reused, s.Retries, s.WaitCount)
	if s.Coalesced > 0 {
		fmt.Fprintf(&b, "coalesced %d; ", s.Coalesced)
	}
	fmt.Fprintf(&b, "open %d, idle %d; closed: ", s.Open, s.Idle)
	reasons := make([]string, 0, len(s.Closed))
	for r := range s.Closed {
		reasons = append(reasons, r)
	}
	if len(reasons) == 0 {
		b.WriteString("none")
	}
	sort.Strings(reasons)
	for i, r := range reasons {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", r, s.Closed[r])
	}
	return b.String()
}

// passMark returns "PASS" or "FAIL".
func passMark(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// writeHeader prints the line that opens the text report.
func writeHeader(w io.Writer, n int) {
	fmt.Fprintf(w, "httppool demo: %s against local servers on 127.0.0.1; connections are counted on the server side.\n",
		plural(int64(n), "scenario"))
}

// writeSection prints one scenario's few lines: what, expected, observed,
// notes, failed checks and its PASS/FAIL mark.
func writeSection(w io.Writer, r Result) {
	fmt.Fprintf(w, "\n== %s: %s\n", r.Name, r.Details.What)
	fmt.Fprintf(w, "   expected: %s\n", r.Expected)
	fmt.Fprintf(w, "   observed: %s\n", r.Observed)
	for _, n := range r.Details.Notes {
		fmt.Fprintf(w, "             %s\n", n)
	}
	if st := r.Details.Stats; st != nil {
		fmt.Fprintf(w, "   stats:    %s\n", st)
	}
	for _, c := range r.Details.Checks {
		if !c.OK {
			fmt.Fprintf(w, "   failed:   %s: want %s, got %s\n", c.Name, c.Want, c.Got)
		}
	}
	if r.Details.Error != "" {
		fmt.Fprintf(w, "   error:    %s\n", r.Details.Error)
	}
	fmt.Fprintf(w, "   %s (%s)\n", passMark(r.Pass), fmtDur(time.Duration(r.Details.DurationMS*float64(time.Millisecond))))
}

// writeTable prints the summary table of results.
func writeTable(w io.Writer, results []Result) {
	rows := [][]string{{"scenario", "expected", "observed", "result"}}
	for _, r := range results {
		rows = append(rows, []string{r.Name, r.Expected, r.Observed, passMark(r.Pass)})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, cell := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w)
	line(rows[0])
	var rule strings.Builder
	for i, n := range widths {
		if i > 0 {
			rule.WriteString("-+-")
		}
		rule.WriteString(strings.Repeat("-", n))
	}
	fmt.Fprintln(w, rule.String())
	for _, row := range rows[1:] {
		line(row)
	}
}

// writeFooter prints the pass count and the run time.
func writeFooter(w io.Writer, results []Result, elapsed time.Duration) {
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed in %s\n", len(results)-failed, failed, fmtDur(elapsed))
}

// writeJSON prints results as an indented JSON array.
func writeJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
