package httppool

import (
	"sync/atomic"
	"time"
)

// Reasons a connection is closed: the keys of Stats.Closed.
const (
	CloseIdleTimeout        = "idle_timeout"           // idle longer than Config.IdleTimeout
	CloseMaxIdlePerHost     = "max_idle_per_host"      // the oldest idle connection over Config.MaxIdlePerHost
	CloseMaxIdle            = "max_idle"               // the least recently used over Config.MaxIdleConns
	CloseMaxLifetime        = "max_lifetime"           // older than Config.MaxLifetime
	CloseMaxRequests        = "max_requests"           // served Config.MaxRequestsPerConn requests
	CloseServerClosed       = "server_closed"          // found closed by the server when taken from the pool
	CloseConnectionClose    = "connection_close"       // "Connection: close" from either side, or a close-delimited body
	CloseHTTP10             = "http10_no_keep_alive"   // an HTTP/1.0 response without "Connection: keep-alive"
	CloseKeepAliveHeader    = "keep_alive_header"      // past the server's Keep-Alive timeout or max
	CloseUnreadBody         = "unread_body"            // body closed with too much left to drain
	CloseError              = "error"                  // an I/O or protocol error, or a cancelled request
	CloseTransportClosed    = "transport_closed"       // Close or Shutdown
	CloseIdleRequested      = "close_idle_connections" // CloseIdleConnections
	CloseKeepAlivesDisabled = "keep_alives_disabled"   // Config.DisableKeepAlives
	CloseRetryReplaced      = "replaced_for_retry"     // an idle connection traded for a new one to retry on
	CloseUpgraded           = "upgraded"               // handed to the caller by "101 Switching Protocols"
	CloseGoAway             = "goaway"                 // an HTTP/2 or HTTP/3 connection the server sent GOAWAY on, drained
	CloseUnsolicited        = "unsolicited_response"   // bytes arrived that answer no request: the stream is out of step
	CloseBodyUnsent         = "request_body_unsent"    // the server answered before the request body was all sent
	CloseLearnedIdleTimeout = "learned_idle_timeout"   // idle about as long as the server keeps connections, as learned (Config.DisableIdleTimeoutLearning)
)

// closeReason says why the pool closed a connection.
type closeReason uint8

const (
	closeReasonNone closeReason = iota
	closeReasonIdleTimeout
	closeReasonMaxIdlePerHost
	closeReasonMaxIdle
	closeReasonMaxLifetime
	closeReasonMaxRequests
	closeReasonServerClosed
	closeReasonConnectionClose
	closeReasonKeepAlive
	closeReasonUnreadBody
	closeReasonError
	closeReasonClosed
	closeReasonIdleClosed
	closeReasonNoPooling
	closeReasonRetry
	closeReasonUpgraded
	closeReasonGoAway
	closeReasonUnsolicited
	closeReasonBodyUnsent
	closeReasonHTTP10
	closeReasonLearnedIdle
	numCloseReasons
)

var closeReasonNames = [numCloseReasons]string{
	closeReasonNone:            "none",
	closeReasonIdleTimeout:     CloseIdleTimeout,
	closeReasonMaxIdlePerHost:  CloseMaxIdlePerHost,
	closeReasonMaxIdle:         CloseMaxIdle,
	closeReasonMaxLifetime:     CloseMaxLifetime,
	closeReasonMaxRequests:     CloseMaxRequests,
	closeReasonServerClosed:    CloseServerClosed,
	closeReasonConnectionClose: CloseConnectionClose,
	closeReasonKeepAlive:       CloseKeepAliveHeader,
	closeReasonUnreadBody:      CloseUnreadBody,
	closeReasonError:           CloseError,
	closeReasonClosed:          CloseTransportClosed,
	closeReasonIdleClosed:      CloseIdleRequested,
	closeReasonNoPooling:       CloseKeepAlivesDisabled,
	closeReasonRetry:           CloseRetryReplaced,
	closeReasonUpgraded:        CloseUpgraded,
	closeReasonGoAway:          CloseGoAway,
	closeReasonUnsolicited:     CloseUnsolicited,
	closeReasonBodyUnsent:      CloseBodyUnsent,
	closeReasonHTTP10:          CloseHTTP10,
	closeReasonLearnedIdle:     CloseLearnedIdleTimeout,
}

func (r closeReason) String() string { return closeReasonNames[r] }

// counters are the Transport's running totals, updated with atomics so that
// Stats never locks the pool.
type counters struct {
	requests     atomic.Int64
	reused       atomic.Int64
	retries      atomic.Int64
	coalesced    atomic.Int64
	dials        atomic.Int64
	dialErrors   atomic.Int64
	dialing      atomic.Int64
	opened       atomic.Int64
	open         [numProtos]atomic.Int64 // open connections by protocol
	idle         atomic.Int64
	waiting      atomic.Int64
	waitCount    atomic.Int64
	waitDuration atomic.Int64
	closed       [numCloseReasons]atomic.Int64
}

// Stats is a snapshot of a Transport's pool, shaped like database/sql.DBStats.
// It is read from atomic counters and, for Hosts, from each host's pool in
// turn, never under a lock over the whole Transport; while requests run, its
// gauges may be a request or two apart from each other.
type Stats struct {
	Open    int // connections open: in use or idle (not counting Dialing)
	InUse   int // connections serving a request
	Idle    int // connections idle in the pool
	Dialing int // connections being dialed
	Waiting int // requests waiting for a connection (Config.MaxConnsPerHost)
	HTTP1   int // open HTTP/1.1 connections
	HTTP2   int // open HTTP/2 connections, each serving many requests at once
	HTTP3   int // open HTTP/3 connections, each serving many requests at once

	WaitCount    int64         // requests that had to wait for a connection
	WaitDuration time.Duration // total time requests waited for a connection

	Requests   int64 // requests sent through RoundTrip
	Reused     int64 // attempts served by a connection that had served before
	Retries    int64 // requests sent again after a reused connection failed
	Coalesced  int64 // attempts served by an HTTP/2 connection dialed for another origin (coalescing; counted in Reused too)
	Dials      int64 // connections dialed, successfully or not
	DialErrors int64 // dials that failed

	// Closed counts closed connections by reason, keyed by the Close*
	// constants; reasons with no close are absent.
	Closed map[string]int64

	// Hosts holds a snapshot per pool key ("http://host:port").
	Hosts map[string]HostStats
}

// HostStats is a snapshot of one host's pool.
type HostStats struct {
	Open    int // connections open: in use or idle
	InUse   int // connections serving a request
	Idle    int // connections idle in the pool
	Dialing int // connections being dialed
	Waiting int // requests waiting for a connection
	HTTP2   int // of the open connections, those speaking HTTP/2
	HTTP3   int // of the open connections, those speaking HTTP/3

	// Coalesced is the pool key of the host whose HTTP/2 connection this
	// host's requests shared last (coalescing), empty if none. That
	// connection is counted in its own host's figures, not in these.
	Coalesced string

	// LearnedIdleTimeout is how long the server keeps an idle connection
	// open, as the pool learned it from the connections the server closed
	// (see Config.DisableIdleTimeoutLearning), in idle time as the client
	// measures it. Zero means none is known: the server closed no idle
	// connection lately, or keeps them longer than Config.IdleTimeout.
	LearnedIdleTimeout time.Duration
}

// Stats returns a snapshot of the pool's state and counters.
func (t *Transport) Stats() Stats {
	c := t.c
	s := c.counts()
	s.Hosts = make(map[string]HostStats)
	c.eachHost(func(hp *hostPool) {
		if hs := hp.stats(); hs != (HostStats{}) {
			s.Hosts[hp.key.String()] = hs
		}
	})
	return s
}

// HostStats returns a snapshot of the pool of one host, given as a URL's
// scheme and authority ("https://example.com" or "http://127.0.0.1:8080").
// A host with no connection open has only its LearnedIdleTimeout, if any.
// It reports false when the Transport holds nothing for that host.
func (t *Transport) HostStats(host string) (HostStats, bool) {
	key, err := t.c.keyForURL(host)
	if err != nil {
		return HostStats{}, false
	}
	v, ok := t.c.hosts.Load(key)
	if !ok {
		return t.c.learnedHostStats(key)
	}
	return v.(*hostPool).stats(), true
}

func (c *core) counts() Stats {
	k := &c.stats
	s := Stats{
		Idle:         int(k.idle.Load()),
		Dialing:      int(k.dialing.Load()),
		Waiting:      int(k.waiting.Load()),
		WaitCount:    k.waitCount.Load(),
		WaitDuration: time.Duration(k.waitDuration.Load()),
		Requests:     k.requests.Load(),
		Reused:       k.reused.Load(),
		Retries:      k.retries.Load(),
		Coalesced:    k.coalesced.Load(),
		Dials:        k.dials.Load(),
		DialErrors:   k.dialErrors.Load(),
		Closed:       make(map[string]int64),
	}
	var closed int64
	for r := closeReason(1); r < numCloseReasons; r++ {
		if n := k.closed[r].Load(); n > 0 {
			s.Closed[r.String()] = n
			closed += n
		}
	}
	s.Open = int(k.opened.Load() - closed)
	s.InUse = s.Open - s.Idle
	s.HTTP2 = int(k.open[protoH2].Load())
	s.HTTP3 = int(k.open[protoH3].Load())
	s.HTTP1 = s.Open - s.HTTP2 - s.HTTP3
	return s
}

func (hp *hostPool) stats() HostStats {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	open := hp.open - hp.dialing
	return HostStats{
		Open:    open,
		InUse:   open - hp.idle,
		Idle:    hp.idle,
		Dialing: hp.dialing,
		Waiting: len(hp.waiters),
		HTTP2:   hp.byProto[protoH2],
		HTTP3:   hp.byProto[protoH3],

		Coalesced:          hp.coalescedWithLocked(),
		LearnedIdleTimeout: hp.learnedIdleTimeout(),
	}
}
