package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/httppool/httppool"
)

// keepAliveHeaderScenario shows that the pool honours the server's
// "Keep-Alive: timeout=N, max=M" response header.
func keepAliveHeaderScenario() scenario {
	return scenario{
		name:       "keep-alive-header",
		what:       "Keep-Alive: timeout=1 from a server whose idle timeout is 1s; max=3 from one closing after 3 requests",
		expected:   "timeout=1: closed at 750ms, next dials; max=3: 3 conns for 7",
		background: true,
		run:        runKeepAliveHeader,
	}
}

// runKeepAliveHeader runs both halves: the announced timeout, then the
// announced maximum of requests per connection.
func runKeepAliveHeader(ctx context.Context, o *outcome) error {
	timeoutObserved, err := keepAliveTimeout(ctx, o)
	if err != nil {
		return err
	}
	maxObserved, err := keepAliveMax(ctx, o)
	if err != nil {
		return err
	}
	o.observe("timeout=1: %s; max=3: %s", timeoutObserved, maxObserved)
	return nil
}

// keepAliveTimeout sends a request to a server announcing and applying a
// 1 s keep-alive timeout, waits 800ms (past the timeout less the pool's
// 250ms margin, before the server's own close) and sends another, which
// must get a new connection without an error.
func keepAliveTimeout(ctx context.Context, o *outcome) (string, error) {
	const serverIdle, wait = time.Second, 800 * time.Millisecond
	// margin is the pool's default for timeout=1 (a quarter); slack allows
	// for the moment between the header being read and the response's end.
	const margin, slack = serverIdle / 4, 50 * time.Millisecond
	announcing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=1")
		io.WriteString(w, "ok\n")
	})
	srv, err := startServer(announcing, serverOptions{idleTimeout: serverIdle})
	if err != nil {
		return "", err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{}) // the pool's own idle timeout (90 s) is far longer
	defer t.Close()
	client := t.Client()

	if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
		return "", err
	}
	answered := time.Now()
	if err := sleep(ctx, wait); err != nil {
		return "", err
	}
	_, errNext := fetch(ctx, client, srv.URL+"/")
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	srv.WaitClosed(ctx, 1)
	var closedAfter time.Duration
	if conns := srv.Conns(); len(conns) > 0 && !conns[0].closedAt.IsZero() {
		closedAfter = conns[0].closedAt.Sub(answered)
	}
	st := t.Stats()
	o.expect("timeout: the request after the wait succeeded", errNext == nil, "no error", errString(errNext))
	o.equal("timeout: connections accepted by the server (the second request dialed)", 2, int64(srv.Accepted()))
	o.equal("timeout: closed for the header (Stats.Closed[keep_alive_header])", 1, st.Closed[httppool.CloseKeepAliveHeader])
	o.equal("timeout: found closed by the server (Stats.Closed[server_closed])", 0, st.Closed[httppool.CloseServerClosed])
	o.equal("timeout: retries (Stats.Retries)", 0, st.Retries)
	o.expect("timeout: closed by the client, after the timeout less the margin, before the server's timeout",
		closedAfter >= serverIdle-margin-slack && closedAfter < serverIdle,
		fmt.Sprintf("%s to %s after the response", serverIdle-margin-slack, serverIdle), fmtDur(closedAfter))
	o.measure("timeout_closed_after_response_ms", closedAfter)
	o.note("timeout=1: the pool stops reusing a connection 250ms (a quarter) before the server's timeout")
	o.note("timeout=1: the server saw the first connection closed %s after the response; the request %s later dialed",
		fmtDur(closedAfter), wait)
	return fmt.Sprintf("closed at %s, next dialed", fmtDur(closedAfter)), nil
}

// keepAliveMax sends 7 requests in a row to a server that serves 3 per
// connection and says so with "Keep-Alive: max=N": the pool must stop
// reusing each connection after its third request, never meeting the close.
func keepAliveMax(ctx context.Context, o *outcome) (string, error) {
	const perConn, requests = 3, 7
	srv, err := startServer(keepAliveMaxHandler(perConn), serverOptions{})
	if err != nil {
		return "", err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{})
	defer t.Close()
	client := t.Client()

	failed := 0
	for range requests {
		if _, err := fetch(ctx, client, srv.URL+"/"); err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			failed++
		}
	}
	st := t.Stats()
	o.recordStats(st)
	conns := (requests + perConn - 1) / perConn
	o.equal("max: requests that failed", 0, int64(failed))
	o.equal("max: connections accepted by the server", int64(conns), int64(srv.Accepted()))
	o.equal("max: closed after their last allowed request (Stats.Closed[keep_alive_header])", int64(conns-1), st.Closed[httppool.CloseKeepAliveHeader])
	o.equal("max: found closed by the server (Stats.Closed[server_closed])", 0, st.Closed[httppool.CloseServerClosed])
	o.equal("max: retries (Stats.Retries)", 0, st.Retries)
	o.equal("max: requests on a reused connection (Stats.Reused)", int64(requests-conns), st.Reused)
	o.note("max=3: the server announces max=3, 2, 1 and closes after the third response, without \"Connection: close\"")
	return fmt.Sprintf("%s for %d, %d errors", plural(int64(srv.Accepted()), "conn"), requests, failed), nil
}

// keepAliveMaxHandler answers like a server that serves max requests per
// connection and announces it with "Keep-Alive: timeout=5, max=N", N
// counting down to 1. After the last request it closes the connection
// without a "Connection: close" header, so that only a client honouring
// the announcement knows not to reuse it.
func keepAliveMaxHandler(max int) http.Handler {
	var mu sync.Mutex
	served := make(map[net.Conn]int)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(net.Conn)
		mu.Lock()
		served[c]++
		n := served[c]
		if n >= max {
			delete(served, c)
		}
		mu.Unlock()
		if n < max {
			w.Header().Set("Keep-Alive", fmt.Sprintf("timeout=5, max=%d", max-n+1))
			io.WriteString(w, "ok\n")
			return
		}
		nc, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer nc.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nKeep-Alive: timeout=5, max=1\r\n\r\nok\n")
		buf.Flush()
	})
}
