package main

import (
	"context"
	"fmt"
	"time"

	"github.com/httppool/httppool"
)

// idleTimeoutScenario shows Config.IdleTimeout: the pool closes a connection
// left idle too long, and the next request dials a new one.
func idleTimeoutScenario() scenario {
	return scenario{
		name:     "idle-timeout",
		what:     "IdleTimeout 300ms: after 500ms idle the pool has closed the connection",
		expected: "closed by client after 300ms idle; next dials",
		run:      runIdleTimeout,
	}
}

// runIdleTimeout leaves a connection idle longer than IdleTimeout and
// watches the server see it closed.
func runIdleTimeout(ctx context.Context, o *outcome) error {
	const idleTimeout, wait = 300 * time.Millisecond, 500 * time.Millisecond
	// The server never closes an idle connection itself (no IdleTimeout), so
	// a close it sees comes from the client.
	srv, err := startServer(okHandler(), serverOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{IdleTimeout: idleTimeout})
	defer t.Close()
	client := t.Client()

	sent := time.Now()
	if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
		return err
	}
	answered := time.Now()
	if err := sleep(ctx, wait); err != nil {
		return err
	}
	closedAtWait := srv.Closed()
	if closedAtWait == 0 {
		// On a machine too busy to run the pool's sweeper and the server on
		// time, give them a moment more; the report shows how late it was.
		srv.WaitClosed(ctx, 1)
	}
	closedBeforeNext := srv.Closed()
	idleNow := t.Stats().Idle
	var closedAfter time.Duration // from the response to the server seeing the close
	var sinceSent time.Duration
	if conns := srv.Conns(); len(conns) > 0 && !conns[0].closedAt.IsZero() {
		closedAfter = conns[0].closedAt.Sub(answered)
		sinceSent = conns[0].closedAt.Sub(sent)
	}
	if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
		return err
	}
	st := t.Stats()
	o.recordStats(st)
	o.equal("connections the server saw closed before the next request", 1, int64(closedBeforeNext))
	o.equal("idle connections before the next request (Stats.Idle)", 0, int64(idleNow))
	o.expect("closed once the timeout passed, not before", sinceSent >= idleTimeout,
		fmt.Sprintf(">= %s after the request", idleTimeout), fmtDur(sinceSent))
	if closedAtWait == 0 && closedBeforeNext > 0 {
		o.note("the server saw the close only after the %s wait: this machine is busy", wait)
	}
	o.equal("connections closed for idle timeout (Stats.Closed[idle_timeout])", 1, st.Closed[httppool.CloseIdleTimeout])
	o.equal("connections accepted by the server (the next request dialed)", 2, int64(srv.Accepted()))
	o.equal("requests on a reused connection (Stats.Reused)", 0, st.Reused)
	o.measure("closed_after_response_ms", closedAfter)
	o.note("the server has no idle timeout of its own: the close it saw came from the client")
	o.observe("closed %s after response; next dialed (%s)",
		fmtDur(closedAfter), plural(int64(srv.Accepted()), "conn"))
	return nil
}

// maxIdlePerHostScenario shows Config.MaxIdlePerHost: after a burst, only
// that many connections stay in the pool; the others are closed.
func maxIdlePerHostScenario() scenario {
	return scenario{
		name:     "max-idle-per-host",
		what:     "MaxIdlePerHost 2: after a burst of 5 concurrent requests only 2 stay pooled",
		expected: "5 opened; then 2 stay open, 3 closed",
		run:      runMaxIdlePerHost,
	}
}

// runMaxIdlePerHost sends a burst of concurrent requests and counts the
// connections that stay open afterwards.
func runMaxIdlePerHost(ctx context.Context, o *outcome) error {
	const burst, maxIdle = 5, 2
	srv, err := startServer(barrierHandler(burst), serverOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{MaxIdlePerHost: maxIdle})
	defer t.Close()
	client := t.Client()

	if err := requireNoError(concurrently(ctx, client, srv.URL+"/", burst)); err != nil {
		return err
	}
	srv.WaitClosed(ctx, burst-maxIdle)
	st := t.Stats()
	o.recordStats(st)
	o.equal("connections accepted by the server", burst, int64(srv.Accepted()))
	o.equal("connections still open at the server", maxIdle, int64(srv.Open()))
	o.equal("connections the server saw closed", burst-maxIdle, int64(srv.Closed()))
	o.equal("idle in the pool (Stats.Idle)", maxIdle, int64(st.Idle))
	o.equal("closed over the limit (Stats.Closed[max_idle_per_host])", burst-maxIdle, st.Closed[httppool.CloseMaxIdlePerHost])
	o.note("the server held each request until all %d had arrived", burst)
	o.observe("%d opened; %d open, %d closed (max_idle_per_host)",
		srv.Accepted(), srv.Open(), srv.Closed())
	return nil
}

// maxConnsPerHostScenario shows Config.MaxConnsPerHost: requests over the
// limit wait for a connection instead of dialing.
func maxConnsPerHostScenario() scenario {
	return scenario{
		name:     "max-conns-per-host",
		what:     "MaxConnsPerHost 2 with 10 concurrent requests: the others wait their turn",
		expected: "never more than 2 open; requests wait",
		run:      runMaxConnsPerHost,
	}
}

// runMaxConnsPerHost sends more concurrent requests than MaxConnsPerHost
// allows and records the most connections the server saw open at once.
func runMaxConnsPerHost(ctx context.Context, o *outcome) error {
	const requests, maxConns = 10, 2
	const hold = 20 * time.Millisecond
	srv, err := startServer(slowHandler(hold), serverOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{MaxConnsPerHost: maxConns})
	defer t.Close()
	client := t.Client()

	start := time.Now()
	if err := requireNoError(concurrently(ctx, client, srv.URL+"/", requests)); err != nil {
		return err
	}
	elapsed := time.Since(start)
	st := t.Stats()
	o.recordStats(st)
	o.atMost("most connections open at once at the server", maxConns, int64(srv.MaxOpen()))
	o.atMost("most requests in the handler at once", maxConns, srv.maxActive.Load())
	o.equal("requests served", requests, srv.requests.Load())
	o.atLeast("requests that waited for a connection (Stats.WaitCount)", 1, st.WaitCount)
	o.atMost("connections accepted by the server", maxConns, int64(srv.Accepted()))
	o.measure("elapsed_ms", elapsed)
	o.note("each request is held %s by the server; %d requests took %s in all", hold, requests, fmtDur(elapsed))
	o.observe("max %d open, %d accepted; %d waited (%s total)",
		srv.MaxOpen(), srv.Accepted(), st.WaitCount, fmtDur(st.WaitDuration))
	return nil
}
