package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// target is where a workload's requests go.
type target struct {
	scheme string   // "http" or "https"
	addrs  []string // host:port of each host; one but for the many-hosts workload
	tls    *tls.Config
}

// urls returns the URL of path on each of t's hosts.
func (t *target) urls(path string) []string {
	urls := make([]string, len(t.addrs))
	for i, a := range t.addrs {
		urls[i] = t.scheme + "://" + a + path
	}
	return urls
}

// clientKind is one of the clients under comparison: a Go client that runs
// in this process, with open, or a program that runs in a process of its
// own, with external.
type clientKind struct {
	name string
	// open returns a new client for w, dialing through d. It returns a
	// notApplicable error for a workload the client cannot run.
	open func(w *workload, t *target, d *dialer) (client, error)
	// external runs one round of w in a child process and measures it as
	// measure measures the Go clients, but for allocations and latency.
	external func(w *workload, t *target, srv cpuSource, cfg *config) (*sample, error)
}

// cpuSource is a server process whose CPU time is measured.
type cpuSource interface {
	// CPU returns the CPU time the server has used so far; ok is false
	// where the platform does not say.
	CPU() (cpu time.Duration, ok bool)
}

// client is an open client; each goroutine of a workload uses its own worker.
type client interface {
	newWorker(w *workload, t *target) (worker, error)
	// close closes the client's idle connections.
	close()
}

// worker sends a workload's requests on one goroutine, with state reused
// from request to request as a tuned program would.
type worker interface {
	// do sends request i of the workload and reads its response body to
	// the end. i picks the host in the many-hosts workload.
	do(i int) error
}

// notApplicable says why a client cannot run a workload.
type notApplicable string

func (n notApplicable) Error() string { return string(n) }

// clientKinds lists the clients of the benchmark server's workloads in the
// order they take turns.
var clientKinds = []clientKind{
	{name: "httppool", open: openHTTPPool},
	{name: "net/http", open: openNetHTTP},
	{name: "fasthttp", open: openFastHTTP},
}

// h2oClientKinds lists the clients of h2o's workloads, all HTTP/2: fasthttp
// has none, and h2load is the reference in C.
var h2oClientKinds = []clientKind{
	{name: "httppool", open: openHTTPPool},
	{name: "net/http", open: openNetHTTP},
	{name: "h2load", external: runH2load},
}

// clientsOf returns the clients that take turns on w.
func clientsOf(w *workload) []clientKind {
	if w.h2o {
		return h2oClientKinds
	}
	return clientKinds
}

// dialer dials for one client, counts its connections, and refuses any
// address but loopback: the benchmark must never send traffic elsewhere.
type dialer struct {
	d     net.Dialer
	dials atomic.Int64
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("bench: refusing to dial %q: only loopback addresses are benchmarked", addr)
	}
	d.dials.Add(1)
	return d.d.DialContext(ctx, network, addr)
}

// dial is DialContext in fasthttp's shape.
func (d *dialer) dial(addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), "tcp", addr)
}
