package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// loadHeader describes a load for its report.
type loadHeader struct {
	url      string
	embedded bool
	method   string
	c        int
	n        int64         // 0: only d bounds the load
	d        time.Duration // 0: only n bounds the load
}

// String describes the load in one line, e.g. "GET http://127.0.0.1:8080/,
// 1000 requests, 16 at once".
func (h loadHeader) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", h.method, h.url)
	if h.embedded {
		b.WriteString(" (embedded server)")
	}
	switch {
	case h.n > 0 && h.d > 0:
		fmt.Fprintf(&b, ", %d requests or %s", h.n, h.d)
	case h.n > 0:
		fmt.Fprintf(&b, ", %d requests", h.n)
	default:
		fmt.Fprintf(&b, ", for %s", h.d)
	}
	fmt.Fprintf(&b, ", %d at once", h.c)
	return b.String()
}

// histogramWidth is the length of the longest histogram bar.
const histogramWidth = 30

// writeLoadText prints the report of one run, or of runs side by side.
func writeLoadText(w io.Writer, h loadHeader, runs []*runResult) {
	fmt.Fprintf(w, "%s load: %s\n\n", programName, h)
	if len(runs) == 1 {
		writeRun(w, runs[0])
		return
	}
	writeComparison(w, runs)
}

// writeRun prints one run: its numbers, its latency histogram and what the
// pool did.
func writeRun(w io.Writer, r *runResult) {
	s := summarize(r.latencies)
	latency := "no response"
	if len(r.latencies) > 0 {
		latency = fmt.Sprintf("p50 %s, p90 %s, p95 %s, p99 %s, p99.9 %s, max %s (min %s, mean %s)",
			fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P95), fmtDur(s.P99), fmtDur(s.P999),
			fmtDur(s.Max), fmtDur(s.Min), fmtDur(s.Mean))
	}
	rows := [][]string{
		{"requests", fmt.Sprintf("%d in %s: %.0f req/s; %s", r.requests(), fmtDur(r.elapsed), r.requestsPerSecond(), fmtOutcomes(r))},
		{"latency", latency},
		{"status", fmtStatus(r.status)},
		{"received", fmt.Sprintf("%s of response bodies, %s/s", fmtBytes(float64(r.bytes)), fmtBytes(r.bytesPerSecond()))},
		{"protocol", fmtProtocols(r.protocols)},
		{"errors", fmtErrors(r.errors)},
	}
	rows = append(rows, stoppedRows(r)...)
	for _, n := range r.notes {
		rows = append(rows, []string{"note", n})
	}
	writeAligned(w, "", rows)

	if buckets := histogram([]*runResult{r}); buckets != nil {
		fmt.Fprintln(w, "\nlatency histogram")
		peak := peakCount(buckets)
		var hist [][]string
		for _, b := range buckets {
			hist = append(hist, []string{"≤ " + fmtDur(b.upTo), countCell(b.counts[0], peak), bar(b.counts[0], peak)})
		}
		writeAligned(w, "  ", hist)
	}

	p := r.pool
	fmt.Fprintf(w, "\nwhat the pool did (%s)\n", p.Source)
	poolRows := [][]string{
		{"connections dialed", fmt.Sprintf("%d (%d failed)", p.Dials, p.DialErrors)},
		{"reuse ratio", fmt.Sprintf("%s (%d of %d attempts on a reused connection)", fmtPercent(p.ReuseRatio), p.Reused, p.Attempts)},
		{"retries", fmtOptional(p.Retries)},
		{"closed, by reason", fmtClosed(p.Closed)},
		{"peak open", fmt.Sprintf("%d (sampled every %s); open at end %d", p.PeakOpen, sampleEvery, p.OpenAtEnd)},
	}
	if p.WaitCount != nil && p.WaitDuration != nil {
		poolRows = append(poolRows, []string{"waited for a conn", fmt.Sprintf("%d requests, %s in all",
			*p.WaitCount, fmtDur(time.Duration(*p.WaitDuration*float64(time.Millisecond))))})
	}
	if p.HTTP3 != nil {
		poolRows = append(poolRows, []string{"HTTP/3", fmtHTTP3(p.HTTP3)})
	}
	writeAligned(w, "  ", poolRows)
}

// writeComparison prints runs side by side, one column each.
func writeComparison(w io.Writer, runs []*runResult) {
	row := func(label string, f func(r *runResult) string) []string {
		cells := []string{label}
		for _, r := range runs {
			cells = append(cells, f(r))
		}
		return cells
	}
	lat := func(f func(latencySummary) time.Duration) func(*runResult) string {
		return func(r *runResult) string { return fmtDur(f(summarize(r.latencies))) }
	}
	rows := [][]string{
		row("", func(r *runResult) string { return r.client }),
		row("requests/s", func(r *runResult) string { return fmt.Sprintf("%.0f", r.requestsPerSecond()) }),
		row("requests", func(r *runResult) string { return fmt.Sprintf("%d in %s", r.requests(), fmtDur(r.elapsed)) }),
		row("OK / other / failed", func(r *runResult) string {
			return fmt.Sprintf("%d / %d / %d", r.ok, r.otherStatus, r.failed)
		}),
		row("latency p50", lat(func(s latencySummary) time.Duration { return s.P50 })),
		row("latency p90", lat(func(s latencySummary) time.Duration { return s.P90 })),
		row("latency p95", lat(func(s latencySummary) time.Duration { return s.P95 })),
		row("latency p99", lat(func(s latencySummary) time.Duration { return s.P99 })),
		row("latency p99.9", lat(func(s latencySummary) time.Duration { return s.P999 })),
		row("latency max", lat(func(s latencySummary) time.Duration { return s.Max })),
		row("status", func(r *runResult) string { return fmtStatus(r.status) }),
		row("received", func(r *runResult) string { return fmtBytes(float64(r.bytes)) }),
		row("throughput", func(r *runResult) string { return fmtBytes(r.bytesPerSecond()) + "/s" }),
		row("protocol", func(r *runResult) string { return fmtProtocols(r.protocols) }),
		row("errors", func(r *runResult) string { return fmtErrors(r.errors) }),
		row("connections dialed", func(r *runResult) string { return strconv.FormatInt(r.pool.Dials, 10) }),
		row("reuse ratio", func(r *runResult) string { return fmtPercent(r.pool.ReuseRatio) }),
		row("peak open", func(r *runResult) string { return strconv.Itoa(r.pool.PeakOpen) }),
		row("open at end", func(r *runResult) string { return strconv.Itoa(r.pool.OpenAtEnd) }),
		row("retries", func(r *runResult) string { return fmtOptional(r.pool.Retries) }),
		row("closed, by reason", func(r *runResult) string { return fmtClosed(r.pool.Closed) }),
	}
	if slices.ContainsFunc(runs, func(r *runResult) bool { return r.pool.HTTP3 != nil }) {
		rows = append(rows, row("HTTP/3 open at end", func(r *runResult) string {
			if r.pool.HTTP3 == nil {
				return "n/a"
			}
			return strconv.Itoa(r.pool.HTTP3.OpenAtEnd)
		}))
	}
	writeAligned(w, "", rows)
	for _, r := range runs {
		extra := stoppedRows(r)
		if h := r.pool.HTTP3; h != nil {
			extra = append(extra, []string{"HTTP/3", fmtHTTP3(h)})
		}
		for _, n := range r.notes {
			extra = append(extra, []string{"note", n})
		}
		if extra != nil {
			fmt.Fprintf(w, "\n%s:\n", r.client)
			writeAligned(w, "  ", extra)
		}
	}

	if buckets := histogram(runs); buckets != nil {
		fmt.Fprintln(w)
		peak := peakCount(buckets)
		hist := [][]string{row("latency histogram", func(r *runResult) string { return r.client })}
		for _, b := range buckets {
			cells := []string{"  ≤ " + fmtDur(b.upTo)}
			for _, n := range b.counts {
				cells = append(cells, countCell(n, peak)+" "+bar(n, peak))
			}
			hist = append(hist, cells)
		}
		writeAligned(w, "", hist)
	}
	fmt.Fprintf(w, "\n%s\n", comparisonSummary(runs[0], runs[1]))
}

// comparisonSummary says in one line how run a compares with run b.
func comparisonSummary(a, b *runResult) string {
	sa, sb := summarize(a.latencies), summarize(b.latencies)
	times := func(x, y float64) string {
		if y == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2fx", x/y)
	}
	return fmt.Sprintf("%s vs %s: requests/s %s, p50 %s, p99 %s; connections dialed %d vs %d, peak open %d vs %d",
		a.client, b.client, times(a.requestsPerSecond(), b.requestsPerSecond()),
		times(float64(sa.P50), float64(sb.P50)), times(float64(sa.P99), float64(sb.P99)),
		a.pool.Dials, b.pool.Dials, a.pool.PeakOpen, b.pool.PeakOpen)
}

// stoppedRows are the report lines of a run that stopped early or had
// errors: why it stopped and an example of each kind of error.
func stoppedRows(r *runResult) [][]string {
	var rows [][]string
	if r.stopped != "" {
		rows = append(rows, []string{"stopped", r.stopped})
	}
	for _, k := range errorKinds {
		if e, ok := r.examples[k]; ok {
			rows = append(rows, []string{"e.g. " + errorKindLabels[k], e})
		}
	}
	return rows
}

// writeAligned prints rows with their columns aligned, each line starting
// with indent.
func writeAligned(w io.Writer, indent string, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// bar draws n as a bar scaled so that peak is histogramWidth long; a count
// that is not zero gets at least one mark.
func bar(n, peak int64) string {
	if n == 0 || peak == 0 {
		return ""
	}
	return strings.Repeat("■", max(1, int(n*histogramWidth/peak)))
}

// countCell right-aligns n in the width of peak, the largest count.
func countCell(n, peak int64) string {
	return fmt.Sprintf("%*d", len(strconv.FormatInt(peak, 10)), n)
}

// peakCount is the largest count of any bucket of any run.
func peakCount(buckets []bucket) int64 {
	var peak int64
	for _, b := range buckets {
		peak = max(peak, slices.Max(b.counts))
	}
	return peak
}

// fmtOutcomes says how the requests of r ended, e.g. "998 OK (2xx), 2
// other status, 0 failed"; requests cut short are listed only when some were.
func fmtOutcomes(r *runResult) string {
	s := fmt.Sprintf("%d OK (%s), %d other status, %d failed", r.ok, r.accepted, r.otherStatus, r.failed)
	if r.cutShort > 0 {
		s += fmt.Sprintf(", %d cut short", r.cutShort)
	}
	return s
}

// fmtBytes formats a number of bytes with an SI prefix, e.g. "1.5 MB".
func fmtBytes(n float64) string {
	const units = "kMGTPE"
	if n < 999.5 {
		return fmt.Sprintf("%.0f B", n)
	}
	i := 0
	n /= 1000
	for n >= 999.95 && i < len(units)-1 {
		n /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", n, units[i])
}

// fmtCounts lists the counts of m by key, e.g. "HTTP/1.1: 1000".
func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// fmtProtocols lists the responses by protocol, e.g. "HTTP/1.1: 1000";
// with several protocols, with the share of each, e.g. "HTTP/2.0: 16
// (1.6%), HTTP/3.0: 984 (98.4%)".
func fmtProtocols(m map[string]int64) string {
	if len(m) < 2 {
		return fmtCounts(m)
	}
	var total int64
	for _, n := range m {
		total += n
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d (%s)", k, m[k], fmtPercent(ratio(m[k], total))))
	}
	return strings.Join(parts, ", ")
}

// fmtHTTP3 says what the pool knew of the origin's HTTP/3 at the end of a
// run, e.g. "1 connection open at end; alternative 127.0.0.1:8443 from
// Alt-Svc".
func fmtHTTP3(h *http3Report) string {
	s := plural(int64(h.OpenAtEnd), "connection") + " open at end"
	switch {
	case h.Alternative != "":
		s += "; alternative " + h.Alternative + " from Alt-Svc"
	case h.BrokenUntil.IsZero():
		s += "; no h3 alternative learnt: the server's responses offered none in Alt-Svc"
	}
	if !h.BrokenUntil.IsZero() {
		s += fmt.Sprintf("; marked broken until %s after %s (QUIC failed where TCP worked: UDP blocked?)",
			h.BrokenUntil.Format(time.TimeOnly), plural(int64(h.Failures), "failure"))
	}
	return s
}

// fmtErrors lists the error kinds that occurred, e.g. "timeout 3, reset 1".
func fmtErrors(m map[string]int64) string {
	var parts []string
	for _, k := range errorKinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", errorKindLabels[k], m[k]))
		}
	}
	if parts == nil {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// fmtClosed lists closed connections by reason, "none" when there were
// none and "n/a" when the client does not tell.
func fmtClosed(m map[string]int64) string {
	if m == nil {
		return "n/a"
	}
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// fmtOptional formats a count the client may not tell: "n/a" for nil.
func fmtOptional(n *int64) string {
	if n == nil {
		return "n/a"
	}
	return strconv.FormatInt(*n, 10)
}

// fmtPercent formats a ratio as a percentage with one decimal, rounded
// down so that 100% means all.
func fmtPercent(r float64) string {
	return fmt.Sprintf("%.1f%%", math.Floor(1000*r)/10)
}
