package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/httppool/httppool"
)

// slowRequest is how long the shutdown scenario's in-flight request is held
// by the server.
const slowRequest = 200 * time.Millisecond

// lifecycleSetup is the stage of the close and shutdown scenarios: a server,
// a pool holding one idle connection and one request in flight.
type lifecycleSetup struct {
	srv    *server
	client *http.Client
	// slowDone receives the in-flight request's outcome when it ends.
	slowDone chan error
}

// startLifecycle starts a server with two routes, /pair (holds two requests
// until both arrived, which leaves two connections in the pool) and /slow
// (served by slow), fills t's pool with two idle connections and starts a
// /slow request on one of them, returning once the server is handling it.
func startLifecycle(ctx context.Context, t *httppool.Transport, slow *slowRoute) (*lifecycleSetup, error) {
	slow.started = make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.Handle("/pair", barrierHandler(2))
	mux.Handle("/slow", slow)
	srv, err := startServer(mux, serverOptions{})
	if err != nil {
		return nil, err
	}
	ls := &lifecycleSetup{srv: srv, client: t.Client(), slowDone: make(chan error, 1)}
	if err := requireNoError(concurrently(ctx, ls.client, srv.URL+"/pair", 2)); err != nil {
		srv.Close()
		return nil, err
	}
	go func() {
		_, err := fetch(ctx, ls.client, srv.URL+"/slow")
		ls.slowDone <- err
	}()
	select {
	case <-slow.started:
	case err := <-ls.slowDone:
		srv.Close()
		return nil, errors.Join(errors.New("the slow request ended before the server handled it"), err)
	}
	return ls, nil
}

// waitSlow waits for the in-flight request to end and returns its error.
func (ls *lifecycleSetup) waitSlow(ctx context.Context) error {
	select {
	case err := <-ls.slowDone:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeScenario shows Transport.Close: idle connections close at once, a
// request in flight finishes and its connection closes after it, and new
// requests fail with ErrClosed.
func closeScenario() scenario {
	return scenario{
		name:     "close",
		what:     "Close with 1 idle connection and 1 request in flight (held by the server meanwhile)",
		expected: "idle closed now; in-flight ends; then ErrClosed",
		run:      runClose,
	}
}

// runClose calls Close with an idle connection and a request in flight. The
// server holds that request until the scenario has seen what Close did, so
// that the observations do not depend on timing.
func runClose(ctx context.Context, o *outcome) error {
	t := newTransport(httppool.Config{})
	defer t.Close()
	slow := &slowRoute{delay: 10 * time.Second, release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(slow.release) }) }
	defer release()
	ls, err := startLifecycle(ctx, t, slow)
	if err != nil {
		return err
	}
	defer ls.srv.Close()
	before := t.Stats()

	closeAt := time.Now()
	t.Close()
	afterClose := t.Stats() // Close closed the idle connection before returning
	ls.srv.WaitClosed(ctx, 1)
	idleClosedAfter := time.Since(closeAt)
	closedDuringFlight := ls.srv.Closed()
	_, errAfter := fetch(ctx, ls.client, ls.srv.URL+"/")

	release()
	slowErr := ls.waitSlow(ctx)
	finished := time.Since(closeAt)
	ls.srv.WaitClosed(ctx, 2)
	st := t.Stats()
	o.recordStats(st)
	o.equal("idle connections before Close (Stats.Idle)", 1, int64(before.Idle))
	o.equal("requests in flight before Close (Stats.InUse)", 1, int64(before.InUse))
	o.equal("idle connections when Close returned (Stats.Idle)", 0, int64(afterClose.Idle))
	o.equal("connections in use when Close returned (Stats.InUse)", 1, int64(afterClose.InUse))
	o.equal("connections the server saw closed while the request was in flight", 1, int64(closedDuringFlight))
	o.expect("a new request fails with httppool.ErrClosed", errors.Is(errAfter, httppool.ErrClosed), httppool.ErrClosed, errAfter)
	o.expect("the in-flight request completed", slowErr == nil, "no error", errString(slowErr))
	o.equal("connections the server saw closed in the end", 2, int64(ls.srv.Closed()))
	o.equal("connections open after (Stats.Open)", 0, int64(st.Open))
	o.equal("closed by Close (Stats.Closed[transport_closed])", 2, st.Closed[httppool.CloseTransportClosed])
	o.measure("idle_closed_after_ms", idleClosedAfter)
	o.measure("in_flight_finished_after_close_ms", finished)
	o.note("the pool held 2 connections; the /slow request took one, so 1 was idle at Close")
	o.note("the server saw the idle one closed %s after Close; it then answered the in-flight request, which completed, and its connection closed",
		fmtDur(idleClosedAfter))
	o.observe("idle closed in %s; in-flight OK; %s", fmtDur(idleClosedAfter), errName(errAfter))
	return nil
}

// shutdownScenario shows Transport.Shutdown: it waits for the request in
// flight, then closes every connection and returns nil.
func shutdownScenario() scenario {
	return scenario{
		name:     "shutdown",
		what:     "Shutdown with 1 idle connection and 1 request in flight (the server takes 200ms)",
		expected: "waits for in-flight; all closed; returns nil",
		run:      runShutdown,
	}
}

// runShutdown calls Shutdown with an idle connection and a request in flight.
func runShutdown(ctx context.Context, o *outcome) error {
	t := newTransport(httppool.Config{})
	defer t.Close()
	slow := &slowRoute{delay: slowRequest}
	ls, err := startLifecycle(ctx, t, slow)
	if err != nil {
		return err
	}
	defer ls.srv.Close()

	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	shutdownErr := t.Shutdown(shutdownCtx)
	returned := time.Now()
	took := returned.Sub(start)
	answered := slow.answeredAt()

	slowErr := ls.waitSlow(ctx)
	ls.srv.WaitClosed(ctx, 2)
	_, errAfter := fetch(ctx, ls.client, ls.srv.URL+"/")
	st := t.Stats()
	o.recordStats(st)
	o.expect("Shutdown returns nil", shutdownErr == nil, "nil", errString(shutdownErr))
	// The server answers before the client can read the answer, so a
	// Shutdown that waited returns after the server answered.
	waited := !answered.IsZero() && returned.After(answered)
	o.expect("Shutdown returned after the server answered the in-flight request", waited, true, waited)
	o.expect("the in-flight request completed", slowErr == nil, "no error", errString(slowErr))
	o.equal("connections the server saw closed", 2, int64(ls.srv.Closed()))
	o.equal("connections open after (Stats.Open)", 0, int64(st.Open))
	o.expect("a new request fails with httppool.ErrClosed", errors.Is(errAfter, httppool.ErrClosed), httppool.ErrClosed, errAfter)
	o.measure("shutdown_ms", took)
	if !answered.IsZero() {
		o.measure("server_answered_after_ms", answered.Sub(start))
	}
	o.note("Shutdown returned %s after %s, once the in-flight request had finished", errString(shutdownErr), fmtDur(took))
	o.observe("%s after %s; request OK; %d/2 closed",
		errString(shutdownErr), fmtDur(took), ls.srv.Closed())
	return nil
}

// errString returns err's message, or "nil".
func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// errName names the errors the lifecycle scenarios expect.
func errName(err error) string {
	if errors.Is(err, httppool.ErrClosed) {
		return "ErrClosed"
	}
	return errString(err)
}
