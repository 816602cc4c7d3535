package promhttppool

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/httppool/httppool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollectorExportsStats(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := httppool.New(httppool.Config{})
	defer tr.Close()
	client := tr.Client()
	for _, path := range []string{"/", "/", "/close", "/"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	c := NewCollector(tr, WithName("api"), WithPerHost())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	host := "http://" + strings.TrimPrefix(srv.URL, "http://")
	want := `
# HELP httppool_requests_total Requests sent.
# TYPE httppool_requests_total counter
httppool_requests_total{transport="api"} 4
# HELP httppool_reused_total Requests served by a connection that had served before.
# TYPE httppool_reused_total counter
httppool_reused_total{transport="api"} 2
# HELP httppool_dials_total Connections dialed, successfully or not.
# TYPE httppool_dials_total counter
httppool_dials_total{transport="api"} 2
# HELP httppool_idle_connections Connections idle in the pool.
# TYPE httppool_idle_connections gauge
httppool_idle_connections{transport="api"} 1
# HELP httppool_closed_connections_total Connections closed, by reason.
# TYPE httppool_closed_connections_total counter
httppool_closed_connections_total{reason="connection_close",transport="api"} 1
# HELP httppool_host_open_connections Connections open to a host.
# TYPE httppool_host_open_connections gauge
httppool_host_open_connections{host="` + host + `",transport="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"httppool_requests_total", "httppool_reused_total", "httppool_dials_total",
		"httppool_idle_connections", "httppool_closed_connections_total", "httppool_host_open_connections"); err != nil {
		t.Error(err)
	}
}
