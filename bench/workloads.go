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
	protoH2                    // HTTP/2 over TLS, through ALPN
	protoH2C                   // HTTP/2 over TCP with prior knowledge
)

// isH2 reports whether p is HTTP/2, over TLS or not.
func (p protocol) isH2() bool { return p == protoH2 || p == protoH2C }

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
	h2o         bool // served by h2o rather than the benchmark server; h2load joins the clients
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
		h2oGet(protoH2C, 64), h2oGet(protoH2C, 256),
		h2oGet(protoH2, 64), h2oGet(protoH2, 256),
		{
			name: "h2o-tls-get1m-c16", desc: "h2 (TLS) GET of a 1 MiB body from h2o, 16 concurrent streams on one connection",
			proto: protoH2, h2o: true, method: "GET", path: h2oLargePath, respBody: 1 << 20, concurrency: 16,
		},
		{
			name: "h2o-tls-post64k-c16", desc: "h2 (TLS) POST of a 64 KiB body to h2o (an mruby handler answers \"ok\"), 16 concurrent streams on one connection",
			proto: protoH2, h2o: true, method: "POST", path: h2oUploadPath, reqBody: 64 << 10, respBody: 2, concurrency: 16,
		},
		{name: "idle", idle: true, concurrency: idleConns},
	}
}

// h2oGet returns the workload of small GETs from h2o on one HTTP/2
// connection with c requests at a time. Over 100, h2o's limit of streams,
// the clients hold the rest back until a stream ends.
func h2oGet(proto protocol, c int) *workload {
	kind, name := "h2 (TLS)", "tls"
	if proto == protoH2C {
		kind, name = "h2c (prior knowledge)", "h2c"
	}
	streams := fmt.Sprintf("%d concurrent streams on one connection", c)
	if c > h2oAnnouncedStreams {
		streams = fmt.Sprintf("%d concurrent requests on one connection (h2o allows %d streams: the client queues the rest)", c, h2oAnnouncedStreams)
	}
	return &workload{
		name: fmt.Sprintf("h2o-%s-c%d", name, c), desc: fmt.Sprintf("%s GET from h2o, 13-byte body, %s", kind, streams),
		proto: proto, h2o: true, method: "GET", path: h2oSmallPath, respBody: defaultBody, concurrency: c,
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
