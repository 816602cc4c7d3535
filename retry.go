package httppool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"syscall"
)

// roundTripWithRetry sends req on a pooled or new connection and, when a
// reused connection fails in a way that says the server closed it while it
// was idle, sends it again where that is safe (see Config.MaxRetries).
func (c *core) roundTripWithRetry(req *http.Request, key connectKey) (*http.Response, error) {
	if err := validateRequest(req); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	ctx := req.Context()
	trace := httptrace.ContextClientTrace(ctx)
	unprocessed := 0 // HTTP/2 resends of streams the server never processed
	for attempt := 0; ; attempt++ {
		fresh := attempt > 0 && attempt == c.maxRetries
		traceGetConn(trace, key)
		co, err := c.checkout(ctx, key, fresh)
		if err != nil {
			closeRequestBody(req)
			return nil, err
		}
		if co.reused {
			c.stats.reused.Add(1)
		}
		if co.h2 != nil {
			// x/net fires GotConn only in its own pool, which is not used.
			traceGotConn(trace, co)
			resp, err := co.h2.roundTrip(req)
			if err == nil {
				return resp, nil
			}
			if attempt >= c.maxRetries || ctx.Err() != nil || !h2Retryable(err) {
				return nil, err
			}
			// A stream that never started left the body untouched.
			if err.Error() != h2ErrUnusable {
				if !replayable(req) {
					return nil, err
				}
				if req, err = rewind(req); err != nil {
					return nil, err
				}
			}
			c.stats.retries.Add(1)
			// Every error h2Retryable accepts says the server did not
			// process the stream (refused, above a GOAWAY's last stream, or
			// never started), so, as x/net does, such a resend does not use
			// up MaxRetries: under load a fresh connection, shared with
			// other requests, can be shut out by the next GOAWAY too. A
			// bound keeps a server that refuses everything from looping.
			if unprocessed < maxUnprocessedResends {
				unprocessed++
				attempt--
			}
			continue
		}
		pc := co.c
		if co.reused {
			pc.logReused(co.idleTime)
		}
		traceGotConn(trace, co)
		resp, err := pc.roundTrip(ctx, req, trace)
		if err == nil {
			return resp, nil
		}
		bodyStarted := pc.bodyStarted
		if err = c.retryable(req, co, attempt, err); err != nil {
			if !bodyStarted {
				closeRequestBody(req)
			}
			return nil, err
		}
		if bodyStarted {
			if req, err = rewind(req); err != nil {
				return nil, err
			}
		}
		c.stats.retries.Add(1)
	}
}

// maxUnprocessedResends bounds the HTTP/2 resends of one request that do
// not count against Config.MaxRetries.
const maxUnprocessedResends = 10

// retryable returns nil when the request that failed on co may be sent
// again, or else the error to return: a *ConnError for a connection failure.
func (c *core) retryable(req *http.Request, co checkout, attempt int, err error) error {
	if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return err
	}
	var be *requestBodyError
	if errors.As(err, &be) {
		return err
	}
	pc := co.c
	ce := &ConnError{
		Err:              err,
		Reused:           co.reused,
		IdleTime:         co.idleTime,
		RequestWritten:   pc.nwritten > 0,
		ServerClosedIdle: co.reused && pc.nread == 0 && isConnGone(err),
	}
	if attempt >= c.maxRetries || !ce.ServerClosedIdle || !mayResend(req, ce.RequestWritten) {
		return ce
	}
	if pc.bodyStarted && !replayable(req) {
		return ce
	}
	return nil
}

// checkout finds the host's pool, looking again if it retired meanwhile.
func (c *core) checkout(ctx context.Context, key connectKey, fresh bool) (checkout, error) {
	for {
		co, err := c.hostPoolFor(key).get(ctx, fresh)
		if err != errHostPoolDead {
			return co, err
		}
	}
}

// isConnGone reports an error that means the peer closed or reset the connection.
func isConnGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// mayResend reports whether req may be sent again: always when none of it
// was written, otherwise only when it is idempotent.
func mayResend(req *http.Request, written bool) bool {
	if !written {
		return true
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	if !ok {
		_, ok = req.Header["X-Idempotency-Key"]
	}
	return ok
}

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns the request to send again with a fresh body from GetBody;
// the caller checked that req is replayable. It never modifies the caller's
// request.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("httppool: GetBody to resend the request: %w", err)
	}
	next := *req
	next.Body = body
	return &next, nil
}
