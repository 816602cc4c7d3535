package httppool

import (
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

func traceGotConn(t *httptrace.ClientTrace, co checkout) {
	if t != nil && t.GotConn != nil {
		info := httptrace.GotConnInfo{Reused: co.reused, WasIdle: co.wasIdle}
		if co.c != nil {
			info.Conn = co.c.nc
		} else {
			info.Conn = co.h2.nc
		}
		if co.wasIdle {
			info.IdleTime = co.idleTime
		}
		t.GotConn(info)
	}
}
