package otelhttppool_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/otelhttppool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A Transport's pool as OpenTelemetry metrics. A program passes its own
// meter provider, or none to use the global one; here an SDK provider with
// a manual reader shows what an exporter receives.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	cfg := httppool.Config{}
	if err := otelhttppool.RecordConnectionDurations(&cfg, otelhttppool.WithMeterProvider(provider)); err != nil {
		panic(err)
	}
	t := httppool.New(cfg)
	reg, err := otelhttppool.Register(t, otelhttppool.WithMeterProvider(provider))
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	for range 3 {
		resp, err := t.Client().Get(srv.URL)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	printMetrics(reader)
	fmt.Println("-- after Close")
	t.Close() // closes the idle connection: its duration is recorded
	printMetrics(reader, "http.client.connection.duration", "httppool.closes")
	// Output:
	// http.client.open_connections{http.connection.state=active} 0
	// http.client.open_connections{http.connection.state=idle} 1
	// httppool.coalesced{} 0
	// httppool.dial_errors{} 0
	// httppool.dialing_connections{} 0
	// httppool.dials{} 1
	// httppool.pending_requests{} 0
	// httppool.requests{} 3
	// httppool.retries{} 0
	// httppool.reuses{} 2
	// httppool.wait.time{} 0
	// httppool.waits{} 0
	// -- after Close
	// http.client.connection.duration{} count 1
	// httppool.closes{httppool.close.reason=transport_closed} 1
}

// printMetrics collects from reader and prints the data points of the
// named metrics, or of all, sorted.
func printMetrics(reader *sdkmetric.ManualReader, names ...string) {
	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if len(names) > 0 && !slices.Contains(names, m.Name) {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %d", m.Name, attrs(p.Attributes), p.Value))
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %g", m.Name, attrs(p.Attributes), p.Value))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s count %d", m.Name, attrs(p.Attributes), p.Count))
				}
			}
		}
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
}

func attrs(s attribute.Set) string {
	var kvs []string
	for _, kv := range s.ToSlice() {
		kvs = append(kvs, string(kv.Key)+"="+kv.Value.Emit())
	}
	return "{" + strings.Join(kvs, ",") + "}"
}
