package httppool

import (
	"context"
	"errors"
	"io"
	"net/http"
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
	for attempt := 0; ; attempt++ {
		fresh := attempt > 0 && attempt == c.maxRetries
		co, err := c.checkout(ctx, key, fresh)
		if err != nil {
			closeRequestBody(req)
			return nil, err
		}
		if co.reused {
			c.stats.reused.Add(1)
		}
		pc := co.c
		resp, err := pc.roundTrip(ctx, req)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		var be *requestBodyError
		if errors.As(err, &be) {
			return nil, err
		}
		ce := &ConnError{
			Err:              err,
			Reused:           co.reused,
			IdleTime:         co.idleTime,
			RequestWritten:   pc.nwritten > 0,
			ServerClosedIdle: co.reused && pc.nread == 0 && isConnGone(err),
		}
		if attempt >= c.maxRetries || !ce.ServerClosedIdle || !mayResend(req, ce.RequestWritten) {
			return nil, ce
		}
		next, ok := rewind(req)
		if !ok {
			return nil, ce
		}
		req = next
		c.stats.retries.Add(1)
	}
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

// rewind returns the request to send again with a fresh body, or false when
// its body cannot be replayed. It never modifies the caller's request.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	next := *req
	next.Body = body
	return &next, true
}
