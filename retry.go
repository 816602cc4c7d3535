package httppool

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
)

// retryable decides what follows a failed try of req: send it again, or
// return the error, as a *ConnError when the connection failed. A request
// may be sent again when the server cannot have acted on it: it said so
// (unprocessed: REFUSED_STREAM, a GOAWAY that excluded it, a stream never
// started), or a reused connection failed before any byte of the response
// in a way that says the server had closed it while idle, and the request
// was not written or is idempotent; the same goes for a connection to the
// origin's alternative service (HTTP/3) lost before any response byte,
// reused or not, the resend going to the origin's own connections.
// Its body must be replayable once read.
// Only Config.MaxRetries tries are made.
func (c *core) retryable(req *http.Request, t *try, out outcome, attempt int, err error) (retry bool, _ error) {
	if ctxErr := req.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return false, err
	}
	var be *requestBodyError
	if errors.As(err, &be) {
		return false, err
	}
	// A connection taken idle, reused or dialed ahead (preconnect.go), may
	// have been closed by the server meanwhile.
	ce := &ConnError{
		Err:              err,
		Reused:           t.reused,
		IdleTime:         t.idleTime,
		RequestWritten:   out.written,
		ServerClosedIdle: (t.reused || t.wasIdle) && !out.responded && !out.unprocessed && isConnGone(err),
	}
	if ce.ServerClosedIdle {
		t.learnClosed()
	}
	switch {
	case attempt >= c.maxRetries || out.bodyStarted && !replayable(req):
		return false, ce
	case out.unprocessed:
		return true, nil
	case out.viaAlt && !out.responded && isConnGone(err) && mayResend(req, out.written):
		return true, nil
	case !ce.ServerClosedIdle || !mayResend(req, ce.RequestWritten):
		return false, ce
	}
	return true, nil
}

// isConnGone reports an error that means the peer closed or reset the connection.
func isConnGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || h3ConnGone(err)
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
