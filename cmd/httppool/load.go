package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// loadOptions is the command line of "httppool load".
type loadOptions struct {
	target *url.URL // nil: an embedded loopback server

	n        int           // requests to send; 0 when only -d bounds the run
	d        time.Duration // how long to send; 0 when only -n bounds the run
	c        int           // concurrent workers
	rate     float64       // requests per second across the workers; 0: no limit
	accept   statusSet     // the statuses counted as OK
	method   string
	headers  headerFlag
	body     []byte // nil: no body
	timeout  time.Duration
	compare  bool
	asJSON   bool
	progress bool // show a live progress bar on stderr

	http2    bool // require HTTP/2 (https)
	http3    bool // HTTP/3 where the server offers it (https)
	http1    bool // never HTTP/2
	h2c      bool // HTTP/2 with prior knowledge on http://
	insecure bool

	idleTimeout     time.Duration
	maxIdlePerHost  int
	maxConnsPerHost int
	noPool          bool
}

// Defaults of "httppool load".
const (
	defaultLoadRequests    = 1000
	defaultLoadConcurrency = 16
	defaultRequestTimeout  = 20 * time.Second
)

// runLoadCommand runs "httppool load" with the arguments after "load".
func runLoadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt, code, done := parseLoadFlags(args, stdout, stderr)
	if done {
		return code
	}
	opt.progress = isTerminal(stderr)
	return load(ctx, opt, stdout, stderr)
}

// parseLoadFlags turns the command line into loadOptions. done is true when
// the command should return code at once: for --help or a usage error.
func parseLoadFlags(args []string, stdout, stderr io.Writer) (opt *loadOptions, code int, done bool) {
	opt = &loadOptions{}
	if err := opt.accept.Set(defaultAcceptStatus); err != nil {
		panic(err)
	}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.IntVar(&opt.n, "n", defaultLoadRequests, "requests to send")
	fs.DurationVar(&opt.d, "d", 0, "send requests for this long")
	fs.IntVar(&opt.c, "c", defaultLoadConcurrency, "concurrent requests")
	fs.Float64Var(&opt.rate, "q", 0, "requests per second")
	fs.Var(&opt.accept, "accept-status", "statuses counted as OK")
	fs.StringVar(&opt.method, "m", "GET", "method")
	fs.Var(&opt.headers, "H", "header")
	body := fs.String("body", "", "request body")
	bodyFile := fs.String("body-file", "", "file holding the request body")
	fs.DurationVar(&opt.timeout, "t", defaultRequestTimeout, "timeout of each request")
	fs.BoolVar(&opt.compare, "compare", false, "also run through net/http.Transport")
	fs.BoolVar(&opt.asJSON, "json", false, "print JSON")
	fs.BoolVar(&opt.http2, "http2", false, "require HTTP/2")
	fs.BoolVar(&opt.http3, "http3", false, "HTTP/3 where the server offers it")
	fs.BoolVar(&opt.http1, "http1", false, "never HTTP/2")
	fs.BoolVar(&opt.h2c, "h2c", false, "HTTP/2 over cleartext")
	fs.BoolVar(&opt.insecure, "insecure", false, "skip certificate verification")
	fs.DurationVar(&opt.idleTimeout, "idle-timeout", 0, "pool idle timeout")
	fs.IntVar(&opt.maxIdlePerHost, "max-idle-per-host", 0, "pool max idle per host")
	fs.IntVar(&opt.maxConnsPerHost, "max-conns-per-host", 0, "pool max conns per host")
	fs.BoolVar(&opt.noPool, "no-pool", false, "disable pooling")
	positional, code, done := parseFlags(fs, args, loadUsage, stdout, stderr)
	if done {
		return nil, code, true
	}
	fail := func(format string, args ...any) (*loadOptions, int, bool) {
		return nil, usageError(stderr, "load", loadUsage, fmt.Sprintf(format, args...)), true
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case len(positional) > 1:
		return fail("one URL at most, got %d", len(positional))
	case opt.n < 1:
		return fail("-n must be at least 1, got %d", opt.n)
	case opt.d < 0:
		return fail("-d must not be negative, got %s", opt.d)
	case opt.c < 1:
		return fail("-c must be at least 1, got %d", opt.c)
	case !(opt.rate >= 0 && opt.rate <= maxRate):
		return fail("-q must be from 0 (no limit) to %d requests per second, got %v", maxRate, opt.rate)
	case opt.timeout <= 0:
		return fail("-t must be positive, got %s", opt.timeout)
	case opt.maxIdlePerHost < 0 || opt.maxConnsPerHost < 0:
		return fail("--max-idle-per-host and --max-conns-per-host must not be negative")
	case opt.method == "":
		return fail("-m must name a method")
	case set["body"] && set["body-file"]:
		return fail("-body and -body-file exclude each other")
	case opt.http1 && (opt.http2 || opt.h2c):
		return fail("--http1 excludes --http2 and --h2c")
	case opt.http2 && opt.h2c:
		return fail("--http2 is for https URLs, --h2c for http URLs: give one")
	case opt.http3 && (opt.http2 || opt.h2c):
		return fail("--http3 excludes --http2 and --h2c: its responses come over HTTP/3 once the server offered it")
	case opt.http3 && opt.noPool:
		return fail("--http3 needs the pool: with --no-pool the Transport does not use HTTP/3")
	}
	if opt.d > 0 && !set["n"] {
		opt.n = 0 // -d alone: the duration bounds the run
	}
	if len(positional) == 1 {
		u, err := parseTarget(positional[0])
		if err != nil {
			return fail("%v", err)
		}
		switch {
		case opt.http2 && u.Scheme != "https":
			return fail("--http2 needs an https URL; for cleartext HTTP/2 use --h2c")
		case opt.h2c && u.Scheme != "http":
			return fail("--h2c needs an http URL; https negotiates HTTP/2 by itself")
		case opt.http3 && u.Scheme != "https":
			return fail("--http3 needs an https URL")
		}
		opt.target = u
	}
	switch {
	case set["body"]:
		opt.body = []byte(*body)
	case set["body-file"]:
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return fail("-body-file: %v", err)
		}
		opt.body = b
	}
	return opt, exitOK, false
}

// load runs the load described by opt, through httppool and then, with
// --compare, through net/http, and reports on stdout.
func load(ctx context.Context, opt *loadOptions, stdout, stderr io.Writer) int {
	var embedded *embeddedServer
	h := loadHeader{method: opt.method, c: opt.c, n: int64(opt.n), d: opt.d}
	if opt.target == nil {
		var err error
		if embedded, err = startEmbedded(opt.http2, opt.http3); err != nil {
			fmt.Fprintf(stderr, "%s load: %v\n", programName, err)
			return exitFailed
		}
		defer embedded.Close()
		h.url, h.embedded = embedded.URL, true
	} else {
		h.url = opt.target.String()
	}
	plan := runPlan{
		n: int64(opt.n), d: opt.d, c: opt.c, rate: opt.rate, accept: &opt.accept, requireH2: opt.http2,
		newRequest: func(ctx context.Context) (*http.Request, error) { return opt.newRequest(ctx, h.url) },
	}
	if _, err := plan.newRequest(ctx); err != nil {
		return usageError(stderr, "load", loadUsage, err.Error())
	}
	if opt.progress {
		plan.progress = stderr
	}
	clients := []func(*embeddedServer) *loadClient{opt.poolClient}
	if opt.compare {
		clients = append(clients, opt.stdClient)
	}
	var runs []*runResult
	for _, newClient := range clients {
		lc := newClient(embedded)
		runs = append(runs, runLoad(ctx, lc, plan))
		lc.close()
		if ctx.Err() != nil {
			break
		}
	}
	if opt.asJSON {
		if err := writeLoadJSON(stdout, h, runs); err != nil {
			fmt.Fprintf(stderr, "%s load: %v\n", programName, err)
			return exitFailed
		}
	} else {
		writeLoadText(stdout, h, runs)
	}
	code := exitOK
	for _, r := range runs {
		problem := r.problem()
		if problem == "" {
			continue
		}
		if len(runs) > 1 {
			problem = r.client + " run: " + problem
		}
		fmt.Fprintf(stderr, "%s load: %s\n", programName, problem)
		code = exitFailed
	}
	return code
}

// problem says in one line why run r makes the exit status 1, "" when it
// does not: failed requests, statuses not accepted, an early stop. The
// errors themselves are in the report.
func (r *runResult) problem() string {
	var parts []string
	if r.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d requests failed", r.failed, r.requests()))
	}
	if r.otherStatus > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d responses had a status outside %s (--accept-status accepts others)",
			r.otherStatus, r.ok+r.otherStatus, r.accepted))
	}
	switch r.stopped {
	case "":
	case stoppedInterrupted:
		parts = append(parts, "interrupted")
	default:
		parts = append(parts, "the run stopped early (see the report)")
	}
	return strings.Join(parts, "; ")
}

// newRequest returns one request of the load for target.
func (o *loadOptions) newRequest(ctx context.Context, target string) (*http.Request, error) {
	var body io.Reader
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, target, body)
	if err != nil {
		return nil, err
	}
	o.headers.apply(req)
	return req, nil
}

// loadUsage prints the help of "httppool load".
func loadUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s load [flags] [URL]

Sends requests through an httppool Transport and reports requests/s, latency
percentiles and a histogram, statuses by class and code, bytes received and
throughput, errors by kind, and what the pool did: connections dialed, reuse
ratio, retries, closes by reason, peak open. Without URL it loads an embedded
server on 127.0.0.1 (HTTP/1.1 and h2c; HTTPS with HTTP/2 under --http2; under
--http3 also HTTP/3 on the same port over UDP, announced by Alt-Svc).
Redirects are not followed. A progress bar is shown on stderr when it is a
terminal.

Every request sent is counted once, as one of: OK (a response whose status
--accept-status accepts, 2xx by default), other status (any other response),
failed (no response: refused, reset, timed out...) or cut short (in flight
when the run was interrupted). Latencies and bytes are those of every
response, OK or not.

A run stops early, with exit status 1, when its first max(10, -c) requests to
end all failed (a server that is down should not take the whole -n or -d to
say so) or, with --http2, at the first response that is not HTTP/2. No request
is started after that; those in flight are let finish and counted.

Flags:
  -n N                   send N requests (default %[2]d); with -d, stop at whichever comes first
  -d DURATION            send requests for DURATION (e.g. 10s) instead of -n
  -c N                   N requests at once (default %[3]d)
  -q RATE                send at most RATE requests per second, all workers together
                         (default: no limit); -c must be large enough to keep up
  --accept-status LIST   statuses counted as OK: classes and codes, e.g. 2xx,404
                         (default %[5]s); any other status makes the exit status 1
  -m METHOD              request method (default GET)
  -H "Name: value"       add a request header; repeatable ("Host: x" sets the Host)
  -body TEXT             request body
  -body-file FILE        request body read from FILE
  -t DURATION            timeout of each request (default %[4]s)
  --http2                require HTTP/2 (https URLs): stop if the server answers HTTP/1.1
  --http1                never use HTTP/2
  --h2c                  HTTP/2 over cleartext with prior knowledge (http URLs)
  --http3                HTTP/3 (https URLs) with the module github.com/httppool/httppool/http3:
                         the first responses come over TCP; once one offers h3 in Alt-Svc, the
                         pool dials QUIC and the next requests use it. The protocol line shows
                         the share of each; what the pool did shows its HTTP/3 connections and
                         whether it marked HTTP/3 broken (UDP blocked)
  --insecure             do not verify the server's certificate
  --idle-timeout D       Config.IdleTimeout: close connections idle for D (default 90s)
  --max-idle-per-host N  Config.MaxIdlePerHost (default: no limit)
  --max-conns-per-host N Config.MaxConnsPerHost: requests over it wait (default: no limit)
  --no-pool              Config.DisableKeepAlives: one connection per request
  --compare              then send the same load through net/http.Transport (same
                         settings, MaxIdleConnsPerHost = -c unless given) and compare;
                         net/http has no HTTP/3: under --http3 it runs over TCP, as the
                         report says
  --json                 print the results as JSON
  -h, --help             show this help

Exit status: 0 when every request got a response with an accepted status, 1
when a request failed, a status was not accepted or the run stopped early or
was interrupted, 2 for a usage error.

Examples:
  %[1]s load                                  # 1000 requests to an embedded server
  %[1]s load --compare -n 20000 -c 32         # httppool and net/http side by side
  %[1]s load -d 10s -c 64 https://localhost:8443/api
  %[1]s load -d 30s -q 500 http://127.0.0.1:8080/   # a steady 500 requests/s
  %[1]s load --accept-status 2xx,404 http://127.0.0.1:8080/maybe
  %[1]s load -m POST -H "Content-Type: application/json" -body '{"a":1}' http://127.0.0.1:8080/items
  %[1]s load --max-conns-per-host 4 -c 32 http://127.0.0.1:8080/
  %[1]s load --http3 -n 5000 -c 64 https://localhost:8443/   # HTTP/3 once Alt-Svc offers it
  %[1]s load --json -n 500 | jq '.runs[0].pool'
`, programName, defaultLoadRequests, defaultLoadConcurrency, defaultRequestTimeout, defaultAcceptStatus)
}
