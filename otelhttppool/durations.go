package otelhttppool

import (
	"context"
	"log/slog"
	"time"

	"github.com/httppool/httppool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// closedEvent is the message of the debug record the pool logs when it
// closes a connection, with the attributes "host" (the pool key) and "age".
const closedEvent = "httppool: closed"

// connectionDurationBuckets suit pooled connections, which live from a
// request to hours; the semantic conventions advise none.
var connectionDurationBuckets = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 90, 120, 300, 600, 1800, 3600}

// RecordConnectionDurations sets cfg up, before httppool.New(cfg), so that
// the Transport records http.client.connection.duration: for each connection
// it closes, the time from its establishment (TCP and TLS done) to its
// close, in seconds. With WithPerHost each measurement carries
// server.address, server.port and url.scheme; WithName works as for
// Register.
//
// Stats keeps no per-connection durations and httppool has no connection
// hook yet, so this works through cfg.Logger: the logger is replaced by one
// whose handler records the pool's "closed" events and passes every record
// the previous logger wanted on to that logger's handler. The pool then
// builds its debug records, which costs each request a few allocations
// (about 4, 370 bytes, for a plain GET) where a nil Logger costs nothing.
// Connections handed to the caller by "101 Switching Protocols" are never
// closed by the pool and are not recorded.
func RecordConnectionDurations(cfg *httppool.Config, opts ...Option) error {
	o := newOptions(opts)
	hist, err := httpconv.NewClientConnectionDuration(o.meter(),
		metric.WithExplicitBucketBoundaries(connectionDurationBuckets...))
	if err != nil {
		return err
	}
	h := &durationHandler{hist: hist.Inst(), perHost: o.perHost, base: o.baseAttrs()}
	if cfg.Logger != nil {
		h.next = cfg.Logger.Handler()
	}
	cfg.Logger = slog.New(h)
	return nil
}

// durationHandler is an slog.Handler that records the durations of closed
// connections and hands records on to next.
type durationHandler struct {
	next    slog.Handler // nil when the Config had no Logger
	hist    metric.Float64Histogram
	perHost bool
	base    []attribute.KeyValue
}

// Enabled reports true at debug level, the pool's, and otherwise what next
// wants.
func (h *durationHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelDebug || h.next != nil && h.next.Enabled(ctx, l)
}

func (h *durationHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelDebug && r.Message == closedEvent {
		h.record(ctx, r)
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *durationHandler) record(ctx context.Context, r slog.Record) {
	var host string
	age := time.Duration(-1)
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "host":
			host = a.Value.String()
		case "age":
			if a.Value.Kind() == slog.KindDuration {
				age = a.Value.Duration()
			}
		}
		return true
	})
	if age < 0 {
		return
	}
	kvs := h.base
	if h.perHost && host != "" {
		kvs = append(hostAttrs(host), h.base...)
	}
	h.hist.Record(ctx, age.Seconds(), metric.WithAttributes(kvs...))
}

func (h *durationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	if c.next != nil {
		c.next = c.next.WithAttrs(attrs)
	}
	return &c
}

func (h *durationHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.next != nil {
		c.next = c.next.WithGroup(name)
	}
	return &c
}
