package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/internal/memnet"
)

// learnedIdleTimeoutScenario shows the pool learning a server's idle
// timeout from the connections the server closes, so that POSTs, which
// cannot be sent again once written, stop failing at that timeout.
func learnedIdleTimeoutScenario() scenario {
	return scenario{
		name: "learned-idle-timeout",
		what: "a server 10ms away (an in-memory link) closes connections idle for 200ms without saying so; " +
			"one-shot POSTs go 186ms to 192ms after the previous response, with learning off, then on",
		expected:   "learning off: POSTs fail; on: only the first, none once learned",
		background: true,
		run:        runLearnedIdleTimeout,
	}
}

const (
	learnServerIdle = 200 * time.Millisecond
	learnOneWay     = 10 * time.Millisecond
	learnPOSTs      = 12
)

// runLearnedIdleTimeout runs the POSTs without learning, then with it.
func runLearnedIdleTimeout(ctx context.Context, o *outcome) error {
	off, err := learnPass(ctx, true)
	if err != nil {
		return err
	}
	on, err := learnPass(ctx, false)
	if err != nil {
		return err
	}
	o.recordStats(on.stats)
	o.atLeast("learning off: POSTs that failed (sent as the server closed the connection)", 2, int64(off.failed))
	o.equal("learning off: idle timeout learned (ms)", 0, int64(ms(off.learned)))
	o.equal("learning on: POSTs that failed once the timeout was learned", 0, int64(on.failedLearned))
	o.atMost("learning on: POSTs that failed while learning", 1, int64(on.failed-on.failedLearned))
	// A failed POST teaches the idle time it was sent at, at most a round
	// trip short of the server's timeout; a close found at checkout, the
	// idle time it was found at, which a busy machine may make later.
	o.expect("learning on: idle timeout learned, at most a round trip short of the server's",
		on.learned >= learnServerIdle-2*learnOneWay,
		fmt.Sprintf(">= %s", learnServerIdle-2*learnOneWay), fmtDur(on.learned))
	o.atLeast("learning on: connections closed for the learned timeout (Stats.Closed[learned_idle_timeout])", 1,
		on.stats.Closed[httppool.CloseLearnedIdleTimeout])
	o.measure("off_failed", off.failed)
	o.measure("on_failed", on.failed)
	o.measure("on_failed_after_learning", on.failedLearned)
	o.measure("learned_ms", on.learned)
	o.measure("on_dials", on.stats.Dials)
	if off.firstErr != nil {
		o.note("learning off: %s", off.firstErr)
	}
	o.note("a POST sent 186ms to 192ms after a response reaches the server 20ms later, after its 200ms timeout; " +
		"the server's close reaches the client at 200ms, too late for the liveness check")
	o.note("learning on: the first failure teaches the pool %s; from then on a connection idle that long is not "+
		"used, and each POST dials (%d dials for %d POSTs)", fmtDur(on.learned), on.stats.Dials, learnPOSTs+1)
	o.observe("off: %d of %d POSTs failed; on: %d failed, %d once learned (%s)",
		off.failed, learnPOSTs+1, on.failed, on.failedLearned, fmtDur(on.learned))
	return nil
}

// learnResult is what one pass observed.
type learnResult struct {
	failed, failedLearned int
	firstErr              error
	learned               time.Duration
	stats                 httppool.Stats
}

// learnPass sends learnPOSTs+1 one-shot POSTs, each 186ms to 192ms after the
// previous one ended, to a server that closes connections idle for 200ms.
func learnPass(ctx context.Context, disable bool) (learnResult, error) {
	var res learnResult
	ln := memnet.NewStreamListener(learnOneWay)
	srv := &http.Server{
		IdleTimeout: learnServerIdle,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok\n")
		}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	defer func() {
		srv.Close()
		<-done
	}()
	t := httppool.New(httppool.Config{
		// In memory: nothing leaves the process.
		DialContext:                func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.Dial(ctx) },
		DisableIdleTimeoutLearning: disable,
	})
	defer t.Close()
	const url = "http://learn.demo/"
	gaps := []time.Duration{-14, -10, -8, -12, -9}
	for i := range learnPOSTs + 1 {
		if i > 0 {
			if err := sleep(ctx, learnServerIdle+gaps[i%len(gaps)]*time.Millisecond); err != nil {
				return res, err
			}
		}
		hs, _ := t.HostStats(url)
		learned := hs.LearnedIdleTimeout > 0
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, oneShotBody{strings.NewReader("payload")})
		if err != nil {
			return res, err
		}
		resp, err := t.RoundTrip(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			var ce *httppool.ConnError
			if !errors.As(err, &ce) || !ce.RequestWritten {
				return res, fmt.Errorf("POST %d: %w", i, err)
			}
			res.failed++
			if learned {
				res.failedLearned++
			}
			if res.firstErr == nil {
				res.firstErr = err
			}
		}
	}
	hs, _ := t.HostStats(url)
	res.learned = hs.LearnedIdleTimeout
	res.stats = t.Stats()
	return res, nil
}

// oneShotBody is a request body that cannot be read twice: without
// GetBody, a POST carrying it is never sent again once written.
type oneShotBody struct{ io.Reader }
