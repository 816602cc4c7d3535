package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadRunJSON is the part of a "load --json" run the tests look at.
type loadRunJSON struct {
	Client        string             `json:"client"`
	Requests      int64              `json:"requests"`
	OK            int64              `json:"ok"`
	OtherStatus   int64              `json:"other_status"`
	Failed        int64              `json:"failed"`
	CutShort      int64              `json:"cut_short"`
	AcceptStatus  string             `json:"accept_status"`
	ElapsedMS     float64            `json:"elapsed_ms"`
	BytesReceived int64              `json:"bytes_received"`
	BytesPerSec   float64            `json:"bytes_per_second"`
	Latency       map[string]float64 `json:"latency_ms"`
	Histogram     []int64            `json:"histogram"`
	StatusClasses map[string]int64   `json:"status_classes"`
	Status        map[string]int64   `json:"status"`
	Protocols     map[string]int64   `json:"protocols"`
	Errors        map[string]int64   `json:"errors"`
	Stopped       string             `json:"stopped"`
	Pool          struct {
		Dials     int64            `json:"dials"`
		Attempts  int64            `json:"attempts"`
		Reused    int64            `json:"reused"`
		PeakOpen  int              `json:"peak_open"`
		Retries   *int64           `json:"retries"`
		Closed    map[string]int64 `json:"closed"`
		WaitCount *int64           `json:"wait_count"`
	} `json:"pool"`
}

// loadOutput is the part of "load --json" output the tests look at.
type loadOutput struct {
	URL            string        `json:"url"`
	EmbeddedServer bool          `json:"embedded_server"`
	Concurrency    int           `json:"concurrency"`
	HistogramUpTo  []float64     `json:"histogram_up_to_ms"`
	Runs           []loadRunJSON `json:"runs"`
}

// runLoadJSON runs "load --json" with args and decodes its output.
func runLoadJSON(t *testing.T, wantCode int, args ...string) loadOutput {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"load", "--json"}, args...)...)
	if code != wantCode {
		t.Fatalf("load %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errOut)
	}
	var res loadOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("load %q: output is not JSON: %v\n%s", args, err, out)
	}
	return res
}

// startTestServer starts a counting demo server for h, closed at the
// test's end.
func startTestServer(t *testing.T, h http.Handler, opt serverOptions) *server {
	t.Helper()
	srv, err := startServer(h, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// checkCleanRun fails t unless run sent want requests, all answered 200.
func checkCleanRun(t *testing.T, run loadRunJSON, want int64) {
	t.Helper()
	if run.Requests != want || run.OK != want || run.OtherStatus != 0 || run.Failed != 0 || run.CutShort != 0 ||
		run.Status["200"] != want || run.StatusClasses["2xx"] != want || run.Stopped != "" {
		t.Errorf("%s: requests %d, ok %d, other status %d, failed %d, cut short %d, status %v %v, stopped %q; want %d all 200",
			run.Client, run.Requests, run.OK, run.OtherStatus, run.Failed, run.CutShort, run.StatusClasses, run.Status, run.Stopped, want)
	}
	for kind, n := range run.Errors {
		if n != 0 {
			t.Errorf("%s: %d errors of kind %s", run.Client, n, kind)
		}
	}
	checkLatencyOrder(t, run)
	sum := int64(0)
	for _, n := range run.Histogram {
		sum += n
	}
	if sum != run.OK {
		t.Errorf("%s: histogram counts %d responses, want %d", run.Client, sum, run.OK)
	}
}

// checkLatencyOrder fails t unless run's latency percentiles are positive
// and in order.
func checkLatencyOrder(t *testing.T, run loadRunJSON) {
	t.Helper()
	order := []string{"min", "p50", "p90", "p95", "p99", "p99.9", "max"}
	for i, k := range order {
		v, ok := run.Latency[k]
		if !ok || v <= 0 || i > 0 && v < run.Latency[order[i-1]] {
			t.Errorf("%s: latency %v: %s missing, zero or out of order (%v)", run.Client, run.Latency, k, order)
			return
		}
	}
}

func TestLoadCounts(t *testing.T) {
	const n, c = 300, 4
	srv := startTestServer(t, okHandler(), serverOptions{})
	res := runLoadJSON(t, exitOK, "-n", "300", "-c", "4", srv.URL+"/")
	if len(res.Runs) != 1 || res.EmbeddedServer || res.Concurrency != c {
		t.Fatalf("runs %d, embedded %v, concurrency %d; want 1 run, not embedded, %d", len(res.Runs), res.EmbeddedServer, res.Concurrency, c)
	}
	run := res.Runs[0]
	checkCleanRun(t, run, n)
	if got := srv.requests.Load(); got != n {
		t.Errorf("the server served %d requests, want %d", got, n)
	}
	if run.Pool.Dials < 1 || run.Pool.Dials > c || int64(srv.Accepted()) != run.Pool.Dials {
		t.Errorf("dials %d, server accepted %d; want the same, 1 to %d", run.Pool.Dials, srv.Accepted(), c)
	}
	if run.Pool.Reused != n-run.Pool.Dials {
		t.Errorf("reused %d, want %d", run.Pool.Reused, n-run.Pool.Dials)
	}
	if run.Pool.PeakOpen < 1 || run.Pool.PeakOpen > c {
		t.Errorf("peak open %d, want 1 to %d", run.Pool.PeakOpen, c)
	}
	if run.Pool.Retries == nil || *run.Pool.Retries != 0 {
		t.Errorf("retries %v, want 0", run.Pool.Retries)
	}
}

func TestLoadEmbeddedServer(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		proto string
		dials int64 // exactly, 0: at most c
	}{
		{nil, "HTTP/1.1", 0},
		{[]string{"--h2c"}, "HTTP/2.0", 1},
		{[]string{"--http2"}, "HTTP/2.0", 1},
	} {
		res := runLoadJSON(t, exitOK, append([]string{"-n", "200", "-c", "3"}, tc.flags...)...)
		if !res.EmbeddedServer || !strings.HasPrefix(res.URL, "http") || !strings.Contains(res.URL, "127.0.0.1:") {
			t.Errorf("%v: url %q, embedded %v; want an embedded loopback server", tc.flags, res.URL, res.EmbeddedServer)
		}
		run := res.Runs[0]
		checkCleanRun(t, run, 200)
		if run.Protocols[tc.proto] != 200 {
			t.Errorf("%v: protocols %v, want %s for all", tc.flags, run.Protocols, tc.proto)
		}
		if tc.dials > 0 && run.Pool.Dials != tc.dials || run.Pool.Dials > 3 {
			t.Errorf("%v: %d dials, want %d (at most 3)", tc.flags, run.Pool.Dials, tc.dials)
		}
	}
}

func TestLoadDuration(t *testing.T) {
	const d = 300 * time.Millisecond
	res := runLoadJSON(t, exitOK, "-d", "300ms", "-c", "2")
	run := res.Runs[0]
	if run.Requests < 1 || run.Failed != 0 || run.Stopped != "" {
		t.Errorf("requests %d, failed %d, stopped %q; want some, none failed", run.Requests, run.Failed, run.Stopped)
	}
	if elapsed := time.Duration(run.ElapsedMS * float64(time.Millisecond)); elapsed < d || elapsed > d+5*time.Second {
		t.Errorf("ran for %s, want %s and a little more", elapsed, d)
	}
}

func TestLoadText(t *testing.T) {
	code, out, errOut := runCLI("load", "-n", "100", "-c", "2")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"httppool load: GET http://127.0.0.1:", "(embedded server), 100 requests, 2 at once",
		"requests  100 in ", "req/s; 100 OK (2xx), 0 other status, 0 failed", "latency   p50 ", ", p95 ", ", p99.9 ",
		"status    2xx 100 (200: 100)", "received  300 B of response bodies, ",
		"protocol  HTTP/1.1: 100", "errors    none", "latency histogram", "■",
		"what the pool did (Transport.Stats)", "connections dialed", "reuse ratio", "retries             0",
		"closed, by reason   none", "peak open",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal: no progress bar, which redraws with carriage returns.
	if strings.Contains(out+errOut, "\r") {
		t.Errorf("progress bar drawn to a buffer:\n%q", out+errOut)
	}
}

func TestLoadCompare(t *testing.T) {
	srv := startTestServer(t, okHandler(), serverOptions{})
	code, out, errOut := runCLI("load", "--compare", "-n", "200", "-c", "3", srv.URL+"/")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	header := ""
	for _, l := range lines {
		if strings.Contains(l, "httppool") && strings.Contains(l, "net/http") && !strings.Contains(l, "vs") {
			header = l
			break
		}
	}
	if header == "" || strings.Index(header, "httppool") > strings.Index(header, "net/http") {
		t.Fatalf("no header with the httppool column then the net/http one:\n%s", out)
	}
	for _, want := range []string{"OK / other / failed  200 / 0 / 0", "latency p99.9", "throughput", "connections dialed", "retries", "n/a", "httppool vs net/http: requests/s "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := srv.requests.Load(); got != 400 {
		t.Errorf("the server served %d requests, want 200 per client", got)
	}

	res := runLoadJSON(t, exitOK, "--compare", "-n", "200", "-c", "3", srv.URL+"/")
	if len(res.Runs) != 2 || res.Runs[0].Client != "httppool" || res.Runs[1].Client != "net/http" {
		t.Fatalf("runs %+v, want httppool then net/http", res.Runs)
	}
	for _, run := range res.Runs {
		checkCleanRun(t, run, 200)
		if run.Pool.Dials < 1 {
			t.Errorf("%s: %d dials, want some", run.Client, run.Pool.Dials)
		}
	}
	if std := res.Runs[1].Pool; std.Retries != nil || std.Closed != nil {
		t.Errorf("net/http: retries %v, closed %v; want null: net/http does not tell", std.Retries, std.Closed)
	}
}

func TestLoadPoolFlags(t *testing.T) {
	srv := startTestServer(t, slowHandler(2*time.Millisecond), serverOptions{})
	res := runLoadJSON(t, exitOK, "--max-conns-per-host", "2", "-c", "8", "-n", "80", srv.URL+"/")
	run := res.Runs[0]
	checkCleanRun(t, run, 80)
	if run.Pool.Dials > 2 || srv.MaxOpen() > 2 {
		t.Errorf("--max-conns-per-host 2: %d dials, %d open at once at the server; want at most 2", run.Pool.Dials, srv.MaxOpen())
	}
	if run.Pool.WaitCount == nil || *run.Pool.WaitCount == 0 {
		t.Errorf("--max-conns-per-host 2 with -c 8: wait count %v, want some", run.Pool.WaitCount)
	}

	res = runLoadJSON(t, exitOK, "--no-pool", "-c", "2", "-n", "20", srv.URL+"/")
	run = res.Runs[0]
	checkCleanRun(t, run, 20)
	if run.Pool.Dials != 20 || run.Pool.Closed["keep_alives_disabled"] != 20 {
		t.Errorf("--no-pool: %d dials, closed %v; want 20 and 20 keep_alives_disabled", run.Pool.Dials, run.Pool.Closed)
	}

	res = runLoadJSON(t, exitOK, "--idle-timeout", "1ms", "--max-idle-per-host", "1", "-c", "1", "-n", "5", srv.URL+"/")
	checkCleanRun(t, res.Runs[0], 5)
}

func TestLoadRequestShape(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host+" "+r.Header.Get("X-Test")+" "+string(body))
		mu.Unlock()
	})
	srv := startTestServer(t, h, serverOptions{})
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, []byte("from file"), 0o600); err != nil {
		t.Fatal(err)
	}
	runLoadJSON(t, exitOK, "-m", "POST", "-H", "X-Test: yes", "-H", "Host: example.test", "-body", "hello", "-n", "3", "-c", "1", srv.URL+"/")
	runLoadJSON(t, exitOK, srv.URL+"/", "-m", "PUT", "-body-file", file, "-n", "2", "-c", "1") // flags after the URL
	want := []string{
		"POST example.test yes hello", "POST example.test yes hello", "POST example.test yes hello",
		"PUT " + srv.Addr + "  from file", "PUT " + srv.Addr + "  from file",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the server saw:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadHTTP2Required(t *testing.T) {
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := startTestServer(t, okHandler(), serverOptions{tls: tlsServer}) // HTTP/1.1 only
	res := runLoadJSON(t, exitFailed, "--http2", "--insecure", "-n", "50", "-c", "1", srv.URL+"/")
	run := res.Runs[0]
	if !strings.Contains(run.Stopped, "--http2 requires HTTP/2") || run.Requests > 2 {
		t.Errorf("stopped %q after %d requests; want a stop for --http2 at the first", run.Stopped, run.Requests)
	}
	// Without --http2 the same server is fine over HTTP/1.1.
	res = runLoadJSON(t, exitOK, "--insecure", "-n", "20", "-c", "2", srv.URL+"/")
	if run := res.Runs[0]; run.Protocols["HTTP/1.1"] != 20 {
		t.Errorf("protocols %v, want HTTP/1.1 for all", run.Protocols)
	}
	// Without --insecure the self-signed certificate is refused.
	res = runLoadJSON(t, exitFailed, "-n", "3", "-c", "1", srv.URL+"/")
	if run := res.Runs[0]; run.Errors["tls"] != 3 {
		t.Errorf("errors %v, want 3 of kind tls", run.Errors)
	}
}

// closedPortURL returns the URL of a loopback port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

func TestLoadUnreachable(t *testing.T) {
	url := closedPortURL(t)
	code, out, errOut := runCLI("load", "-n", "1000", "-c", "2", url)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, out, errOut)
	}
	if !strings.Contains(errOut, "requests failed; the run stopped early") {
		t.Errorf("stderr does not say why the exit status is 1:\n%s", errOut)
	}
	for _, want := range []string{"\nstopped ", "the first 10 requests to end all failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`\nerrors +connection refused \d+\n`).MatchString(out) {
		t.Errorf("stdout lacks the errors by kind:\n%s", out)
	}
	if n := strings.Count(out+errOut, "connect: connection refused"); n != 1 {
		t.Errorf("the error is printed %d times, want once:\nstdout:\n%s\nstderr:\n%s", n, out, errOut)
	}

	// The figures of a stopped run agree: every request sent is counted,
	// and each was one attempt on one failed dial.
	res := runLoadJSON(t, exitFailed, "-n", "1000", "-c", "4", url)
	run := res.Runs[0]
	if run.Stopped == "" || run.Failed < 10 || run.Requests != run.Failed || run.OK+run.OtherStatus+run.CutShort != 0 {
		t.Errorf("requests %d, failed %d, ok %d, other %d, cut short %d, stopped %q; want a stop after 10 to 13 requests, all failed",
			run.Requests, run.Failed, run.OK, run.OtherStatus, run.CutShort, run.Stopped)
	}
	if run.Failed > 10+3 {
		t.Errorf("%d requests failed; want at most 10 and the 3 others in flight then", run.Failed)
	}
	if run.Pool.Attempts != run.Requests || run.Pool.Dials != run.Requests {
		t.Errorf("requests %d, attempts %d, dials %d; want the same", run.Requests, run.Pool.Attempts, run.Pool.Dials)
	}
}

// statusHandler answers every request with code and the body "nope\n",
// except those whose path is /ok, answered 200.
func statusHandler(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(code)
		}
		io.WriteString(w, "nope\n")
	})
}

func TestLoadStatusNotAccepted(t *testing.T) {
	srv := startTestServer(t, statusHandler(http.StatusNotFound), serverOptions{})
	code, out, errOut := runCLI("load", "-n", "50", "-c", "2", srv.URL+"/missing")
	t.Logf("httppool load -n 50 -c 2 %s/missing: exit %d\nstdout:\n%s\nstderr:\n%s", srv.URL, code, out, errOut)
	if code != exitFailed {
		t.Errorf("exit %d, want %d: a 404 is not OK by default", code, exitFailed)
	}
	for _, want := range []string{
		"requests  50 in ", "req/s; 0 OK (2xx), 50 other status, 0 failed",
		"status    4xx 50 (404: 50)", "received  250 B of response bodies, ", "errors    none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "50 of 50 responses had a status outside 2xx") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr is not one line saying the statuses were not accepted:\n%s", errOut)
	}

	res := runLoadJSON(t, exitFailed, "-n", "50", "-c", "2", srv.URL+"/missing")
	run := res.Runs[0]
	if run.Requests != 50 || run.OK != 0 || run.OtherStatus != 50 || run.Failed != 0 || run.AcceptStatus != "2xx" ||
		run.StatusClasses["4xx"] != 50 || run.Status["404"] != 50 || run.BytesReceived != 250 || run.Stopped != "" {
		t.Errorf("run %+v; want 50 requests, all other status 404 (4xx), 250 bytes, no stop", run)
	}
	checkLatencyOrder(t, run)

	// Accepted by class or by code, the same statuses make a clean run.
	for _, accept := range []string{"2xx,404", "4xx"} {
		res := runLoadJSON(t, exitOK, "--accept-status", accept, "-n", "20", "-c", "2", srv.URL+"/missing")
		if run := res.Runs[0]; run.OK != 20 || run.OtherStatus != 0 || run.AcceptStatus != accept {
			t.Errorf("--accept-status %s: ok %d, other %d, accept %q; want 20 OK", accept, run.OK, run.OtherStatus, run.AcceptStatus)
		}
	}
	// Accepting only 404 makes a 200 the status not accepted.
	res = runLoadJSON(t, exitFailed, "--accept-status", "404", "-n", "20", "-c", "2", srv.URL+"/ok")
	if run := res.Runs[0]; run.OK != 0 || run.OtherStatus != 20 || run.StatusClasses["2xx"] != 20 {
		t.Errorf("--accept-status 404 against 200s: ok %d, other %d, classes %v; want 20 other", run.OK, run.OtherStatus, run.StatusClasses)
	}
}

func TestLoadStatusClassesMixed(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusNotImplemented)
		case 2:
			w.WriteHeader(http.StatusFound)
		case 3:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	srv := startTestServer(t, h, serverOptions{})
	res := runLoadJSON(t, exitFailed, "-n", "40", "-c", "1", srv.URL+"/")
	run := res.Runs[0]
	want := map[string]int64{"2xx": 10, "3xx": 10, "4xx": 10, "5xx": 10}
	if !maps.Equal(run.StatusClasses, want) || run.OK != 10 || run.OtherStatus != 30 {
		t.Errorf("classes %v, ok %d, other %d; want 10 of each class, 10 OK", run.StatusClasses, run.OK, run.OtherStatus)
	}
	if len(run.Histogram) == 0 || sum(run.Histogram) != 40 {
		t.Errorf("histogram %v, want the 40 responses of every status", run.Histogram)
	}
}

// sum adds counts up.
func sum(counts []int64) int64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	return total
}

func TestLoadRate(t *testing.T) {
	const n, rate = 11, 100
	srv := startTestServer(t, okHandler(), serverOptions{})
	res := runLoadJSON(t, exitOK, "-q", "100", "-n", "11", "-c", "4", srv.URL+"/")
	run := res.Runs[0]
	checkCleanRun(t, run, n)
	// The pacer sends the last of n requests (n-1)/rate after the first: a
	// lower bound that holds however slow the machine.
	if min := (n - 1) * time.Second / rate; time.Duration(run.ElapsedMS*float64(time.Millisecond)) < min {
		t.Errorf("%d requests at -q %d took %.1fms, want at least %s", n, rate, run.ElapsedMS, min)
	}
}

func TestLoadUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--bogus"}, "flag provided but not defined"},
		{[]string{"-n", "0"}, "-n must be at least 1"},
		{[]string{"-n", "x"}, "invalid value"},
		{[]string{"-c", "0"}, "-c must be at least 1"},
		{[]string{"-q", "-1"}, "-q must be from 0"},
		{[]string{"-q", "2e6"}, "-q must be from 0"},
		{[]string{"-q", "NaN"}, "-q must be from 0"},
		{[]string{"--accept-status", "2xx,abc"}, `"abc" is neither a status class`},
		{[]string{"--accept-status", "600"}, `"600" is neither`},
		{[]string{"--accept-status", "6xx"}, `"6xx" is neither`},
		{[]string{"-d", "-1s"}, "-d must not be negative"},
		{[]string{"-t", "0s"}, "-t must be positive"},
		{[]string{"-H", "no colon"}, `not of the form "Name: value"`},
		{[]string{"-body", "a", "-body-file", "b"}, "exclude each other"},
		{[]string{"-body-file", "/nonexistent/body"}, "-body-file:"},
		{[]string{"--http1", "--http2"}, "--http1 excludes"},
		{[]string{"--http2", "http://127.0.0.1:1/"}, "--http2 needs an https URL"},
		{[]string{"--h2c", "https://127.0.0.1:1/"}, "--h2c needs an http URL"},
		{[]string{"--http3", "http://127.0.0.1:1/"}, "--http3 needs an https URL"},
		{[]string{"--http3", "--http2"}, "--http3 excludes --http2 and --h2c"},
		{[]string{"--http3", "--h2c"}, "--http3 excludes --http2 and --h2c"},
		{[]string{"--http3", "--no-pool"}, "--http3 needs the pool"},
		{[]string{"ftp://127.0.0.1/"}, "the scheme must be http or https"},
		{[]string{"http://a/", "http://b/"}, "one URL at most"},
		{[]string{"-m", "BAD METHOD"}, "invalid method"},
	} {
		code, out, errOut := runCLI(append([]string{"load"}, tc.args...)...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %s", tc.args, out)
		}
		if !strings.Contains(errOut, tc.wantErr) || !strings.Contains(errOut, "Usage: httppool load") {
			t.Errorf("%q: stderr lacks %q and usage:\n%s", tc.args, tc.wantErr, errOut)
		}
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"load", "--help"}, []string{"Usage: httppool load", "-n N", "-d DURATION", "-q RATE", "--accept-status LIST", "--compare", "--no-pool",
			"--http3", "net/http has no HTTP/3",
			"Examples:", "Exit status", "A run stops early", "max(10, -c)", "cut short"}},
		{[]string{"help", "load"}, []string{"Usage: httppool load"}},
		{[]string{"get", "-h"}, []string{"Usage: httppool get", "-r N", "-X METHOD", "-d, --data", "-i ", "-o FILE", "--insecure", "--json", "Examples:", "Exit status"}},
		{[]string{"help", "get"}, []string{"Usage: httppool get"}},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitOK || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", tc.args, code, errOut)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q:\n%s", tc.args, want, out)
			}
		}
	}
}

func TestLoadInterrupted(t *testing.T) {
	var served, blocked atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) <= 3 {
			return
		}
		blocked.Add(1)
		<-r.Context().Done() // held until the client gives up
	})
	srv := startTestServer(t, h, serverOptions{})
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	go func() {
		if waitFor(ctx, 10*time.Second, func() bool { return blocked.Load() == 2 }) {
			interrupt()
		}
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"load", "--json", "-n", "100", "-c", "2", srv.URL + "/"}, &stdout, &stderr)
	if code != exitFailed || stderr.String() != "httppool load: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 1 and one line saying it was interrupted", code, stderr.String())
	}
	var res loadOutput
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	run := res.Runs[0]
	if run.Requests != 5 || run.OK != 3 || run.CutShort != 2 || run.Failed != 0 || run.Stopped != "interrupted" {
		t.Errorf("requests %d: ok %d, cut short %d, failed %d, stopped %q; want 5: 3 OK and the 2 in flight cut short by the interrupt",
			run.Requests, run.OK, run.CutShort, run.Failed, run.Stopped)
	}
	if run.Pool.Attempts != run.Requests {
		t.Errorf("%d attempts for %d requests; want the same", run.Pool.Attempts, run.Requests)
	}
}
