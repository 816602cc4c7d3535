package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/httppool/httppool"
)

// getOptions is the command line of "httppool get".
type getOptions struct {
	urls     []string
	repeat   int
	method   string
	headers  headerFlag
	data     []byte // the request body; nil: none
	include  bool   // show each response's headers
	output   string // the file that gets the response bodies; "": none
	insecure bool
	asJSON   bool
	timeout  time.Duration
}

// runGetCommand runs "httppool get" with the arguments after "get".
func runGetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt := &getOptions{}
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.IntVar(&opt.repeat, "r", 1, "times to fetch each URL")
	fs.StringVar(&opt.method, "X", "", "method")
	fs.Var(&opt.headers, "H", "header")
	data := fs.String("d", "", "request body")
	fs.StringVar(data, "data", "", "request body")
	fs.BoolVar(&opt.include, "i", false, "show response headers")
	fs.StringVar(&opt.output, "o", "", "write response bodies to this file")
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
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["d"] || set["data"] {
		var err error
		if opt.data, err = readData(*data); err != nil {
			return usageError(stderr, "get", getUsage, "-d: "+err.Error())
		}
	}
	if opt.method == "" {
		opt.method = http.MethodGet
		if opt.data != nil {
			opt.method = http.MethodPost // as curl does
		}
	}
	for _, s := range positional {
		u, err := parseTarget(s)
		if err != nil {
			return usageError(stderr, "get", getUsage, err.Error())
		}
		opt.urls = append(opt.urls, u.String())
	}
	if _, err := opt.newRequest(ctx, opt.urls[0]); err != nil {
		return usageError(stderr, "get", getUsage, err.Error())
	}
	return get(ctx, opt, stdout, stderr)
}

// readData returns the body -d gives: its text, or with a leading "@" the
// contents of the file it names, sent as they are.
func readData(arg string) ([]byte, error) {
	name, isFile := strings.CutPrefix(arg, "@")
	if !isFile {
		return []byte(arg), nil
	}
	return os.ReadFile(name)
}

// newRequest returns one request of get for u: the method, the body and
// the headers of the command line. A body without a Content-Type header is
// sent as a form, application/x-www-form-urlencoded, as curl does.
func (o *getOptions) newRequest(ctx context.Context, u string) (*http.Request, error) {
	var body io.Reader
	if o.data != nil {
		body = bytes.NewReader(o.data)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, u, body)
	if err != nil {
		return nil, err
	}
	o.headers.apply(req)
	if o.data != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req, nil
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
	bodies := io.Discard
	if opt.output != "" {
		f, err := os.Create(opt.output)
		if err != nil {
			fmt.Fprintf(stderr, "%s get: %v\n", programName, err)
			return exitFailed
		}
		defer f.Close()
		bodies = f
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
			rec := opt.getOne(ctx, client, u, bodies)
			rec.N = len(records) + 1
			if rec.Error != "" {
				failed++
			}
			records = append(records, rec)
			if !opt.asJSON {
				writeGetLine(stdout, rec, opt.include)
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

// getOne fetches u, copies the body to bodies and returns what it saw.
func (o *getOptions) getOne(ctx context.Context, client *http.Client, u string, bodies io.Writer) getRecord {
	tm := &timings{}
	req, err := o.newRequest(tm.withTrace(ctx), u)
	if err != nil {
		return getRecord{URL: u, Error: err.Error()}
	}
	tm.start = time.Now()
	resp, err := client.Do(req)
	var n int64
	if err == nil {
		n, err = io.Copy(bodies, resp.Body)
		resp.Body.Close()
	}
	rec := tm.record(time.Since(tm.start))
	rec.URL = u
	rec.Method = req.Method
	rec.BodyBytes = n
	if resp != nil {
		rec.Status, rec.Proto = resp.StatusCode, resp.Proto
		if o.include {
			rec.StatusLine = resp.Proto + " " + resp.Status
			rec.Header = resp.Header
		}
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
reused and how long it had been idle, the timings (DNS, connect, TLS, first
byte, total) and the size of the response body. Like curl -w, but showing the
pool. With -r, the URLs are fetched in turn, N rounds. Redirects are not
followed. The line at the end is the Transport's Stats. "?" marks what the
Transport did not report through httptrace's GotConn hook.

Flags:
  -r N              fetch each URL N times (default 1)
  -X METHOD         request method (default GET, or POST with -d)
  -H "Name: value"  add a request header; repeatable ("Host: x" sets the Host)
  -d, --data TEXT   send TEXT as the request body, or with @FILE the contents of
                    FILE as they are; as with curl, the Content-Type is
                    application/x-www-form-urlencoded unless -H sets one
  -i                show each response's status line and headers under its line
                    (in "header" with --json)
  -o FILE           write the response bodies to FILE, one after another
                    (by default they are read and dropped)
  -t DURATION       timeout of each request (default %[2]s)
  --insecure        do not verify the server's certificate
  --json            print {requests: [...], pool: {...}} as JSON
  -h, --help        show this help

Exit status: 0 when every request got a response (of any status), 1 when one
failed, 2 for a usage error.

Examples:
  %[1]s get -r 3 https://example.com/       # the 2nd and 3rd reuse the connection
  %[1]s get http://127.0.0.1:8080/a http://localhost:8080/b
  %[1]s get -i -o page.html https://example.com/
  %[1]s get -X PUT -H "Content-Type: application/json" -d @item.json http://127.0.0.1:8080/items/1
  %[1]s get --json -r 2 https://localhost:8443/ --insecure | jq '.requests[].reused'
`, programName, defaultRequestTimeout)
}
