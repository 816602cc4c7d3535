package main

import (
	"context"
	"sort"
	"strings"

	"github.com/httppool/httppool"
)

// reuseScenario shows keep-alive reuse: the second request to a host rides
// on the connection the first one dialed.
func reuseScenario() scenario {
	return scenario{
		name:     "reuse",
		what:     "the second request to a host reuses the first one's connection",
		expected: "1 connection; 2nd request reuses it",
		run:      runReuse,
	}
}

// runReuse sends two requests in a row and times each.
func runReuse(ctx context.Context, o *outcome) error {
	srv, err := startServer(okHandler(), serverOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{})
	defer t.Close()
	client := t.Client()

	_, first, err := timedFetch(ctx, client, srv.URL+"/api/data")
	if err != nil {
		return err
	}
	_, second, err := timedFetch(ctx, client, srv.URL+"/api/other")
	if err != nil {
		return err
	}
	st := t.Stats()
	o.recordStats(st)
	o.equal("connections accepted by the server", 1, int64(srv.Accepted()))
	o.equal("dials (Stats.Dials)", 1, st.Dials)
	o.equal("requests on a reused connection (Stats.Reused)", 1, st.Reused)
	o.equal("connections idle in the pool afterwards (Stats.Idle)", 1, int64(st.Idle))
	o.measure("first_request_ms", first)
	o.measure("second_request_ms", second)
	o.observe("%d conn, %d reused; 1st %s (dial), 2nd %s",
		srv.Accepted(), st.Reused, fmtDur(first), fmtDur(second))
	return nil
}

// perHostScenario shows that each host has its own pool: a connection made
// for one host never serves another, even when two names reach one server.
func perHostScenario() scenario {
	return scenario{
		name:     "per-host",
		what:     "each host has its own pool: two servers, and 127.0.0.1 vs localhost to one server",
		expected: "A: 2 conns (IP, localhost), B: 1; none shared",
		run:      runPerHost,
	}
}

// runPerHost alternates requests between two servers and two names of one
// server, and checks that no connection served more than one of them.
func runPerHost(ctx context.Context, o *outcome) error {
	a, err := startServer(okHandler(), serverOptions{})
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := startServer(okHandler(), serverOptions{})
	if err != nil {
		return err
	}
	defer b.Close()
	t := newTransport(httppool.Config{})
	defer t.Close()
	client := t.Client()

	aByName := "http://localhost:" + a.Port
	sequence := []string{a.URL, b.URL, a.URL, b.URL, aByName, aByName, a.URL}
	for _, u := range sequence {
		if _, err := fetch(ctx, client, u+"/"); err != nil {
			return err
		}
	}
	st := t.Stats()
	o.recordStats(st)

	// A connection that served requests for two Host names would mean the
	// pool shared it between hosts.
	shared := 0
	var hostsA []string
	for _, c := range a.Conns() {
		if len(c.hosts) > 1 {
			shared++
		}
		for h := range c.hosts {
			hostsA = append(hostsA, h)
		}
	}
	sort.Strings(hostsA)
	o.equal("connections accepted by server A", 2, int64(a.Accepted()))
	o.equal("connections accepted by server B", 1, int64(b.Accepted()))
	o.equal("connections that served two host names", 0, int64(shared))
	o.equal("dials (Stats.Dials)", 3, st.Dials)
	pools := make([]string, 0, len(st.Hosts))
	for k := range st.Hosts {
		pools = append(pools, k)
	}
	sort.Strings(pools)
	o.equal("host pools in Stats.Hosts", 3, int64(len(pools)))
	o.equal("requests on a reused connection (Stats.Reused)", int64(len(sequence)-3), st.Reused)
	o.measure("server_a_connections", a.Accepted())
	o.measure("server_b_connections", b.Accepted())
	o.measure("requests", len(sequence))
	o.note("requests in order: A, B, A, B, A as localhost, A as localhost, A")
	o.note("server A's connections served: %s (one host name each)", strings.Join(hostsA, " and "))
	o.note("the Transport's host pools: %s", strings.Join(pools, ", "))
	o.observe("A: %d conns, B: %d; %d shared; %d/%d reused",
		a.Accepted(), b.Accepted(), shared, st.Reused, len(sequence))
	return nil
}
