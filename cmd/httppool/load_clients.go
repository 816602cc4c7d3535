package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/http3"
)

// loadClient is what a load run sends its requests through, with what can
// be said about its connections.
type loadClient struct {
	name   string
	client *http.Client
	open   func() int                    // connections open now, sampled during the run
	report func(peakOpen int) poolReport // what the connections did, after the run
	close  func()
	notes  []string // what the report must say about the client, e.g. what it cannot do
}

// poolReport is what a client's connections did during a run.
type poolReport struct {
	Source     string  `json:"source"` // where the numbers come from
	Dials      int64   `json:"dials"`
	DialErrors int64   `json:"dial_errors"`
	Attempts   int64   `json:"attempts"` // requests sent, retries included
	Reused     int64   `json:"reused"`   // attempts on a connection that had served before
	ReuseRatio float64 `json:"reuse_ratio"`
	PeakOpen   int     `json:"peak_open"`
	OpenAtEnd  int     `json:"open_at_end"`
	// The fields below are known for httppool only; null for net/http.
	Retries      *int64           `json:"retries"`
	Closed       map[string]int64 `json:"closed"` // connections closed, by reason
	WaitCount    *int64           `json:"wait_count"`
	WaitDuration *float64         `json:"wait_ms"`
	HTTP2Open    *int             `json:"http2_open_at_end"`
	// HTTP3 is what the pool knew of HTTP/3 at the end, under --http3;
	// null otherwise and for net/http, which has no HTTP/3.
	HTTP3 *http3Report `json:"http3"`
}

// http3Report is what an httppool Transport knew at the end of a run of
// the HTTP/3 of the load's origin (Stats and HTTP3Status).
type http3Report struct {
	OpenAtEnd   int       `json:"open_at_end"`           // Stats.HTTP3: open HTTP/3 connections
	Alternative string    `json:"alternative"`           // the h3 alternative learnt from Alt-Svc; "" when none
	BrokenUntil time.Time `json:"broken_until,omitzero"` // while HTTP/3 is marked broken, until when
	Failures    int       `json:"failures"`              // QUIC failures while TCP worked
}

// ratio returns part/whole, 0 when whole is 0.
func ratio(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// clientTLS returns the TLS configuration of the load's clients.
func (o *loadOptions) clientTLS(embedded *embeddedServer) *tls.Config {
	cfg := &tls.Config{InsecureSkipVerify: o.insecure}
	if embedded != nil {
		cfg.RootCAs = embedded.roots
	}
	return cfg
}

// newHTTPClient wraps rt in an http.Client that times each request out
// after -t and does not follow redirects, so that their status is counted.
func (o *loadOptions) newHTTPClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		Timeout:   o.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// poolClient returns the httppool client of a load run, configured by the
// command line.
func (o *loadOptions) poolClient(embedded *embeddedServer) *loadClient {
	cfg := httppool.Config{
		IdleTimeout:       o.idleTimeout,
		MaxIdlePerHost:    o.maxIdlePerHost,
		MaxConnsPerHost:   o.maxConnsPerHost,
		DisableKeepAlives: o.noPool,
		TLSClientConfig:   o.clientTLS(embedded),
		HTTP2:             httppool.HTTP2Config{Disable: o.http1, H2C: o.h2c},
	}
	if o.http3 {
		cfg.HTTP3.Dialer = &http3.Dialer{}
	}
	t := httppool.New(cfg)
	origin := o.origin(embedded)
	return &loadClient{
		name:   "httppool",
		client: o.newHTTPClient(t),
		open:   func() int { return t.Stats().Open },
		report: func(peakOpen int) poolReport {
			st := t.Stats()
			attempts := st.Requests + st.Retries
			waitMS := ms(st.WaitDuration)
			return poolReport{
				Source: "Transport.Stats", Dials: st.Dials, DialErrors: st.DialErrors,
				Attempts: attempts, Reused: st.Reused, ReuseRatio: ratio(st.Reused, attempts),
				PeakOpen: max(peakOpen, st.Open), OpenAtEnd: st.Open,
				Retries: &st.Retries, Closed: st.Closed,
				WaitCount: &st.WaitCount, WaitDuration: &waitMS, HTTP2Open: &st.HTTP2,
				HTTP3: o.http3Report(t, st, origin),
			}
		},
		close: func() { t.Close() },
	}
}

// http3Report returns what t knows of origin's HTTP/3, nil without --http3.
func (o *loadOptions) http3Report(t *httppool.Transport, st httppool.Stats, origin string) *http3Report {
	if !o.http3 {
		return nil
	}
	r := &http3Report{OpenAtEnd: st.HTTP3}
	if status, ok := t.HTTP3Status(origin); ok {
		r.Alternative, r.BrokenUntil, r.Failures = status.Alternative, status.BrokenUntil, status.Failures
	}
	return r
}

// origin returns the URL the load targets: the command line's, or the
// embedded server's.
func (o *loadOptions) origin(embedded *embeddedServer) string {
	if o.target != nil {
		return o.target.String()
	}
	return embedded.URL
}

// stdClient returns a net/http.Transport client with the same settings, for
// --compare. Its dials and open connections are counted by a wrapping
// DialContext and its reuse by httptrace. net/http has no HTTP/3: under
// --http3 it runs over TCP, and its notes say so.
func (o *loadOptions) stdClient(embedded *embeddedServer) *loadClient {
	dialer := &countingDialer{d: net.Dialer{Timeout: httppool.DefaultDialTimeout, KeepAlive: 30 * time.Second}}
	var protocols http.Protocols
	switch {
	case o.h2c:
		protocols.SetUnencryptedHTTP2(true)
	case o.http2:
		protocols.SetHTTP2(true)
	case o.http1:
		protocols.SetHTTP1(true)
	default:
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(true)
	}
	idleTimeout := o.idleTimeout
	switch {
	case idleTimeout == 0:
		idleTimeout = httppool.DefaultIdleTimeout
	case idleTimeout < 0:
		idleTimeout = 0 // net/http's "no limit"
	}
	maxIdle := o.maxIdlePerHost
	if maxIdle == 0 {
		maxIdle = o.c
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     o.clientTLS(embedded),
		TLSHandshakeTimeout: httppool.DefaultHandshakeTimeout,
		Protocols:           &protocols,
		MaxIdleConnsPerHost: maxIdle,
		MaxConnsPerHost:     o.maxConnsPerHost,
		IdleConnTimeout:     idleTimeout,
		DisableKeepAlives:   o.noPool,
	}
	traced := &reuseTracer{rt: tr}
	traced.trace = &httptrace.ClientTrace{GotConn: traced.gotConn}
	var notes []string
	if o.http3 {
		notes = append(notes, noHTTP3Note)
	}
	return &loadClient{
		notes:  notes,
		name:   "net/http",
		client: o.newHTTPClient(traced),
		open:   func() int { return int(dialer.open.Load()) },
		report: func(peakOpen int) poolReport {
			attempts, reused := traced.attempts.Load(), traced.reused.Load()
			open := int(dialer.open.Load())
			return poolReport{
				Source: "counting DialContext and httptrace", Dials: dialer.dials.Load(), DialErrors: dialer.errors.Load(),
				Attempts: attempts, Reused: reused, ReuseRatio: ratio(reused, attempts),
				PeakOpen: max(peakOpen, open), OpenAtEnd: open,
			}
		},
		close: tr.CloseIdleConnections,
	}
}

// noHTTP3Note is the net/http run's note under --http3.
const noHTTP3Note = "net/http has no HTTP/3 client: --http3 does not apply to it, its requests went over TCP"

// countingDialer dials TCP connections and counts them: dialed, failed and
// open now.
type countingDialer struct {
	d      net.Dialer
	dials  atomic.Int64
	errors atomic.Int64
	open   atomic.Int64
}

// DialContext dials addr and wraps the connection so that its close is counted.
func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	c, err := d.d.DialContext(ctx, network, addr)
	if err != nil {
		d.errors.Add(1)
		return nil, err
	}
	d.open.Add(1)
	return &countedConn{Conn: c, open: &d.open}, nil
}

// countedConn decrements its dialer's count of open connections once, when
// it is closed.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

// Close closes the connection.
func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// reuseTracer counts, through httptrace, the connections net/http hands to
// requests and how many of them had served before.
type reuseTracer struct {
	rt       http.RoundTripper
	trace    *httptrace.ClientTrace
	attempts atomic.Int64
	reused   atomic.Int64
}

// RoundTrip sends req with the tracer's hooks.
func (t *reuseTracer) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.rt.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), t.trace)))
}

// gotConn is the GotConn hook.
func (t *reuseTracer) gotConn(info httptrace.GotConnInfo) {
	t.attempts.Add(1)
	if info.Reused {
		t.reused.Add(1)
	}
}
