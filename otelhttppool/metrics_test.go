package otelhttppool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/httppool/httppool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// newReader returns a meter provider whose metrics the test collects by hand.
func newReader(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return reader, mp
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]metricdata.Metrics)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, ScopeName)
		}
		for _, m := range sm.Metrics {
			byName[m.Name] = m
		}
	}
	return byName
}

// points renders a metric's data points as "attrs=value" lines, sorted, with
// its kind: "updown", "counter" or "histogram" (where value is the count).
func points(m metricdata.Metrics) (kind string, lines []string) {
	line := func(set attribute.Set, v any) string {
		var kvs []string
		for _, kv := range set.ToSlice() {
			kvs = append(kvs, string(kv.Key)+"="+kv.Value.Emit())
		}
		return "{" + strings.Join(kvs, ",") + "} " + fmt.Sprint(v)
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		kind = "updown"
		if d.IsMonotonic {
			kind = "counter"
		}
		for _, p := range d.DataPoints {
			lines = append(lines, line(p.Attributes, p.Value))
		}
	case metricdata.Sum[float64]:
		kind = "counter"
		for _, p := range d.DataPoints {
			lines = append(lines, line(p.Attributes, p.Value))
		}
	case metricdata.Histogram[float64]:
		kind = "histogram"
		for _, p := range d.DataPoints {
			lines = append(lines, line(p.Attributes, p.Count))
		}
	}
	sort.Strings(lines)
	return kind, lines
}

func readAll(t *testing.T, client *http.Client, url string) {
	t.Helper()
	if err := get(client, url); err != nil {
		t.Fatal(err)
	}
}

func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Real requests through a Transport, then one collection: every metric has
// its name, unit, kind, attributes and the value the pool's Stats give.
func TestRegisterExportsStats(t *testing.T) {
	testStart := time.Now()
	release := make(chan struct{})
	blocked := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
		case "/block":
			close(blocked)
			<-release
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// A loopback port nobody listens on, for a dial error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	reader, mp := newReader(t)
	cfg := httppool.Config{MaxConnsPerHost: 1}
	if err := RecordConnectionDurations(&cfg, WithMeterProvider(mp), WithName("api"), WithPerHost()); err != nil {
		t.Fatal(err)
	}
	tr := httppool.New(cfg)
	defer tr.Close()
	reg, err := Register(tr, WithMeterProvider(mp), WithName("api"), WithPerHost())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()

	client := tr.Client()
	for _, path := range []string{"/", "/", "/close", "/"} {
		readAll(t, client, srv.URL+path)
	}
	// One request holds the host's only connection (MaxConnsPerHost 1)
	// while another waits for it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := get(client, srv.URL+"/block"); err != nil {
			t.Error(err)
		}
	}()
	<-blocked
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		if err := get(client, srv.URL+"/"); err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, "a request to wait for a connection", func() bool { return tr.Stats().Waiting == 1 })

	// While they wait, the gauges show it.
	host := "server.address=127.0.0.1,server.port=" + port + ",url.scheme=http"
	m := collect(t, reader)
	for name, want := range map[string][]string{
		"http.client.open_connections": {
			"{http.connection.state=active,httppool.transport.name=api," + host + "} 1",
			"{http.connection.state=idle,httppool.transport.name=api," + host + "} 0",
		},
		"httppool.pending_requests":    {"{httppool.transport.name=api," + host + "} 1"},
		"httppool.dialing_connections": {"{httppool.transport.name=api," + host + "} 0"},
	} {
		if kind, got := points(m[name]); kind != "updown" || !slices.Equal(got, want) {
			t.Errorf("%s while waiting: %s %q, want updown %q", name, kind, got, want)
		}
	}
	close(release)
	<-done
	<-waited
	if _, err := client.Get(refused); err == nil {
		t.Fatal("request to a closed port succeeded")
	}

	s := tr.Stats()
	if s.Requests != 7 || s.Dials != 3 || s.DialErrors != 1 || s.WaitCount != 1 || s.Closed[httppool.CloseConnectionClose] != 1 {
		t.Fatalf("Stats %+v: the scenario went otherwise than planned", s)
	}
	m = collect(t, reader)
	name := "{httppool.transport.name=api} "
	want := map[string]struct {
		kind, unit string
		points     []string
	}{
		"http.client.open_connections": {"updown", "{connection}", []string{
			"{http.connection.state=active,httppool.transport.name=api," + host + "} 0",
			"{http.connection.state=idle,httppool.transport.name=api," + host + "} 1",
		}},
		"httppool.pending_requests":    {"updown", "{request}", []string{"{httppool.transport.name=api," + host + "} 0"}},
		"httppool.dialing_connections": {"updown", "{connection}", []string{"{httppool.transport.name=api," + host + "} 0"}},
		"httppool.requests":            {"counter", "{request}", []string{name + "7"}},
		"httppool.reuses":              {"counter", "{request}", []string{name + strconv.FormatInt(s.Reused, 10)}},
		"httppool.retries":             {"counter", "{request}", []string{name + "0"}},
		"httppool.coalesced":           {"counter", "{request}", []string{name + "0"}},
		"httppool.dials":               {"counter", "{dial}", []string{name + "3"}},
		"httppool.dial_errors":         {"counter", "{dial}", []string{name + "1"}},
		"httppool.waits":               {"counter", "{request}", []string{name + "1"}},
		"httppool.closes":              {"counter", "{connection}", []string{"{httppool.close.reason=connection_close,httppool.transport.name=api} 1"}},
		"http.client.connection.duration": {"histogram", "s", []string{
			"{httppool.transport.name=api," + host + "} 1",
		}},
	}
	for name, w := range want {
		got, ok := m[name]
		if !ok {
			t.Errorf("%s not exported", name)
			continue
		}
		kind, lines := points(got)
		if kind != w.kind || got.Unit != w.unit || !slices.Equal(lines, w.points) {
			t.Errorf("%s: %s %s %q\nwant %s %s %q", name, kind, got.Unit, lines, w.kind, w.unit, w.points)
		}
	}
	if s.Reused < 3 {
		t.Errorf("%d reuses, want at least 3", s.Reused)
	}
	wt, ok := m["httppool.wait.time"].Data.(metricdata.Sum[float64])
	if !ok || len(wt.DataPoints) != 1 || wt.DataPoints[0].Value != s.WaitDuration.Seconds() || wt.DataPoints[0].Value <= 0 {
		t.Errorf("httppool.wait.time %+v, want one positive point of %v s", m["httppool.wait.time"].Data, s.WaitDuration.Seconds())
	}
	if len(m) != len(want)+1 {
		t.Errorf("%d metrics exported, want %d", len(m), len(want)+1)
	}

	// Closing the Transport closes its last connection: both closes are in
	// the histogram, each as long as the connection lived, which was within
	// the test.
	tr.Close()
	m = collect(t, reader)
	h, _ := m["http.client.connection.duration"].Data.(metricdata.Histogram[float64])
	if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 2 {
		t.Fatalf("connection durations %+v, want 2 in one point", h.DataPoints)
	}
	if p := h.DataPoints[0]; p.Sum <= 0 || p.Sum > 2*time.Since(testStart).Seconds() {
		t.Errorf("connection durations sum to %v s, want more than 0, at most twice the test's %v",
			p.Sum, time.Since(testStart))
	}
	if _, lines := points(m["httppool.closes"]); !slices.Contains(lines, "{httppool.close.reason=transport_closed,httppool.transport.name=api} 1") {
		t.Errorf("httppool.closes %q, want a transport_closed close", lines)
	}
}

// Without WithPerHost the connection metrics have one series per state,
// whatever the hosts, and no host attribute.
func TestRegisterWithoutPerHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv2.Close()
	reader, mp := newReader(t)
	tr := httppool.New(httppool.Config{})
	defer tr.Close()
	reg, err := Register(tr, WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	readAll(t, tr.Client(), srv.URL)
	readAll(t, tr.Client(), srv2.URL)

	m := collect(t, reader)
	if _, got := points(m["http.client.open_connections"]); !slices.Equal(got, []string{
		"{http.connection.state=active} 0", "{http.connection.state=idle} 2",
	}) {
		t.Errorf("http.client.open_connections %q", got)
	}
	if _, got := points(m["httppool.dialing_connections"]); !slices.Equal(got, []string{"{} 0"}) {
		t.Errorf("httppool.dialing_connections %q", got)
	}
	if _, ok := m["http.client.connection.duration"]; ok {
		t.Error("connection durations recorded without RecordConnectionDurations")
	}
}

// Unregister stops the observations.
func TestUnregister(t *testing.T) {
	reader, mp := newReader(t)
	tr := httppool.New(httppool.Config{})
	defer tr.Close()
	reg, err := Register(tr, WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	if len(collect(t, reader)) == 0 {
		t.Fatal("nothing exported while registered")
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if m := collect(t, reader); len(m) != 0 {
		t.Errorf("%d metrics exported after Unregister", len(m))
	}
}

// The Config's own Logger still gets the records it asks for, and only those.
func TestRecordConnectionDurationsKeepsLogger(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			reader, mp := newReader(t)
			var buf bytes.Buffer
			cfg := httppool.Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))}
			if err := RecordConnectionDurations(&cfg, WithMeterProvider(mp)); err != nil {
				t.Fatal(err)
			}
			tr := httppool.New(cfg)
			defer tr.Close()
			readAll(t, tr.Client(), srv.URL)
			waitFor(t, "the close to be counted", func() bool { return tr.Stats().Closed[httppool.CloseConnectionClose] == 1 })

			logged := strings.Contains(buf.String(), "httppool: closed")
			if logged != (level == slog.LevelDebug) {
				t.Errorf("logger at %v logged the close: %v\n%s", level, logged, buf.String())
			}
			h, _ := collect(t, reader)["http.client.connection.duration"].Data.(metricdata.Histogram[float64])
			if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 || h.DataPoints[0].Attributes.Len() != 0 {
				t.Errorf("connection durations %+v, want one, without attributes", h.DataPoints)
			}
		})
	}
}

func TestHostAttrs(t *testing.T) {
	for key, want := range map[string]string{
		"http://127.0.0.1:8080": "url.scheme=http server.address=127.0.0.1 server.port=8080",
		"https://[::1]:443":     "url.scheme=https server.address=::1 server.port=443",
		"https://example.com:443 via http://u:xxxxx@proxy.test:3128": "url.scheme=https server.address=example.com server.port=443",
		"http:// via http://u:xxxxx@proxy.test:3128":                 "url.scheme=http server.address=proxy.test server.port=3128",
		"http:// via socks5://proxy.test":                            "url.scheme=http server.address=proxy.test",
	} {
		var got []string
		for _, kv := range hostAttrs(key) {
			got = append(got, string(kv.Key)+"="+kv.Value.Emit())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("hostAttrs(%q) = %q, want %q", key, got, want)
		}
	}
}
