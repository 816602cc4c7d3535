// Package otelhttppool exports an httppool.Transport's statistics as
// OpenTelemetry metrics. It is a module of its own so that programs using
// httppool without OpenTelemetry never download it.
//
//	cfg := httppool.Config{IdleTimeout: 30 * time.Second}
//	// Optional: http.client.connection.duration, through cfg.Logger.
//	if err := otelhttppool.RecordConnectionDurations(&cfg); err != nil {
//		return err
//	}
//	t := httppool.New(cfg)
//	reg, err := otelhttppool.Register(t, otelhttppool.WithName("api"))
//	if err != nil {
//		return err
//	}
//	defer reg.Unregister()
//
// The metrics have the semantic conventions' names where these have one:
//
//	http.client.open_connections     {connection}  by http.connection.state: active or idle
//	http.client.connection.duration  s             see RecordConnectionDurations
//
// and names of their own, after the database/sql pool's, for the rest:
//
//	httppool.dialing_connections  {connection}  connections being dialed
//	httppool.pending_requests     {request}     requests waiting for a connection (MaxConnsPerHost)
//	httppool.requests             {request}     requests sent through RoundTrip
//	httppool.reuses               {request}     attempts served by a connection that had served before
//	httppool.retries              {request}     requests sent again after a reused connection failed
//	httppool.coalesced            {request}     requests served by an HTTP/2 connection made for another origin
//	httppool.dials                {dial}        connections dialed, successfully or not
//	httppool.dial_errors          {dial}        dials that failed
//	httppool.waits                {request}     requests that had to wait for a connection
//	httppool.wait.time            s             total time requests waited for a connection
//	httppool.closes               {connection}  connections closed, by httppool.close.reason
//
// Register observes all but the histogram from one Transport.Stats snapshot
// per collection: http.client.open_connections, httppool.dialing_connections
// and httppool.pending_requests as up-down counters, the others as
// counters. WithPerHost splits those three, and the histogram, by
// server.address, server.port and url.scheme. The semantic conventions
// require these attributes on the two http.client metrics; without
// WithPerHost they are left out, so that a client visiting many hosts does
// not create a series per host. Stats counts the other metrics for the whole
// Transport only, so they are never split by host.
package otelhttppool

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/httppool/httppool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// ScopeName is the instrumentation scope of the meter the metrics are
// created on.
const ScopeName = "github.com/httppool/httppool/otelhttppool"

// Attribute keys of this package's own.
const (
	// TransportNameKey tells Transports apart; see WithName.
	TransportNameKey = attribute.Key("httppool.transport.name")
	// CloseReasonKey is the reason of httppool.closes: one of httppool's
	// Close* constants.
	CloseReasonKey = attribute.Key("httppool.close.reason")
)

// Option configures Register and RecordConnectionDurations.
type Option func(*options)

type options struct {
	provider metric.MeterProvider
	name     string
	perHost  bool
}

// WithMeterProvider sets the meter provider the metrics are created on.
// Without it, the global one (otel.GetMeterProvider) is used.
func WithMeterProvider(p metric.MeterProvider) Option {
	return func(o *options) { o.provider = p }
}

// WithName adds the attribute httppool.transport.name=name to every
// measurement, to tell several Transports apart.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithPerHost splits the connection metrics by host: server.address,
// server.port and url.scheme. Off by default: a client that visits many
// hosts would create many series.
func WithPerHost() Option { return func(o *options) { o.perHost = true } }

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.provider == nil {
		o.provider = otel.GetMeterProvider()
	}
	return o
}

func (o *options) meter() metric.Meter { return o.provider.Meter(ScopeName) }

// baseAttrs returns the attributes every measurement carries.
func (o *options) baseAttrs() []attribute.KeyValue {
	if o.name == "" {
		return nil
	}
	return []attribute.KeyValue{TransportNameKey.String(o.name)}
}

// instruments are the observable instruments of one Transport.
type instruments struct {
	open     metric.Int64ObservableUpDownCounter
	dialing  metric.Int64ObservableUpDownCounter
	pending  metric.Int64ObservableUpDownCounter
	requests metric.Int64ObservableCounter
	reuses   metric.Int64ObservableCounter
	retries  metric.Int64ObservableCounter
	shared   metric.Int64ObservableCounter
	dials    metric.Int64ObservableCounter
	dialErrs metric.Int64ObservableCounter
	waits    metric.Int64ObservableCounter
	waitTime metric.Float64ObservableCounter
	closes   metric.Int64ObservableCounter
}

// Register creates the metrics of t on the meter provider and observes
// them with one Transport.Stats snapshot per collection. The returned
// Registration holds t: unregister it when t is closed.
func Register(t *httppool.Transport, opts ...Option) (metric.Registration, error) {
	o := newOptions(opts)
	m := o.meter()
	var ins instruments
	open, err := httpconv.NewClientOpenConnectionsObservable(m)
	ins.open = open.Inst()
	upDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		var i metric.Int64ObservableUpDownCounter
		if err == nil {
			i, err = m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
		return i
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		var i metric.Int64ObservableCounter
		if err == nil {
			i, err = m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
		return i
	}
	ins.dialing = upDown("httppool.dialing_connections", "{connection}", "Connections being dialed.")
	ins.pending = upDown("httppool.pending_requests", "{request}", "Requests waiting for a connection.")
	ins.requests = counter("httppool.requests", "{request}", "Requests sent.")
	ins.reuses = counter("httppool.reuses", "{request}", "Requests served by a connection that had served before.")
	ins.retries = counter("httppool.retries", "{request}", "Requests sent again after a reused connection failed.")
	ins.shared = counter("httppool.coalesced", "{request}", "Requests served by an HTTP/2 connection made for another origin.")
	ins.dials = counter("httppool.dials", "{dial}", "Connections dialed, successfully or not.")
	ins.dialErrs = counter("httppool.dial_errors", "{dial}", "Dials that failed.")
	ins.waits = counter("httppool.waits", "{request}", "Requests that had to wait for a connection.")
	ins.closes = counter("httppool.closes", "{connection}", "Connections closed, by reason.")
	if err == nil {
		ins.waitTime, err = m.Float64ObservableCounter("httppool.wait.time",
			metric.WithUnit("s"), metric.WithDescription("Total time requests waited for a connection."))
	}
	if err != nil {
		return nil, err
	}
	obs := &observer{t: t, ins: ins, perHost: o.perHost, base: o.baseAttrs()}
	return m.RegisterCallback(obs.observe,
		ins.open, ins.dialing, ins.pending, ins.requests, ins.reuses, ins.retries, ins.shared,
		ins.dials, ins.dialErrs, ins.waits, ins.waitTime, ins.closes)
}

// observer turns Stats snapshots into observations.
type observer struct {
	t       *httppool.Transport
	ins     instruments
	perHost bool
	base    []attribute.KeyValue
}

// hostGauges are the up-down counters' values for one set of host
// attributes.
type hostGauges struct {
	attrs                          []attribute.KeyValue
	active, idle, dialing, pending int64
}

func (ob *observer) observe(_ context.Context, o metric.Observer) error {
	s := ob.t.Stats()
	with := func(kvs ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributes(append(kvs, ob.base...)...)
	}
	if ob.perHost {
		// Pools that map to the same attributes (an origin reached directly
		// and through a proxy) are added up: one observation per set.
		byHost := make(map[attribute.Distinct]*hostGauges)
		for key, hs := range s.Hosts {
			attrs := hostAttrs(key)
			set := attribute.NewSet(attrs...)
			g := byHost[set.Equivalent()]
			if g == nil {
				g = &hostGauges{attrs: attrs}
				byHost[set.Equivalent()] = g
			}
			g.active += int64(hs.InUse)
			g.idle += int64(hs.Idle)
			g.dialing += int64(hs.Dialing)
			g.pending += int64(hs.Waiting)
		}
		for _, g := range byHost {
			o.ObserveInt64(ob.ins.open, g.active, with(append(g.attrs, stateActive)...))
			o.ObserveInt64(ob.ins.open, g.idle, with(append(g.attrs, stateIdle)...))
			o.ObserveInt64(ob.ins.dialing, g.dialing, with(g.attrs...))
			o.ObserveInt64(ob.ins.pending, g.pending, with(g.attrs...))
		}
	} else {
		o.ObserveInt64(ob.ins.open, int64(s.InUse), with(stateActive))
		o.ObserveInt64(ob.ins.open, int64(s.Idle), with(stateIdle))
		o.ObserveInt64(ob.ins.dialing, int64(s.Dialing), with())
		o.ObserveInt64(ob.ins.pending, int64(s.Waiting), with())
	}
	o.ObserveInt64(ob.ins.requests, s.Requests, with())
	o.ObserveInt64(ob.ins.reuses, s.Reused, with())
	o.ObserveInt64(ob.ins.retries, s.Retries, with())
	o.ObserveInt64(ob.ins.shared, s.Coalesced, with())
	o.ObserveInt64(ob.ins.dials, s.Dials, with())
	o.ObserveInt64(ob.ins.dialErrs, s.DialErrors, with())
	o.ObserveInt64(ob.ins.waits, s.WaitCount, with())
	o.ObserveFloat64(ob.ins.waitTime, s.WaitDuration.Seconds(), with())
	for reason, n := range s.Closed {
		o.ObserveInt64(ob.ins.closes, n, with(CloseReasonKey.String(reason)))
	}
	return nil
}

var (
	stateActive = semconv.HTTPConnectionStateActive
	stateIdle   = semconv.HTTPConnectionStateIdle
)

// hostAttrs returns the semantic conventions' attributes of a pool key:
// "scheme://host:port", followed by " via " and a proxy URL when there is a
// proxy. The http:// requests forwarded by one HTTP proxy share a pool whose
// key has no host: its server is the proxy. The slice is clipped, so that
// appending to it never writes into another's.
func hostAttrs(key string) []attribute.KeyValue {
	origin, proxy, _ := strings.Cut(key, " via ")
	scheme, addr, _ := strings.Cut(origin, "://")
	if addr == "" && proxy != "" {
		_, addr, _ = strings.Cut(proxy, "://")
		addr, _, _ = strings.Cut(addr, "/")
		if _, hostport, ok := strings.Cut(addr, "@"); ok {
			addr = hostport
		}
	}
	kvs := []attribute.KeyValue{semconv.URLScheme(scheme)}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		kvs = append(kvs, semconv.ServerAddress(addr))
	} else {
		kvs = append(kvs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			kvs = append(kvs, semconv.ServerPort(p))
		}
	}
	return slices.Clip(kvs)
}
