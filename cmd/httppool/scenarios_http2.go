package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/httppool/httppool"
)

// http2Scenario shows HTTP/2 multiplexing: many concurrent requests to one
// host share a single connection.
func http2Scenario() scenario {
	return scenario{
		name:     "http2",
		what:     "HTTP/2: 100 concurrent requests, held by the server until all arrived, share one connection",
		expected: "1 TCP conn for 100 requests, all HTTP/2",
		run:      runHTTP2,
	}
}

// runHTTP2 sends 100 requests at once to an HTTP/2 server that answers none
// until all of them are in its handler.
func runHTTP2(ctx context.Context, o *outcome) error {
	const requests = 100
	tlsServer, tlsClient, err := demoTLS()
	if err != nil {
		return err
	}
	srv, err := startServer(barrierHandler(requests), serverOptions{tls: tlsServer, http2: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{TLSClientConfig: tlsClient})
	defer t.Close()

	start := time.Now()
	resps, errs := fetchAll(ctx, t.Client(), srv.URL+"/", requests)
	if err := requireNoError(errs); err != nil {
		return err
	}
	elapsed := time.Since(start)
	h2 := countHTTP2(resps)
	st := t.Stats()
	o.recordStats(st)
	o.equal("TCP connections accepted by the server", 1, int64(srv.Accepted()))
	o.equal("TLS handshakes seen by the server", 1, srv.handshakes.Load())
	o.equal("responses over HTTP/2 (resp.ProtoMajor == 2)", requests, h2)
	o.equal("requests in the server's handler at once", requests, srv.maxActive.Load())
	o.equal("open HTTP/2 connections (Stats.HTTP2)", 1, int64(st.HTTP2))
	o.equal("dials (Stats.Dials)", 1, st.Dials)
	o.measure("elapsed_ms", elapsed)
	o.note("the server held every request until all %d were in its handler: they were in flight together", requests)
	o.observe("%s, %d/%d HTTP/2, %d in flight at once; Stats.HTTP2 %d",
		plural(int64(srv.Accepted()), "TCP conn"), h2, requests, srv.maxActive.Load(), st.HTTP2)
	return nil
}

// http2StreamLimitScenario shows what the pool does at the server's
// MAX_CONCURRENT_STREAMS: by default it dials more connections; with
// HTTP2.StrictMaxConcurrentRequests requests wait for a stream instead.
func http2StreamLimitScenario() scenario {
	return scenario{
		name:     "http2-stream-limit",
		what:     "HTTP/2 server allowing 10 streams, 50 concurrent requests: by default, and with StrictMaxConcurrentRequests",
		expected: "default: 5 conns; strict: 1 conn, all complete",
		run:      runHTTP2StreamLimit,
	}
}

// runHTTP2StreamLimit sends 50 concurrent requests to a server allowing 10
// streams per connection, twice: held by the server until all arrived (the
// pool must dial 5 connections), then with StrictMaxConcurrentRequests to a
// server answering after a short pause (one connection, waves of 10).
func runHTTP2StreamLimit(ctx context.Context, o *outcome) error {
	const requests, limit = 50, 10
	const hold = 20 * time.Millisecond
	tlsServer, tlsClient, err := demoTLS()
	if err != nil {
		return err
	}
	opt := serverOptions{tls: tlsServer, http2: true, maxStreams: limit}

	held, err := startServer(barrierHandler(requests), opt)
	if err != nil {
		return err
	}
	defer held.Close()
	t := newTransport(httppool.Config{TLSClientConfig: tlsClient})
	defer t.Close()
	if err := requireNoError(concurrently(ctx, t.Client(), held.URL+"/", requests)); err != nil {
		return err
	}
	st := t.Stats()

	slow, err := startServer(slowHandler(hold), opt)
	if err != nil {
		return err
	}
	defer slow.Close()
	strict := newTransport(httppool.Config{
		TLSClientConfig: tlsClient,
		HTTP2:           httppool.HTTP2Config{StrictMaxConcurrentRequests: true},
	})
	defer strict.Close()
	start := time.Now()
	resps, errs := fetchAll(ctx, strict.Client(), slow.URL+"/", requests)
	if err := requireNoError(errs); err != nil {
		return err
	}
	elapsed := time.Since(start)
	strictStats := strict.Stats()
	o.recordStats(st)
	o.equal("default: connections accepted by the server", requests/limit, int64(held.Accepted()))
	o.equal("default: requests in the server's handler at once", requests, held.maxActive.Load())
	o.equal("default: open HTTP/2 connections (Stats.HTTP2)", requests/limit, int64(st.HTTP2))
	o.equal("strict: connections accepted by the server", 1, int64(slow.Accepted()))
	o.atMost("strict: requests in the server's handler at once", limit, slow.maxActive.Load())
	o.equal("strict: responses over HTTP/2", requests, countHTTP2(resps))
	o.equal("strict: requests served", requests, slow.requests.Load())
	o.equal("strict: open HTTP/2 connections (Stats.HTTP2)", 1, int64(strictStats.HTTP2))
	o.measure("strict_elapsed_ms", elapsed)
	o.note("default: the server held all %d requests until they had arrived, %d streams per connection", requests, limit)
	o.note("strict: the server answers each after %s; %d requests took %s over one connection, at most %d at once",
		hold, requests, fmtDur(elapsed), slow.maxActive.Load())
	o.observe("default: %s for %d held; strict: %s, max %d at once, %d OK",
		plural(int64(held.Accepted()), "conn"), held.maxActive.Load(),
		plural(int64(slow.Accepted()), "conn"), slow.maxActive.Load(), requests)
	return nil
}

// demoTLS returns the TLS configuration of a demo HTTPS server, with a new
// self-signed certificate, and that of a client trusting it.
func demoTLS() (server, client *tls.Config, err error) {
	var cert tls.Certificate
	var roots *x509.CertPool
	cert, roots, err = selfSignedCert()
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: roots}, nil
}

// countHTTP2 returns how many of resps came over HTTP/2.
func countHTTP2(resps []*http.Response) int64 {
	n := int64(0)
	for _, r := range resps {
		if r != nil && r.ProtoMajor == 2 {
			n++
		}
	}
	return n
}
