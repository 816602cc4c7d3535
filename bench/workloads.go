package main

import (
	"fmt"
	"strings"
)

// protocol is how a workload reaches the server.
type protocol uint8

const (
	protoHTTP  protocol = iota // HTTP/1.1 over TCP
	protoHTTPS                 // HTTP/1.1 over TLS
	protoH2                    // HTTP/2 over TLS
)

// workload is one kind of traffic that every client sends in turn.
type workload struct {
	name        string
	desc        string
	proto       protocol
	method      string
	path        string
	reqBody     int  // bytes of request body
	respBody    int  // bytes of response body
	concurrency int  // goroutines sending requests
	manyHosts   bool // request i goes to host i % hosts
	perHost     int  // with manyHosts: requests per host and round
	idle        bool // the idle-connection measurement, not a throughput one
}

// defaultBody is the size of the server's default response body.
const defaultBody = 13

// workloads returns every workload, for hosts listeners in the many-hosts
// one and idleConns connections in the idle one.
func workloads(hosts, idleConns int) []*workload {
	get := func(c int) *workload {
		return &workload{
			name: fmt.Sprintf("get-c%d", c), desc: fmt.Sprintf("keep-alive GET, 13-byte body, %d concurrent", c),
			method: "GET", path: "/", respBody: defaultBody, concurrency: c,
		}
	}
	return []*workload{
		get(1), get(64), get(512),
		{
			name: "post1k-c64", desc: "keep-alive POST of a 1 KiB body, 64 concurrent",
			method: "POST", path: "/", reqBody: 1 << 10, respBody: defaultBody, concurrency: 64,
		},
		{
			name: "get1m-c16", desc: "keep-alive GET of a 1 MiB body, 16 concurrent",
			method: "GET", path: fmt.Sprintf("/size/%d", 1<<20), respBody: 1 << 20, concurrency: 16,
		},
		{
			name: "hosts", desc: fmt.Sprintf("%d hosts (loopback ports), 4 GETs each, 64 concurrent", hosts),
			method: "GET", path: "/", respBody: defaultBody, concurrency: 64, manyHosts: true, perHost: 4,
		},
		{
			name: "https-h1-c64", desc: "HTTPS HTTP/1.1 keep-alive GET, 64 concurrent",
			proto: protoHTTPS, method: "GET", path: "/", respBody: defaultBody, concurrency: 64,
		},
		{
			name: "https-h2-c64", desc: "HTTPS HTTP/2 GET, 64 concurrent (net/http's server)",
			proto: protoH2, method: "GET", path: "/", respBody: defaultBody, concurrency: 64,
		},
		{name: "idle", idle: true, concurrency: idleConns},
	}
}

// selectWorkloads returns the workloads whose names contain one of the
// comma-separated parts of filter; an empty filter selects all.
func selectWorkloads(all []*workload, filter string) ([]*workload, error) {
	if filter == "" {
		return all, nil
	}
	var out []*workload
	for _, w := range all {
		for part := range strings.SplitSeq(filter, ",") {
			if part = strings.TrimSpace(part); part != "" && strings.Contains(w.name, part) {
				out = append(out, w)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no workload matches %q", filter)
	}
	return out, nil
}
