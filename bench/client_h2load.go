package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/httppool/httppool/internal/benchserver"
)

// h2loadSlack is how long an h2load round run by duration may take past its
// duration before it is killed.
const h2loadSlack = 30 * time.Second

// runH2load runs one round of w with h2load, nghttp2's load generator, on
// one connection (-c 1) with w's concurrency as its streams (-m), and
// measures it as measure measures the Go clients: its CPU time is its
// process's, from the rusage of the child, and req/s counts the requests
// it completed over the wall time of its process, start-up included.
// h2load says nothing of allocations and gives no percentiles of latency.
// It inherits the harness's CPU affinity: CPU 0 when pinned.
func runH2load(w *workload, t *target, srv cpuSource, cfg *config) (*sample, error) {
	bin, err := lookBinary(h2loadName, h2loadPackage)
	if err != nil {
		return nil, notApplicable("n/a: " + err.Error())
	}
	if host, _, err := net.SplitHostPort(t.addrs[0]); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("bench: refusing to load %q: only loopback addresses are benchmarked", t.addrs[0])
	}
	args := []string{"-c", "1", "-t", "1", "-m", strconv.Itoa(w.concurrency)}
	counted := cfg.requests > 0
	timeout := maxCountedRound
	if counted {
		args = append(args, "-n", strconv.Itoa(cfg.requests))
	} else {
		args = append(args, "-D", fmt.Sprintf("%dms", cfg.duration.Milliseconds()))
		timeout = cfg.duration + h2loadSlack
	}
	if w.reqBody > 0 {
		body, err := writeBodyFile(w.reqBody)
		if err != nil {
			return nil, err
		}
		defer os.Remove(body)
		args = append(args, "-d", body)
	}
	args = append(args, t.urls(w.path)[0])

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = serverProcAttr()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	s := &sample{dials: 1}
	self0, _ := benchserver.SelfCPU()
	srv0, _ := srv.CPU()
	machine0, _ := benchserver.MachineCPU()
	start := time.Now()
	err = cmd.Run()
	s.elapsed = time.Since(start)
	machine1, _ := benchserver.MachineCPU()
	srv1, _ := srv.CPU()
	self1, _ := benchserver.SelfCPU()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("h2load did not finish in %v", timeout)
	case err != nil:
		return nil, fmt.Errorf("h2load: %v: %s", err, tail(out.String()))
	}
	s.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	s.serverCPU = srv1 - srv0
	s.machineCPU = machine1 - machine0
	s.harnessCPU = self1 - self0
	s.external = true

	r, err := parseH2load(out.String())
	if err != nil {
		return nil, fmt.Errorf("h2load: %v: %s", err, tail(out.String()))
	}
	wantProto := "h2"
	if w.proto == protoH2C {
		wantProto = "h2c"
	}
	switch {
	case r.proto != wantProto:
		s.err = fmt.Errorf("h2load spoke %q, want %s", r.proto, wantProto)
	case r.failed > 0 || r.errored > 0 || r.timeout > 0:
		s.err = fmt.Errorf("h2load: %d requests failed, %d errored, %d timed out", r.failed, r.errored, r.timeout)
	case r.not2xx > 0:
		// Not status2xx != done: with -D, the streams cut short at the end
		// count among the statuses but not among the requests done.
		s.err = fmt.Errorf("h2load: %d responses were not 2xx", r.not2xx)
	case counted && r.done != int64(cfg.requests):
		s.err = fmt.Errorf("h2load: %d requests done, want %d", r.done, cfg.requests)
	}
	s.requests = r.done
	return s, nil
}

// writeBodyFile writes a request body of n bytes, the same as the Go
// clients send, to a temporary file for h2load -d, and returns its name.
func writeBodyFile(n int) (string, error) {
	f, err := os.CreateTemp("", "httppool-bench-body-")
	if err != nil {
		return "", err
	}
	_, err = f.Write(bytes.Repeat([]byte("p"), n))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// h2loadResult is what h2load's report says of one run.
type h2loadResult struct {
	done, succeeded, failed, errored, timeout int64
	not2xx                                    int64  // responses with a status other than 2xx
	proto                                     string // "h2" or "h2c": the protocol h2load spoke
}

// parseH2load reads h2load's report: the lines
//
//	Application protocol: h2
//	requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored, 0 timeout
//	status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx
//
// It fails if one is missing, so that a change of format is never read as
// zero requests.
func parseH2load(out string) (h2loadResult, error) {
	var r h2loadResult
	var haveRequests, haveStatus bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Application protocol":
			r.proto = value
		case "requests":
			counts, err := countsOf(value)
			if err != nil {
				return r, fmt.Errorf("requests line %q: %v", line, err)
			}
			r.done, r.succeeded, r.failed = counts["done"], counts["succeeded"], counts["failed"]
			r.errored, r.timeout = counts["errored"], counts["timeout"]
			_, haveRequests = counts["done"]
		case "status codes":
			counts, err := countsOf(value)
			if err != nil {
				return r, fmt.Errorf("status line %q: %v", line, err)
			}
			r.not2xx = counts["3xx"] + counts["4xx"] + counts["5xx"]
			_, haveStatus = counts["2xx"]
		}
	}
	switch {
	case !haveRequests:
		return r, errors.New("no requests line in its report")
	case !haveStatus:
		return r, errors.New("no status codes line in its report")
	case r.proto == "":
		return r, errors.New("no application protocol in its report")
	}
	return r, nil
}

// countsOf reads "200 total, 200 done, 0 failed" as a map from word to count.
func countsOf(s string) (map[string]int64, error) {
	counts := make(map[string]int64)
	for part := range strings.SplitSeq(s, ",") {
		num, word, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok {
			return nil, fmt.Errorf("%q is not a count and a word", part)
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, err
		}
		counts[strings.TrimSpace(word)] = n
	}
	return counts, nil
}

// tail returns the last lines of a program's output, for errors.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1500 {
		s = "..." + s[len(s)-1500:]
	}
	return s
}
