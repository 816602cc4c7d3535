package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/httppool/httppool"
)

// connectionCloseScenario shows that a response with "Connection: close" is
// not pooled.
func connectionCloseScenario() scenario {
	return scenario{
		name:     "connection-close",
		what:     "a server answering \"Connection: close\": its connections are not pooled",
		expected: "not pooled: 3 requests, 3 connections",
		run:      runConnectionClose,
	}
}

// runConnectionClose sends 3 requests to a server that closes every
// connection after its response.
func runConnectionClose(ctx context.Context, o *outcome) error {
	closing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye\n")
	})
	return runOneConnectionPerRequest(ctx, o, closing, httppool.Config{}, httppool.CloseConnectionClose, "Connection: close")
}

// noPoolScenario shows Config.DisableKeepAlives: every request dials its own
// connection and closes it after the response.
func noPoolScenario() scenario {
	return scenario{
		name:     "no-pool",
		what:     "DisableKeepAlives: one connection per request, closed after its response",
		expected: "3 requests, 3 connections, all closed",
		run:      runNoPool,
	}
}

// runNoPool sends 3 requests through a Transport with pooling disabled.
func runNoPool(ctx context.Context, o *outcome) error {
	return runOneConnectionPerRequest(ctx, o, okHandler(), httppool.Config{DisableKeepAlives: true}, httppool.CloseKeepAlivesDisabled, "pooling off")
}

// runOneConnectionPerRequest sends 3 requests that must each get a new
// connection, closed for reason after its response.
func runOneConnectionPerRequest(ctx context.Context, o *outcome, h http.Handler, cfg httppool.Config, reason, why string) error {
	const requests = 3
	srv, err := startServer(h, serverOptions{})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(cfg)
	defer t.Close()
	client := t.Client()

	for range requests {
		if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
			return err
		}
	}
	srv.WaitClosed(ctx, requests)
	st := t.Stats()
	o.recordStats(st)
	o.equal("connections accepted by the server", requests, int64(srv.Accepted()))
	o.equal("connections the server saw closed", requests, int64(srv.Closed()))
	o.equal("idle in the pool (Stats.Idle)", 0, int64(st.Idle))
	o.equal("requests on a reused connection (Stats.Reused)", 0, st.Reused)
	o.equal(fmt.Sprintf("closed with %s (Stats.Closed[%s])", why, reason), requests, st.Closed[reason])
	o.observe("%s, %d closed, %d idle (%s: %d)",
		plural(int64(srv.Accepted()), "conn"), srv.Closed(), st.Idle, reason, st.Closed[reason])
	return nil
}

// staleScenario sends requests just around the moment a server closes its
// idle connections: the pool must notice the closed ones, or resend safely,
// so that the caller never sees an error.
func staleScenario() scenario {
	return scenario{
		name:       "stale",
		what:       "server closes idle connections after 200ms; 20 requests sent 200ms ± 4ms after the previous response",
		expected:   "no errors (stale noticed or retried)",
		background: true,
		run:        runStale,
	}
}

// staleOffsets are added to the server's keep-alive timeout to space the
// stale scenario's requests: some arrive just before the server closes the
// connection, some just after, some right at it.
var staleOffsets = []time.Duration{
	-4 * time.Millisecond, -2 * time.Millisecond, -1 * time.Millisecond, 0,
	1 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond,
	-500 * time.Microsecond, 500 * time.Microsecond, 0,
}

// runStale spaces requests by about the server's keep-alive timeout and
// counts the errors the caller sees, which should be none.
func runStale(ctx context.Context, o *outcome) error {
	const serverIdle, requests = 200 * time.Millisecond, 20
	srv, err := startServer(okHandler(), serverOptions{idleTimeout: serverIdle})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{}) // the pool's own idle timeout (90 s) is far longer
	defer t.Close()
	client := t.Client()

	if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
		return err
	}
	var failures []error
	for i := range requests {
		if err := sleep(ctx, serverIdle+staleOffsets[i%len(staleOffsets)]); err != nil {
			return err
		}
		if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("after %d of %d requests: %w", i, requests, ctx.Err())
			}
			failures = append(failures, err)
		}
	}
	st := t.Stats()
	o.recordStats(st)
	serverClosed := srv.Closed()
	o.equal("requests that failed", 0, int64(len(failures)))
	o.equal("requests served by the server", requests+1, srv.requests.Load())
	o.atLeast("idle connections the server closed (the scenario reached its timeout)", 1, int64(serverClosed))
	o.measure("errors", len(failures))
	o.measure("retries", st.Retries)
	o.measure("stale_at_checkout", st.Closed[httppool.CloseServerClosed])
	o.measure("connections", srv.Accepted())
	o.measure("server_closed_idle", serverClosed)
	if len(failures) > 0 {
		o.note("first error: %v", failures[0])
	}
	o.note("the server closed %s; the pool caught %d at checkout (server_closed) and resent %s (Stats.Retries)",
		plural(int64(serverClosed), "idle connection"), st.Closed[httppool.CloseServerClosed], plural(st.Retries, "request"))
	o.note("%d of the %d requests after the first reused a live connection", st.Reused, requests)
	o.observe("%s; %s, %d stale caught, %s", plural(int64(len(failures)), "error"),
		plural(st.Retries, "retry"), st.Closed[httppool.CloseServerClosed], plural(int64(srv.Accepted()), "conn"))
	return nil
}
