package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
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
// client ran every workload it can, without error. The h2o workloads need
// h2o and h2load (Debian packages h2o and nghttp2-client): without them
// their checks are skipped, or fail under CI=true.
func TestSmoke(t *testing.T) {
	cfg := smokeConfig()
	rep, err := collect(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.writeText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Log("\n" + text)
	for _, w := range workloads(cfg.hosts, cfg.idleConns) {
		if !strings.Contains(text, w.name+":") {
			t.Errorf("no table for workload %s", w.name)
		}
	}
	if !strings.Contains(text, "fasthttp  n/a (no HTTP/2)") {
		t.Error("fasthttp not shown as n/a for HTTP/2")
	}
	for _, wr := range rep.Workloads {
		t.Run(wr.Name, func(t *testing.T) {
			for _, r := range wr.Clients {
				if r.Error != "" {
					t.Errorf("%s: %s", r.Client, r.Error)
				}
			}
			w := workloadNamed(t, wr.Name)
			if w.h2o {
				checkH2ORow(t, wr, &cfg)
			}
		})
	}
}

// checkH2ORow checks that every client ran an h2o workload's requests, and
// httppool and h2load on one connection. It skips, or fails under CI=true,
// when h2o or h2load is not installed.
func checkH2ORow(t *testing.T, wr *workloadResult, cfg *config) {
	for _, r := range wr.Clients {
		if r.NA == "" {
			continue
		}
		msg := fmt.Sprintf("%s: %s (.ci/run installs h2o and nghttp2-client)", r.Client, r.NA)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + ": in CI the h2o workloads must run")
		}
		t.Skip(msg)
	}
	names := make([]string, len(wr.Clients))
	for i, r := range wr.Clients {
		names[i] = r.Client
		if r.Requests != int64(cfg.requests) || r.CPUPerReq <= 0 || r.ReqPerSec <= 0 {
			t.Errorf("%s: %d requests at %.0f req/s, %.0f ns CPU each; want %d, both above 0",
				r.Client, r.Requests, r.ReqPerSec, r.CPUPerReq, cfg.requests)
		}
		// net/http dials again when its connection's streams are all in
		// use: its count is reported, not checked.
		if r.Client != "net/http" && r.DialsPerRound != 1 {
			t.Errorf("%s: %.0f connections a round, want 1", r.Client, r.DialsPerRound)
		}
		if wantExternal := r.Client == "h2load"; r.External != wantExternal {
			t.Errorf("%s: external %v, want %v", r.Client, r.External, wantExternal)
		}
	}
	if got := strings.Join(names, " "); got != "httppool net/http h2load" {
		t.Errorf("clients %s, want httppool net/http h2load", got)
	}
}

func workloadNamed(t *testing.T, name string) *workload {
	t.Helper()
	for _, w := range workloads(10, 50) {
		if w.name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return nil
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

func TestParseH2load(t *testing.T) {
	const report = `starting benchmark...
spawning thread #0: 1 total client(s). 200 total requests
Application protocol: h2c
progress: 10% done

finished in 1.08ms, 184672.21 req/s, 7.67MB/s
requests: 200 total, 264 started, 198 done, 197 succeeded, 1 failed, 2 errored, 3 timeout
status codes: 230 2xx, 1 3xx, 4 4xx, 5 5xx
traffic: 8.30KB (8499) total, 2.34KB (2400) headers (space savings 93.05%), 2.54KB (2600) data
`
	r, err := parseH2load(report)
	if err != nil {
		t.Fatal(err)
	}
	want := h2loadResult{done: 198, succeeded: 197, failed: 1, errored: 2, timeout: 3, not2xx: 10, proto: "h2c"}
	if r != want {
		t.Errorf("parsed %+v, want %+v", r, want)
	}
	for _, line := range []string{"Application protocol", "requests:", "status codes"} {
		var kept []string
		for l := range strings.SplitSeq(report, "\n") {
			if !strings.HasPrefix(l, line) {
				kept = append(kept, l)
			}
		}
		if _, err := parseH2load(strings.Join(kept, "\n")); err == nil {
			t.Errorf("no error for a report without its %q line", line)
		}
	}
}

// TestMissingPrograms checks that a missing h2o or h2load makes their rows
// say so, and costs the other rows nothing.
func TestMissingPrograms(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the h2o workloads run on Linux only")
	}
	cfg := smokeConfig()
	cfg.workloads = "get-c1,h2o-tls-c64"
	for _, tc := range []struct {
		missing *string
		want    map[string]string // client → the package its n/a names, or "" if it runs
	}{
		{&h2oName, map[string]string{"httppool": h2oPackage, "net/http": h2oPackage, "h2load": h2oPackage}},
		{&h2loadName, map[string]string{"httppool": "", "net/http": "", "h2load": h2loadPackage}},
	} {
		name := *tc.missing
		t.Run(name, func(t *testing.T) {
			if _, err := lookBinary(h2oName, h2oPackage); err != nil && name != "h2o" {
				t.Skip(err)
			}
			defer func(v string) { *tc.missing = v }(name)
			*tc.missing = "httppool-bench-no-such-program"
			rep, err := collect(cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Workloads) != 2 {
				t.Fatalf("%d workloads, want 2", len(rep.Workloads))
			}
			for _, r := range rep.Workloads[0].Clients {
				if !r.ok() {
					t.Errorf("get-c1: %s did not run: %s%s", r.Client, r.NA, r.Error)
				}
			}
			for _, r := range rep.Workloads[1].Clients {
				want := tc.want[r.Client]
				switch {
				case r.Error != "":
					t.Errorf("%s: error %s", r.Client, r.Error)
				case want == "" && !r.ok():
					t.Errorf("%s did not run: %s", r.Client, r.NA)
				case want != "" && !strings.HasSuffix(r.NA, " is not installed (Debian package "+want+")"):
					t.Errorf("%s: n/a %q, want it to name the missing package %s", r.Client, r.NA, want)
				}
			}
		})
	}
}
