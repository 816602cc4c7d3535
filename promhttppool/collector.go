// Package promhttppool exports an httppool.Transport's statistics as
// Prometheus metrics. It is a module of its own so that programs using
// httppool without Prometheus never download the Prometheus client.
//
//	t := httppool.New(httppool.Config{})
//	prometheus.MustRegister(promhttppool.NewCollector(t, promhttppool.WithName("api")))
//
// The metric names follow the Go database/sql collector's
// (go_sql_open_connections, go_sql_wait_count_total, ...).
package promhttppool

import (
	"github.com/httppool/httppool"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector for one Transport. Each scrape takes
// one Transport.Stats snapshot.
type Collector struct {
	t        *httppool.Transport
	perHost  bool
	open     *prometheus.Desc
	inUse    *prometheus.Desc
	idle     *prometheus.Desc
	dialing  *prometheus.Desc
	waiting  *prometheus.Desc
	waits    *prometheus.Desc
	waitSecs *prometheus.Desc
	requests *prometheus.Desc
	reused   *prometheus.Desc
	retries  *prometheus.Desc
	shared   *prometheus.Desc
	dials    *prometheus.Desc
	dialErrs *prometheus.Desc
	closed   *prometheus.Desc
	hostOpen *prometheus.Desc
	hostIdle *prometheus.Desc
	hostWait *prometheus.Desc
}

// Option configures a Collector.
type Option func(*options)

type options struct {
	name    string
	perHost bool
}

// WithName adds a constant label transport="name", to tell several
// Transports apart in one registry.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithPerHost adds per-host gauges labelled host="scheme://host:port". Off by
// default: a client that visits many hosts would create many series.
func WithPerHost() Option { return func(o *options) { o.perHost = true } }

// NewCollector returns a Collector of t's statistics.
func NewCollector(t *httppool.Transport, opts ...Option) *Collector {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var constLabels prometheus.Labels
	if o.name != "" {
		constLabels = prometheus.Labels{"transport": o.name}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("httppool_"+name, help, labels, constLabels)
	}
	return &Collector{
		t:        t,
		perHost:  o.perHost,
		open:     desc("open_connections", "Connections open: in use or idle."),
		inUse:    desc("in_use_connections", "Connections serving a request."),
		idle:     desc("idle_connections", "Connections idle in the pool."),
		dialing:  desc("dialing_connections", "Connections being dialed."),
		waiting:  desc("waiting_requests", "Requests waiting for a connection."),
		waits:    desc("wait_count_total", "Requests that had to wait for a connection."),
		waitSecs: desc("wait_duration_seconds_total", "Total time requests waited for a connection."),
		requests: desc("requests_total", "Requests sent."),
		reused:   desc("reused_total", "Requests served by a connection that had served before."),
		retries:  desc("retries_total", "Requests sent again after a reused connection failed."),
		shared:   desc("coalesced_total", "Requests served by an HTTP/2 connection made for another origin."),
		dials:    desc("dials_total", "Connections dialed, successfully or not."),
		dialErrs: desc("dial_errors_total", "Dials that failed."),
		closed:   desc("closed_connections_total", "Connections closed, by reason.", "reason"),
		hostOpen: desc("host_open_connections", "Connections open to a host.", "host"),
		hostIdle: desc("host_idle_connections", "Connections idle for a host.", "host"),
		hostWait: desc("host_waiting_requests", "Requests waiting for a connection to a host.", "host"),
	}
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.open, c.inUse, c.idle, c.dialing, c.waiting, c.waits, c.waitSecs,
		c.requests, c.reused, c.retries, c.shared, c.dials, c.dialErrs, c.closed,
	} {
		ch <- d
	}
	if c.perHost {
		ch <- c.hostOpen
		ch <- c.hostIdle
		ch <- c.hostWait
	}
}

// Collect takes a Stats snapshot and sends it as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.t.Stats()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.open, s.Open)
	gauge(c.inUse, s.InUse)
	gauge(c.idle, s.Idle)
	gauge(c.dialing, s.Dialing)
	gauge(c.waiting, s.Waiting)
	counter(c.waits, float64(s.WaitCount))
	counter(c.waitSecs, s.WaitDuration.Seconds())
	counter(c.requests, float64(s.Requests))
	counter(c.reused, float64(s.Reused))
	counter(c.retries, float64(s.Retries))
	counter(c.shared, float64(s.Coalesced))
	counter(c.dials, float64(s.Dials))
	counter(c.dialErrs, float64(s.DialErrors))
	for reason, n := range s.Closed {
		counter(c.closed, float64(n), reason)
	}
	if c.perHost {
		for host, hs := range s.Hosts {
			gauge(c.hostOpen, hs.Open, host)
			gauge(c.hostIdle, hs.Idle, host)
			gauge(c.hostWait, hs.Waiting, host)
		}
	}
}
