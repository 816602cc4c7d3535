package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/httppool/httppool"
)

// getOptions is the command line of "httppool get".
type getOptions struct {
	urls     []string
	repeat   int
	headers  headerFlag
	insecure bool
	asJSON   bool
	timeout  time.Duration
}

// runGetCommand runs "httppool get" with the arguments after "get".
func runGetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt := &getOptions{}
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.IntVar(&opt.repeat, "r", 1, "times to fetch each URL")
	fs.Var(&opt.headers, "H", "header")
	fs.BoolVar(&opt.insecure, "insecure", false, "skip certificate verification")
	fs.BoolVar(&opt.asJSON, "json", false, "print JSON")
	fs.DurationVar(&opt.timeout, "t", defaultRequestTimeout, "timeout of each request")
	positional, code, done := parseFlags(fs, args, getUsage, stdout, stderr)
	if done {
		return code
	}
	switch {
	case len(positional) == 0:
		return usageError(stderr, "get", getUsage, "no URL given")
	case opt.repeat < 1:
		return usageError(stderr, "get", getUsage, fmt.Sprintf("-r must be at least 1, got %d", opt.repeat))
	case opt.timeout <= 0:
		return usageError(stderr, "get", getUsage, fmt.Sprintf("-t must be positive, got %s", opt.timeout))
	}
	for _, s := range positional {
		u, err := parseTarget(s)
		if err != nil {
			return usageError(stderr, "get", getUsage, err.Error())
		}
		opt.urls = append(opt.urls, u.String())
	}
	return get(ctx, opt, stdout, stderr)
}

// getJSON is the output of "get --json".
type getJSON struct {
	Requests []getRecord `json:"requests"`
	Pool     statsJSON   `json:"pool"` // the Transport's Stats after the last request
}

// get fetches each URL opt.repeat times, in turn, through one Transport,
// and reports each request on stdout as it ends.
func get(ctx context.Context, opt *getOptions, stdout, stderr io.Writer) int {
	t := httppool.New(httppool.Config{TLSClientConfig: &tls.Config{InsecureSkipVerify: opt.insecure}})
	defer t.Close()
	client := &http.Client{
		Transport: t,
		Timeout:   opt.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if !opt.asJSON {
		writeGetHeader(stdout)
	}
	var records []getRecord
	failed := 0
	for range opt.repeat {
		for _, u := range opt.urls {
			if ctx.Err() != nil {
				break
			}
			rec := getOne(ctx, client, u, &opt.headers)
			rec.N = len(records) + 1
			if rec.Error != "" {
				failed++
			}
			records = append(records, rec)
			if !opt.asJSON {
				writeGetLine(stdout, rec)
			}
		}
	}
	st := newStatsJSON(t.Stats())
	if opt.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(getJSON{Requests: records, Pool: st}); err != nil {
			fmt.Fprintf(stderr, "%s get: %v\n", programName, err)
			return exitFailed
		}
	} else {
		fmt.Fprintf(stdout, "\npool: %s\n", &st)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "%s get: interrupted\n", programName)
		return exitFailed
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%s get: %d of %d requests failed\n", programName, failed, len(records))
		return exitFailed
	}
	return exitOK
}

// getOne fetches u, reads the body to its end and returns what it saw.
func getOne(ctx context.Context, client *http.Client, u string, headers *headerFlag) getRecord {
	tm := &timings{}
	req, err := http.NewRequestWithContext(tm.withTrace(ctx), http.MethodGet, u, nil)
	if err != nil {
		return getRecord{URL: u, Error: err.Error()}
	}
	headers.apply(req)
	tm.start = time.Now()
	resp, err := client.Do(req)
	var n int64
	if err == nil {
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	rec := tm.record(time.Since(tm.start))
	rec.URL = u
	rec.BodyBytes = n
	if resp != nil {
		rec.Status, rec.Proto = resp.StatusCode, resp.Proto
	}
	if err != nil {
		rec.Error = fmt.Sprintf("%s: %v", errorKindLabels[errorKind(err)], err)
	}
	return rec
}

// getUsage prints the help of "httppool get".
func getUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s get [flags] URL...

Fetches each URL through one httppool Transport and prints, per request, the
status, the protocol, the connection (its local address), whether it was
reused and how long it had been idle, and the timings: DNS, connect, TLS,
first byte, total. Like curl -w, but showing the pool. With -r, the URLs are
fetched in turn, N rounds. Redirects are not followed. The line at the end is
the Transport's Stats. "?" marks what the Transport did not report through
httptrace's GotConn hook.

Flags:
  -r N              fetch each URL N times (default 1)
  -H "Name: value"  add a request header; repeatable ("Host: x" sets the Host)
  -t DURATION       timeout of each request (default %[2]s)
  --insecure        do not verify the server's certificate
  --json            print {requests: [...], pool: {...}} as JSON
  -h, --help        show this help

Exit status: 0 when every request got a response (of any status), 1 when one
failed, 2 for a usage error.

Examples:
  %[1]s get -r 3 https://example.com/       # the 2nd and 3rd reuse the connection
  %[1]s get http://127.0.0.1:8080/a http://localhost:8080/b
  %[1]s get --json -r 2 https://localhost:8443/ --insecure | jq '.requests[].reused'
`, programName, defaultRequestTimeout)
}
