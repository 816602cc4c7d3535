package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// loadHTTP3JSON is the part of a "load --json" run the HTTP/3 tests look at.
type loadHTTP3JSON struct {
	Runs []struct {
		Client string   `json:"client"`
		Notes  []string `json:"notes"`
		Pool   struct {
			Dials int64 `json:"dials"`
			HTTP3 *struct {
				OpenAtEnd   int    `json:"open_at_end"`
				Alternative string `json:"alternative"`
				BrokenUntil string `json:"broken_until"`
				Failures    int    `json:"failures"`
			} `json:"http3"`
		} `json:"pool"`
	} `json:"runs"`
}

// runLoadHTTP3JSON runs "load --json" with args and decodes its output
// both as runLoadJSON does and for its HTTP/3 parts.
func runLoadHTTP3JSON(t *testing.T, args ...string) (loadOutput, loadHTTP3JSON) {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"load", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("load %q: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
	}
	var res loadOutput
	var h3 loadHTTP3JSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("load %q: output is not JSON: %v\n%s", args, err, out)
	}
	if err := json.Unmarshal([]byte(out), &h3); err != nil {
		t.Fatalf("load %q: %v\n%s", args, err, out)
	}
	if len(h3.Runs) != len(res.Runs) || len(res.Runs) == 0 {
		t.Fatalf("load %q: %d runs\n%s", args, len(res.Runs), out)
	}
	return res, h3
}

// heldUntilQUIC holds the body of each response that does not go over
// HTTP/3 until srv accepted a QUIC connection, for up to 5 s, so that a
// load's first requests, over TCP, cannot all end before HTTP/3 is up. The
// header, with the Alt-Svc that starts the QUIC dial, is sent at once.
func heldUntilQUIC(srv **server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 3 {
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			deadline := time.Now().Add(5 * time.Second)
			for (*srv).h3.Accepted() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		w.Write([]byte("ok\n"))
	})
}

func TestLoadHTTP3(t *testing.T) {
	const n = 200
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	var srv *server
	srv = startTestServer(t, heldUntilQUIC(&srv), serverOptions{tls: tlsServer, http2: true, http3: true})
	res, h3 := runLoadHTTP3JSON(t, "--http3", "--insecure", "-n", "200", "-c", "4", srv.URL+"/")
	run, pool := res.Runs[0], h3.Runs[0].Pool
	checkCleanRun(t, run, n)
	overH3 := run.Protocols["HTTP/3.0"]
	if overH3 < 1 || overH3+run.Protocols["HTTP/2.0"] != n {
		t.Errorf("protocols %v: want some HTTP/3.0, the rest HTTP/2.0", run.Protocols)
	}
	if got := srv.h3Requests.Load(); got != overH3 {
		t.Errorf("the server got %d requests over HTTP/3, the report says %d", got, overH3)
	}
	if a := srv.h3.Accepted(); a != 1 {
		t.Errorf("the server accepted %d QUIC connections, want 1", a)
	}
	if pool.Dials != 1+int64(srv.Accepted()) {
		t.Errorf("%d dials, want 1 QUIC + the %d TCP connections the server accepted", pool.Dials, srv.Accepted())
	}
	if pool.HTTP3 == nil || pool.HTTP3.OpenAtEnd != 1 || pool.HTTP3.Alternative != srv.Addr ||
		pool.HTTP3.BrokenUntil != "" || pool.HTTP3.Failures != 0 {
		t.Errorf("pool.http3 %+v, want 1 open, alternative %s, not broken", pool.HTTP3, srv.Addr)
	}

	// Without --http3 the same server is loaded over TCP only.
	res, h3 = runLoadHTTP3JSON(t, "--insecure", "-n", "20", "-c", "2", srv.URL+"/")
	if p := res.Runs[0].Protocols; p["HTTP/2.0"] != 20 {
		t.Errorf("without --http3: protocols %v, want HTTP/2.0 for all", p)
	}
	if h3.Runs[0].Pool.HTTP3 != nil {
		t.Errorf("without --http3: pool.http3 %+v, want null", h3.Runs[0].Pool.HTTP3)
	}
}

func TestLoadHTTP3Text(t *testing.T) {
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	var srv *server
	srv = startTestServer(t, heldUntilQUIC(&srv), serverOptions{tls: tlsServer, http2: true, http3: true})
	code, out, errOut := runCLI("load", "--http3", "--insecure", "-n", "100", "-c", "2", srv.URL+"/")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"protocol  HTTP/2.0: ", "%), HTTP/3.0: ",
		"  HTTP/3              1 connection open at end; alternative " + srv.Addr + " from Alt-Svc\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "broken") {
		t.Errorf("HTTP/3 reported broken:\n%s", out)
	}
}

func TestLoadHTTP3Compare(t *testing.T) {
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	var srv *server
	srv = startTestServer(t, heldUntilQUIC(&srv), serverOptions{tls: tlsServer, http2: true, http3: true})
	args := []string{"--http3", "--compare", "--insecure", "-n", "100", "-c", "2", srv.URL + "/"}
	code, out, errOut := runCLI(append([]string{"load"}, args...)...)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"\nnet/http:\n  note  " + noHTTP3Note + "\n",
		"\nhttppool:\n  HTTP/3  1 connection open at end; alternative " + srv.Addr,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if !regexp.MustCompile(`\nHTTP/3 open at end +1 +n/a\n`).MatchString(out) {
		t.Errorf("output lacks the row HTTP/3 open at end, 1 and n/a:\n%s", out)
	}

	res, h3 := runLoadHTTP3JSON(t, args...)
	if len(res.Runs) != 2 || res.Runs[1].Client != "net/http" {
		t.Fatalf("runs %+v, want httppool then net/http", res.Runs)
	}
	for _, run := range res.Runs {
		checkCleanRun(t, run, 100)
	}
	if p := res.Runs[0].Protocols; p["HTTP/3.0"] < 1 {
		t.Errorf("httppool: protocols %v, want some HTTP/3.0", p)
	}
	if p := res.Runs[1].Protocols; p["HTTP/2.0"] != 100 {
		t.Errorf("net/http: protocols %v, want HTTP/2.0 for all: it has no HTTP/3", p)
	}
	std := h3.Runs[1]
	if std.Pool.HTTP3 != nil || len(std.Notes) != 1 || std.Notes[0] != noHTTP3Note {
		t.Errorf("net/http: pool.http3 %+v, notes %q; want null and the note that it has no HTTP/3", std.Pool.HTTP3, std.Notes)
	}
	if h3.Runs[0].Notes != nil {
		t.Errorf("httppool: notes %q, want none", h3.Runs[0].Notes)
	}
}

func TestLoadHTTP3Embedded(t *testing.T) {
	// The embedded server cannot hold requests until HTTP/3 is up: the
	// run lasts long enough for a loopback QUIC handshake on any machine.
	res, h3 := runLoadHTTP3JSON(t, "--http3", "-d", "1s", "-c", "2")
	run, pool := res.Runs[0], h3.Runs[0].Pool
	checkCleanRun(t, run, run.Requests)
	u, err := url.Parse(res.URL)
	if err != nil || u.Scheme != "https" || !res.EmbeddedServer {
		t.Fatalf("url %q, embedded %v: want an embedded https server", res.URL, res.EmbeddedServer)
	}
	if run.Protocols["HTTP/3.0"] < 1 || run.Protocols["HTTP/3.0"]+run.Protocols["HTTP/2.0"] != run.Requests {
		t.Errorf("protocols %v: want some HTTP/3.0, the rest HTTP/2.0", run.Protocols)
	}
	// Alt-Svc names the port of the URL: HTTP/3 on the same port over UDP.
	if pool.HTTP3 == nil || pool.HTTP3.Alternative != u.Host || pool.HTTP3.OpenAtEnd != 1 || pool.HTTP3.BrokenUntil != "" {
		t.Errorf("pool.http3 %+v, want 1 open, alternative %s, not broken", pool.HTTP3, u.Host)
	}
}

func TestFmtHTTP3(t *testing.T) {
	until := time.Date(2030, 1, 2, 15, 4, 5, 0, time.Local)
	for _, tc := range []struct {
		h    http3Report
		want string
	}{
		{http3Report{OpenAtEnd: 1, Alternative: "127.0.0.1:8443"}, "1 connection open at end; alternative 127.0.0.1:8443 from Alt-Svc"},
		{http3Report{}, "0 connections open at end; no h3 alternative learnt: the server's responses offered none in Alt-Svc"},
		{http3Report{Alternative: "127.0.0.1:8443", BrokenUntil: until, Failures: 2},
			"0 connections open at end; alternative 127.0.0.1:8443 from Alt-Svc; marked broken until 15:04:05 after 2 failures (QUIC failed where TCP worked: UDP blocked?)"},
	} {
		if got := fmtHTTP3(&tc.h); got != tc.want {
			t.Errorf("fmtHTTP3(%+v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

func TestFmtProtocols(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]int64
		want string
	}{
		{nil, "none"},
		{map[string]int64{"HTTP/1.1": 1000}, "HTTP/1.1: 1000"},
		{map[string]int64{"HTTP/3.0": 984, "HTTP/2.0": 16}, "HTTP/2.0: 16 (1.6%), HTTP/3.0: 984 (98.4%)"},
	} {
		if got := fmtProtocols(tc.m); got != tc.want {
			t.Errorf("fmtProtocols(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
