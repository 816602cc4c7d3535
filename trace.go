package httppool

import (
	"errors"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
)

// The httptrace hooks of a request fire at the moments net/http fires them.
// GetConn and GotConn fire in the retry loop, PutIdleConn when a response
// ends; DNS and connect events come from the dialer through the context,
// TLS events from the handshake.

// wroteRequest fires WroteRequest and returns err.
func (pc *h1Conn) wroteRequest(err error) error {
	if t := pc.trace; t != nil && t.WroteRequest != nil {
		t.WroteRequest(httptrace.WroteRequestInfo{Err: err})
	}
	return err
}

// got1xx fires the hooks of an informational response: Got100Continue for
// the answer to "Expect: 100-continue", then Got1xxResponse, whose error
// aborts the request.
func (pc *h1Conn) got1xx(resp *http.Response) error {
	t := pc.trace
	if t == nil {
		return nil
	}
	if resp.StatusCode == http.StatusContinue && t.Got100Continue != nil {
		t.Got100Continue()
	}
	if t.Got1xxResponse != nil {
		return t.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header))
	}
	return nil
}

func traceGetConn(t *httptrace.ClientTrace, key connectKey) {
	if t != nil && t.GetConn != nil {
		t.GetConn(key.addr)
	}
}

func traceGotConn(t *try) {
	if t.trace != nil && t.trace.GotConn != nil {
		info := httptrace.GotConnInfo{Conn: t.conn.base().nc, Reused: t.reused, WasIdle: t.wasIdle}
		if t.wasIdle {
			info.IdleTime = t.idleTime
		}
		t.trace.GotConn(info)
	}
}

// tracePutIdleConn fires PutIdleConn once a response ended: with nil when
// its connection stays pooled, or the reason it was closed instead.
func tracePutIdleConn(t *httptrace.ClientTrace, closed closeReason) {
	if t == nil || t.PutIdleConn == nil {
		return
	}
	var err error
	switch closed {
	case closeReasonNone:
	case closeReasonClosed:
		err = ErrClosed
	default:
		err = errors.New("httppool: connection not pooled: " + closed.String())
	}
	t.PutIdleConn(err)
}
