package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// getRecord is what "get" reports of one request. Durations are in
// milliseconds; a phase that did not happen (no DNS for an IP address, no
// connect or TLS on a reused connection) is null. The connection fields
// come from httptrace's GotConn and are empty or null when it did not fire.
type getRecord struct {
	N           int      `json:"n"`
	URL         string   `json:"url"`
	Method      string   `json:"method"`
	Status      int      `json:"status,omitempty"`
	Proto       string   `json:"protocol,omitempty"`
	Conn        string   `json:"conn,omitempty"` // the connection's local address: its identity
	Remote      string   `json:"remote,omitempty"`
	Reused      *bool    `json:"reused"`
	WasIdle     *bool    `json:"was_idle"`
	IdleMS      *float64 `json:"idle_ms"`
	DNSMS       *float64 `json:"dns_ms"`
	ConnectMS   *float64 `json:"connect_ms"`
	TLSMS       *float64 `json:"tls_ms"`
	FirstByteMS *float64 `json:"first_byte_ms"`
	TotalMS     float64  `json:"total_ms"`
	BodyBytes   int64    `json:"body_bytes"`
	// StatusLine and Header are the response's, with -i only.
	StatusLine string      `json:"status_line,omitempty"`
	Header     http.Header `json:"header,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// timings collects a request's httptrace events. Hooks may fire on other
// goroutines (a dial, an HTTP/2 connection's reader), hence the lock.
type timings struct {
	start time.Time // set before the request is sent

	mu           sync.Mutex
	dnsStart     time.Time
	dnsDone      time.Time
	connectStart time.Time
	connectDone  time.Time
	tlsStart     time.Time
	tlsDone      time.Time
	firstByte    time.Time
	conn         *httptrace.GotConnInfo
}

// withTrace returns ctx carrying hooks that fill in tm.
func (tm *timings) withTrace(ctx context.Context) context.Context {
	at := func(t *time.Time) {
		tm.mu.Lock()
		if t.IsZero() {
			*t = time.Now()
		}
		tm.mu.Unlock()
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { at(&tm.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { at(&tm.dnsDone) },
		// Dialing may try several addresses: the phase runs from the first
		// attempt to the one that succeeded.
		ConnectStart: func(string, string) { at(&tm.connectStart) },
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				at(&tm.connectDone)
			}
		},
		TLSHandshakeStart: func() { at(&tm.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				at(&tm.tlsDone)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			tm.mu.Lock()
			tm.conn = &info // the last: a retried request reports the connection that served it
			tm.mu.Unlock()
		},
		GotFirstResponseByte: func() { at(&tm.firstByte) },
	})
}

// record turns the events into a getRecord for a request that took total.
func (tm *timings) record(total time.Duration) getRecord {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	rec := getRecord{
		DNSMS:       phase(tm.dnsStart, tm.dnsDone),
		ConnectMS:   phase(tm.connectStart, tm.connectDone),
		TLSMS:       phase(tm.tlsStart, tm.tlsDone),
		FirstByteMS: phase(tm.start, tm.firstByte),
		TotalMS:     ms(total),
	}
	if c := tm.conn; c != nil {
		rec.Conn = c.Conn.LocalAddr().String()
		rec.Remote = c.Conn.RemoteAddr().String()
		rec.Reused, rec.WasIdle = &c.Reused, &c.WasIdle
		if c.WasIdle {
			idle := ms(c.IdleTime)
			rec.IdleMS = &idle
		}
	}
	return rec
}

// phase returns the milliseconds from start to end, nil unless both happened.
func phase(start, end time.Time) *float64 {
	if start.IsZero() || end.IsZero() {
		return nil
	}
	d := ms(end.Sub(start))
	return &d
}

// getColumns are the headings of get's text output and their widths; the
// URL comes last, unpadded. Fixed widths let each line print as its request
// ends.
var getColumns = []struct {
	title string
	width int
}{
	{"#", 3}, {"status", 6}, {"proto", 8}, {"conn", 21}, {"reused", 6}, {"idle", 8},
	{"dns", 8}, {"connect", 8}, {"tls", 8}, {"1st byte", 8}, {"total", 8}, {"size", 8}, {"url", 0},
}

// writeGetHeader prints the headings of get's text output.
func writeGetHeader(w io.Writer) {
	titles := make([]string, len(getColumns))
	for i, c := range getColumns {
		titles[i] = c.title
	}
	writeGetCells(w, titles)
}

// writeGetLine prints one request and, with include, its response's status
// line and headers, indented.
func writeGetLine(w io.Writer, r getRecord, include bool) {
	status, conn, reused := strconv.Itoa(r.Status), r.Conn, "?"
	if r.Status == 0 {
		status = "error"
	}
	if conn == "" {
		conn = "?"
	}
	if r.Reused != nil {
		reused = map[bool]string{false: "no", true: "yes"}[*r.Reused]
	}
	writeGetCells(w, []string{
		strconv.Itoa(r.N), status, r.Proto, conn, reused, fmtMS(r.IdleMS),
		fmtMS(r.DNSMS), fmtMS(r.ConnectMS), fmtMS(r.TLSMS), fmtMS(r.FirstByteMS), fmtMS(&r.TotalMS),
		fmtSize(r), r.URL,
	})
	if include && r.StatusLine != "" {
		fmt.Fprintf(w, "    %s\n", r.StatusLine)
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			for _, v := range r.Header[k] {
				fmt.Fprintf(w, "    %s: %s\n", k, v)
			}
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "    %s\n", r.Error)
	}
}

// writeGetCells prints one line of cells padded to getColumns' widths.
func writeGetCells(w io.Writer, cells []string) {
	line := ""
	for i, c := range cells {
		if i > 0 {
			line += " "
		}
		line += fmt.Sprintf("%-*s", getColumns[i].width, c)
	}
	fmt.Fprintln(w, line)
}

// fmtSize formats the size of r's response body without spaces, e.g.
// "1.5kB", "-" when there was no response.
func fmtSize(r getRecord) string {
	if r.Status == 0 {
		return "-"
	}
	return strings.ReplaceAll(fmtBytes(float64(r.BodyBytes)), " ", "")
}

// fmtMS formats milliseconds as fmtDur does, "-" for nil.
func fmtMS(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmtDur(time.Duration(*v * float64(time.Millisecond)))
}
