package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// subject is the client compared with the others: on each workload, with
// every other client that ran it, in the order they take turns (net/http,
// then fasthttp or h2load).
const subject = "httppool"

func (rep *report) writeJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeText writes one table per workload, each followed by httppool's
// ratios to the other clients, then a summary of those ratios.
func (rep *report) writeText(out io.Writer) error {
	per := rep.Duration + " per client"
	if rep.Requests > 0 {
		per = fmt.Sprintf("%d requests per client", rep.Requests)
	}
	fmt.Fprintf(out, "httppool bench: %s %s, %d CPUs; %s, %s and round, clients interleaved\n",
		rep.Go, rep.OS, rep.CPUs, plural(rep.Rounds, "round"), per)
	if rep.ServerPin != "" {
		fmt.Fprintf(out, "%s; %s\n", rep.ServerPin, rep.ClientPin)
	} else {
		fmt.Fprintln(out, rep.ClientPin)
	}
	if rep.H2O != "" {
		fmt.Fprintf(out, "h2o workloads: %s\n", rep.H2O)
	}
	for _, wr := range rep.Workloads {
		fmt.Fprintf(out, "\n%s: %s\n", wr.Name, wr.Desc)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "client\treq/s\tcpu/req\tallocs/req\tB/req\tp50\tp99\tdials/round\tclient-cpu\tserver-cpu\t")
		var saturated, disturbed []string
		for _, r := range wr.Clients {
			switch {
			case r.NA != "":
				fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\n", r.Client, r.NA)
			case r.Error != "":
				fmt.Fprintf(tw, "%s\terror: %s\t\t\t\t\t\t\t\t\t\n", r.Client, r.Error)
			default:
				server := percent(r.ServerCPU)
				if r.ServerSaturated {
					server += " (saturated)"
					saturated = append(saturated, r.Client)
				}
				if r.Disturbed {
					disturbed = append(disturbed, fmt.Sprintf("%s (%s)", r.Client, percent(r.OtherCPU)))
				}
				allocs, bytes, p50, p99 := fmt.Sprintf("%.1f", r.AllocsPerReq), bytesize(r.BytesPerReq), duration(r.P50), duration(r.P99)
				if r.External {
					allocs, bytes, p50, p99 = "-", "-", "-", "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t\n",
					r.Client, thousands(r.ReqPerSec), duration(r.CPUPerReq), allocs, bytes,
					p50, p99, r.DialsPerRound, percent(r.ClientCPU), server)
			}
		}
		tw.Flush()
		if line := ratioLine(wr.Clients, throughputMetrics); line != "" {
			fmt.Fprintln(out, line)
		}
		if line := roundsLine(wr.Clients); line != "" {
			fmt.Fprintln(out, line)
		}
		if len(saturated) > 0 {
			fmt.Fprintf(out, "  note: the server saturated its CPU while serving %s: their req/s is the server's limit; cpu/req still compares the clients\n",
				strings.Join(saturated, ", "))
		}
		if len(disturbed) > 0 {
			fmt.Fprintf(out, "  note: other processes used CPU while measuring %s: those figures are disturbed\n",
				strings.Join(disturbed, ", "))
		}
	}
	if len(rep.Idle) > 0 {
		rep.writeIdle(out)
	}
	rep.writeSummary(out)
	return nil
}

func (rep *report) writeIdle(out io.Writer) {
	conns := 0
	for _, r := range rep.Idle {
		conns = max(conns, r.Conns)
	}
	fmt.Fprintf(out, "\nidle: %d idle connections per client, forced with /barrier/%d; measured after two GCs\n", conns, conns)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "client\tconns\theap-B/conn\tstack-B/conn\tgoroutines/conn\topen time\tdials/round\t")
	for _, r := range rep.Idle {
		switch {
		case r.NA != "":
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\n", r.Client, r.NA)
		case r.Error != "":
			fmt.Fprintf(tw, "%s\terror: %s\t\t\t\t\t\t\n", r.Client, r.Error)
		default:
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.4f\t%s\t%.0f\t\n", r.Client, r.Conns, r.HeapPerConn, r.StackPerConn,
				r.GoroutinesPer, duration(r.OpenSeconds*1e9), r.DialsPerRound)
		}
	}
	tw.Flush()
	if line := ratioLine(rep.Idle, idleMetrics); line != "" {
		fmt.Fprintln(out, line)
	}
}

// writeSummary writes httppool's ratios for every workload in one table.
func (rep *report) writeSummary(out io.Writer) {
	fmt.Fprintf(out, "\nsummary: %s relative to net/http / fasthttp, or net/http / h2load on h2o (below 1x is better, but for req/s)\n", subject)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "workload\t")
	for _, m := range throughputMetrics {
		fmt.Fprintf(tw, "%s\t", m.name)
	}
	fmt.Fprintln(tw)
	for _, wr := range rep.Workloads {
		fmt.Fprintf(tw, "%s\t", wr.Name)
		for _, m := range throughputMetrics {
			fmt.Fprintf(tw, "%s\t", ratios(wr.Clients, m))
		}
		fmt.Fprintln(tw)
	}
	for _, m := range idleMetrics {
		if len(rep.Idle) > 0 {
			fmt.Fprintf(tw, "idle %s\t%s\t\t\t\t\t\n", m.name, ratios(rep.Idle, m))
		}
	}
	tw.Flush()
}

// ratios returns httppool's ratios for m to the others, as "0.46x / 1.02x".
func ratios[T compared](rs []T, m metric[T]) string {
	var parts []string
	for _, b := range others(rs) {
		parts = append(parts, ratio(rs, m, b))
	}
	return strings.Join(parts, " / ")
}

// others returns the names of the clients in rs other than httppool.
func others[T compared](rs []T) []string {
	var names []string
	for _, r := range rs {
		if r.client() != subject {
			names = append(names, r.client())
		}
	}
	return names
}

// compared is a client's result that ratios are computed from.
type compared interface {
	client() string
	ok() bool
	// external reports whether the client is a program of its own, whose
	// allocations and latency are not measured.
	external() bool
}

// metric is a figure whose ratios are printed.
type metric[T compared] struct {
	name  string
	value func(T) float64
	// inProcess says the figure is measured for Go clients only.
	inProcess bool
}

var throughputMetrics = []metric[*result]{
	{"req/s", func(r *result) float64 { return r.ReqPerSec }, false},
	{"cpu/req", func(r *result) float64 { return r.CPUPerReq }, false},
	{"allocs/req", func(r *result) float64 { return r.AllocsPerReq }, true},
	{"B/req", func(r *result) float64 { return r.BytesPerReq }, true},
	{"p99", func(r *result) float64 { return r.P99 }, true},
}

var idleMetrics = []metric[*idleResult]{
	{"heap-B/conn", func(r *idleResult) float64 { return r.HeapPerConn }, true},
	{"heap+stack-B/conn", func(r *idleResult) float64 { return r.HeapPerConn + r.StackPerConn }, true},
	{"goroutines/conn", func(r *idleResult) float64 { return r.GoroutinesPer }, true},
}

// ratioLine returns httppool's ratios to the other clients, for each
// metric, as "cpu/req 0.46x net/http, 0.98x fasthttp"; empty when httppool
// has none.
func ratioLine[T compared](rs []T, metrics []metric[T]) string {
	if r, found := find(rs, subject); !found || !r.ok() {
		return ""
	}
	parts := make([]string, len(metrics))
	for i, m := range metrics {
		var each []string
		for _, b := range others(rs) {
			each = append(each, ratio(rs, m, b)+" "+b)
		}
		parts[i] = m.name + " " + strings.Join(each, ", ")
	}
	return "  " + subject + ": " + strings.Join(parts, "; ")
}

// ratio returns httppool's figure over the baseline's, or "-" when either
// has none.
func ratio[T compared](rs []T, m metric[T], baseline string) string {
	a, foundA := find(rs, subject)
	b, foundB := find(rs, baseline)
	if !foundA || !foundB || !a.ok() || !b.ok() || m.inProcess && (a.external() || b.external()) {
		return "-"
	}
	x, y := m.value(a), m.value(b)
	switch {
	case y == 0 && x == 0:
		return "1x"
	case y == 0 || x/y >= 100:
		return ">100x" // against fasthttp's near-zero allocations
	}
	return fmt.Sprintf("%.2fx", x/y)
}

// roundsLine returns the spread of httppool's cpu/req ratio to each other
// client over the rounds, each round's ratio taken between turns next to each other
// in time, as "cpu/req by round: 0.95-1.10x fasthttp (median 1.00x)"; empty
// with fewer than three rounds.
func roundsLine(rs []*result) string {
	a, found := find(rs, subject)
	if !found || !a.ok() || len(a.RoundCPUPerReq) < 3 {
		return ""
	}
	var parts []string
	for _, baseline := range others(rs) {
		b, found := find(rs, baseline)
		if !found || !b.ok() || len(b.RoundCPUPerReq) != len(a.RoundCPUPerReq) {
			continue
		}
		ratios := make([]float64, len(a.RoundCPUPerReq))
		for i := range ratios {
			ratios[i] = a.RoundCPUPerReq[i] / b.RoundCPUPerReq[i]
		}
		slices.Sort(ratios)
		parts = append(parts, fmt.Sprintf("%.2f-%.2fx %s (median %.2fx)",
			ratios[0], ratios[len(ratios)-1], baseline, median(ratios)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "  " + subject + " cpu/req by round: " + strings.Join(parts, ", ")
}

// median returns the median of sorted, which is not empty.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func find[T compared](rs []T, client string) (T, bool) {
	for _, r := range rs {
		if r.client() == client {
			return r, true
		}
	}
	var zero T
	return zero, false
}

// duration formats nanoseconds with three significant digits or so.
func duration(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%.0fns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", ns/1e6)
	}
	return fmt.Sprintf("%.2fs", ns/1e9)
}

func bytesize(b float64) string {
	switch {
	case b < 10<<10:
		return fmt.Sprintf("%.0f", b)
	case b < 10<<20:
		return fmt.Sprintf("%.1fKiB", b/(1<<10))
	}
	return fmt.Sprintf("%.1fMiB", b/(1<<20))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func percent(cores float64) string {
	return fmt.Sprintf("%.0f%%", cores*100)
}

// thousands formats n rounded, with commas between groups of three digits.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
