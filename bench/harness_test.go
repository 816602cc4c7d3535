package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/httppool/httppool/internal/benchserver"
)

func TestMain(m *testing.M) {
	// The harness starts this test binary again as the benchmark server.
	benchserver.ChildMain()
	os.Exit(m.Run())
}

// smokeConfig runs every workload on a few hundred requests, unpinned so
// that the test leaves the process's CPU affinity alone.
func smokeConfig() config {
	cfg := defaultConfig()
	cfg.rounds = 1
	cfg.requests = 200
	cfg.hosts = 10
	cfg.idleConns = 50
	cfg.pin = false
	return cfg
}

// TestSmoke runs the whole harness on tiny workloads and checks that every
// client ran every workload it can, without error.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	if err := run(smokeConfig(), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Log("\n" + text)
	if strings.Contains(text, "error:") {
		t.Error("a client failed")
	}
	for _, w := range workloads(10, 50) {
		if !strings.Contains(text, w.name+":") {
			t.Errorf("no table for workload %s", w.name)
		}
	}
	if !strings.Contains(text, "fasthttp  n/a (no HTTP/2)") {
		t.Error("fasthttp not shown as n/a for HTTP/2")
	}
}

func TestSmokeJSON(t *testing.T) {
	cfg := smokeConfig()
	cfg.workloads = "get-c64,idle"
	cfg.json = true
	var out bytes.Buffer
	if err := run(cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Workloads) != 1 || len(rep.Workloads[0].Clients) != len(clientKinds) {
		t.Fatalf("workloads %+v, want get-c64 with %d clients", rep.Workloads, len(clientKinds))
	}
	for _, r := range rep.Workloads[0].Clients {
		if r.Requests != int64(cfg.requests) || r.Error != "" {
			t.Errorf("%s: %d requests, error %q; want %d, none", r.Client, r.Requests, r.Error, cfg.requests)
		}
	}
	for _, r := range rep.Idle {
		if r.Conns != cfg.idleConns || r.DialsPerRound != float64(cfg.idleConns) {
			t.Errorf("idle %s: %d connections, %.0f dials; want %d of each", r.Client, r.Conns, r.DialsPerRound, cfg.idleConns)
		}
	}
}

func TestSelectWorkloads(t *testing.T) {
	all := workloads(10, 50)
	got, err := selectWorkloads(all, "get-c, idle")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range got {
		names = append(names, w.name)
	}
	if want := "get-c1 get-c64 get-c512 idle"; strings.Join(names, " ") != want {
		t.Errorf("selected %v, want %s", names, want)
	}
	if _, err := selectWorkloads(all, "nothing"); err == nil {
		t.Error("no error for a filter that matches nothing")
	}
}

func TestNameSelected(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		want       bool
	}{
		{"httppool", "", true},
		{"httppool", "httppool", true},
		{"net/http", "httppool, net/http", true},
		{"fasthttp", "httppool,net/http", false},
		{"http", "httppool", false},
	} {
		if got := nameSelected(tc.name, tc.list); got != tc.want {
			t.Errorf("nameSelected(%q, %q) = %v, want %v", tc.name, tc.list, got, tc.want)
		}
	}
}

func TestRoundsLine(t *testing.T) {
	res := func(client string, cpu ...float64) *result {
		return &result{Client: client, Requests: 1, RoundCPUPerReq: cpu}
	}
	rs := []*result{
		res("httppool", 10, 12, 9, 11),
		res("net/http", 20, 20, 20, 20),
		res("fasthttp", 10, 10, 10, 10),
	}
	want := "  httppool cpu/req by round: 0.45-0.60x net/http (median 0.53x), 0.90-1.20x fasthttp (median 1.05x)"
	if got := roundsLine(rs); got != want {
		t.Errorf("roundsLine:\n got %q\nwant %q", got, want)
	}
	if got := roundsLine([]*result{res("httppool", 1, 2), res("net/http", 1, 2)}); got != "" {
		t.Errorf("two rounds give %q, want no line", got)
	}
}
