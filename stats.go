package httppool

import (
	"sync/atomic"
	"time"
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
	closeReasonError
	closeReasonClosed
	closeReasonIdleClosed
	closeReasonNoPooling
	closeReasonRetry
	closeReasonUpgraded
	closeReasonUnreadBody
	numCloseReasons
)

var closeReasonNames = [numCloseReasons]string{
	closeReasonNone:            "none",
	closeReasonIdleTimeout:     "idle_timeout",
	closeReasonMaxIdlePerHost:  "max_idle_per_host",
	closeReasonMaxIdle:         "max_idle",
	closeReasonMaxLifetime:     "max_lifetime",
	closeReasonMaxRequests:     "max_requests",
	closeReasonServerClosed:    "server_closed",
	closeReasonConnectionClose: "connection_close",
	closeReasonKeepAlive:       "keep_alive_header",
	closeReasonError:           "error",
	closeReasonClosed:          "transport_closed",
	closeReasonIdleClosed:      "close_idle_connections",
	closeReasonNoPooling:       "pooling_disabled",
	closeReasonRetry:           "replaced_for_retry",
	closeReasonUpgraded:        "upgraded",
	closeReasonUnreadBody:      "unread_body",
}

func (r closeReason) String() string { return closeReasonNames[r] }

// counters are the Transport's running totals, updated with atomics so that
// Stats never locks the pool.
type counters struct {
	requests     atomic.Int64
	reused       atomic.Int64
	retries      atomic.Int64
	dials        atomic.Int64
	dialErrors   atomic.Int64
	opened       atomic.Int64
	idle         atomic.Int64
	waiting      atomic.Int64
	waitCount    atomic.Int64
	waitDuration atomic.Int64
	closed       [numCloseReasons]atomic.Int64
}

// Stats is a snapshot of a Transport's pool, shaped like database/sql.DBStats.
// Gauges (Open, Idle, InUse, Waiting) are read one by one without a lock, so
// under load they may disagree by a request or two.
type Stats struct {
	Open    int // connections open now: dialing, in use or idle
	InUse   int // connections serving a request
	Idle    int // connections idle in the pool
	Waiting int // requests waiting for a connection (MaxConnsPerHost)

	WaitCount    int64         // requests that had to wait for a connection
	WaitDuration time.Duration // total time requests waited

	Requests   int64 // requests sent
	Reused     int64 // requests served by a pooled connection
	Retries    int64 // requests sent again after a reused connection failed
	Dials      int64 // connections dialed, successful or not
	DialErrors int64 // dials that failed

	// Closed counts the connections closed, by reason: "idle_timeout",
	// "max_idle_per_host", "max_idle", "max_lifetime", "max_requests",
	// "server_closed", "connection_close", "keep_alive_header", "error",
	// "transport_closed", "close_idle_connections", "pooling_disabled",
	// "replaced_for_retry", "upgraded", "unread_body".
	Closed map[string]int64
}

// Stats returns a snapshot of the pool's state and counters.
func (t *Transport) Stats() Stats {
	c := &t.c.stats
	var closed int64
	s := Stats{
		Idle:         int(c.idle.Load()),
		Waiting:      int(c.waiting.Load()),
		WaitCount:    c.waitCount.Load(),
		WaitDuration: time.Duration(c.waitDuration.Load()),
		Requests:     c.requests.Load(),
		Reused:       c.reused.Load(),
		Retries:      c.retries.Load(),
		Dials:        c.dials.Load(),
		DialErrors:   c.dialErrors.Load(),
		Closed:       make(map[string]int64),
	}
	for r := closeReason(1); r < numCloseReasons; r++ {
		if n := c.closed[r].Load(); n > 0 {
			s.Closed[r.String()] = n
			closed += n
		}
	}
	s.Open = int(c.opened.Load() - closed)
	s.InUse = s.Open - s.Idle
	return s
}
