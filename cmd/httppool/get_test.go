package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// getOutput is "get --json" output.
type getOutput struct {
	Requests []getRecord `json:"requests"`
	Pool     statsJSON   `json:"pool"`
}

func TestGetText(t *testing.T) {
	srv := startTestServer(t, okHandler(), serverOptions{})
	code, out, errOut := runCLI("get", "-r", "2", srv.URL+"/")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing\n%s", code, errOut, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want a heading, 2 requests, a blank and the pool:\n%s", len(lines), out)
	}
	for _, col := range []string{"status", "proto", "conn", "reused", "idle", "dns", "connect", "tls", "1st byte", "total", "size", "url"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("heading lacks %q: %s", col, lines[0])
		}
	}
	first, second := strings.Fields(lines[1]), strings.Fields(lines[2])
	// #, status, proto, conn, reused, idle, dns, connect, tls, 1st byte, total, size, url
	if len(first) != 13 || len(second) != 13 {
		t.Fatalf("request lines do not have 13 fields:\n%s", out)
	}
	if first[1] != "200" || first[2] != "HTTP/1.1" || first[4] != "no" || first[5] != "-" || first[7] == "-" {
		t.Errorf("first request: %q; want 200 HTTP/1.1, not reused, not idle, with a connect time", lines[1])
	}
	if second[4] != "yes" || second[5] == "-" || second[7] != "-" {
		t.Errorf("second request: %q; want reused, with an idle time, no connect", lines[2])
	}
	if !strings.HasPrefix(first[3], "127.0.0.1:") || first[3] != second[3] {
		t.Errorf("connections %q and %q; want the same loopback address", first[3], second[3])
	}
	if first[11] != "3B" || second[11] != "3B" {
		t.Errorf("sizes %q and %q, want 3B: the body is \"ok\\n\"", first[11], second[11])
	}
	if first[12] != srv.URL+"/" {
		t.Errorf("url %q, want %q", first[12], srv.URL+"/")
	}
	if !strings.Contains(lines[4], "pool: requests 2, dials 1, reused 1") {
		t.Errorf("pool line: %q", lines[4])
	}
}

func TestGetJSON(t *testing.T) {
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	plain := startTestServer(t, okHandler(), serverOptions{})
	https := startTestServer(t, okHandler(), serverOptions{tls: tlsServer})
	res := runGetJSON(t, "--insecure", "-r", "2", plain.URL+"/", https.URL+"/")
	if len(res.Requests) != 4 {
		t.Fatalf("%d requests, want 4 (2 rounds of 2 URLs)", len(res.Requests))
	}
	for i, r := range res.Requests {
		if r.N != i+1 || r.Status != 200 || r.Proto != "HTTP/1.1" || r.Error != "" || r.Conn == "" || r.FirstByteMS == nil {
			t.Errorf("request %d: %+v; want n %d, 200 HTTP/1.1, a connection and a first byte", i, r, i+1)
		}
		fresh := i < 2
		if r.Reused == nil || *r.Reused == fresh || (r.ConnectMS != nil) != fresh || (r.IdleMS != nil) == fresh {
			t.Errorf("request %d: reused %v, connect %v, idle %v; want a new connection first, then reused and idle",
				i, r.Reused, r.ConnectMS, r.IdleMS)
		}
		if r.DNSMS != nil {
			t.Errorf("request %d: DNS %v for an IP address", i, *r.DNSMS)
		}
	}
	if res.Requests[1].TLSMS == nil || res.Requests[3].TLSMS != nil || res.Requests[0].TLSMS != nil {
		t.Errorf("TLS times %v %v %v; want one for the first HTTPS request only",
			res.Requests[0].TLSMS, res.Requests[1].TLSMS, res.Requests[3].TLSMS)
	}
	if res.Requests[0].Conn != res.Requests[2].Conn || res.Requests[1].Conn != res.Requests[3].Conn {
		t.Errorf("connections %q %q %q %q; want each URL's second request on its first's",
			res.Requests[0].Conn, res.Requests[1].Conn, res.Requests[2].Conn, res.Requests[3].Conn)
	}
	if res.Pool.Requests != 4 || res.Pool.Dials != 2 || res.Pool.Reused != 2 {
		t.Errorf("pool %+v; want 4 requests, 2 dials, 2 reused", res.Pool)
	}
}

func TestGetHTTP2(t *testing.T) {
	tlsServer, _, err := demoTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := startTestServer(t, okHandler(), serverOptions{tls: tlsServer, http2: true})
	res := runGetJSON(t, "--insecure", "-r", "2", srv.URL+"/")
	for i, r := range res.Requests {
		if r.Status != 200 || r.Proto != "HTTP/2.0" {
			t.Errorf("request %d: status %d, protocol %s; want 200 over HTTP/2.0", i, r.Status, r.Proto)
		}
	}
	if res.Pool.Dials != 1 || res.Pool.Reused != 1 || srv.Accepted() != 1 {
		t.Errorf("pool %+v, server accepted %d; want 1 dial, 1 reused, 1 accepted", res.Pool, srv.Accepted())
	}
	first, second := res.Requests[0], res.Requests[1]
	if first.Reused == nil || second.Reused == nil {
		t.Skip("httppool fires no httptrace GotConn for HTTP/2 requests: connection and reuse unknown")
	}
	if *first.Reused || !*second.Reused || first.Conn != second.Conn {
		t.Errorf("reused %v then %v on %q then %q; want the second request on the first's connection",
			*first.Reused, *second.Reused, first.Conn, second.Conn)
	}
}

// runGetJSON runs "get --json" with args, which must succeed, and decodes
// its output.
func runGetJSON(t *testing.T, args ...string) getOutput {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"get", "--json"}, args...)...)
	if code != exitOK || errOut != "" {
		t.Fatalf("get %q: exit %d, stderr %q; want 0 and nothing\n%s", args, code, errOut, out)
	}
	var res getOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("get %q: output is not JSON: %v\n%s", args, err, out)
	}
	return res
}

// echoHandler answers each request with its method, Content-Type, X-Test
// header and body, one a line, under the status 201 and a header
// X-Echo: yes.
func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", "yes")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s\n%s\n%s\n%s", r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Test"), body)
	})
}

func TestGetRequestShape(t *testing.T) {
	srv := startTestServer(t, echoHandler(), serverOptions{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data.json")
	if err := os.WriteFile(data, []byte("{\"a\": 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // the echo: method, Content-Type, X-Test, body
	}{
		{nil, "GET\n\n\n"},
		{[]string{"-X", "DELETE", "-H", "X-Test: 1"}, "DELETE\n\n1\n"},
		{[]string{"-d", "a=1&b=2"}, "POST\napplication/x-www-form-urlencoded\n\na=1&b=2"},
		{[]string{"--data", "@" + data, "-X", "PUT", "-H", "Content-Type: application/json"}, "PUT\napplication/json\n\n{\"a\": 1}\n"},
		{[]string{"-d", "", "-H", "X-Test: a", "-H", "X-Test: b"}, "POST\napplication/x-www-form-urlencoded\na\n"},
	} {
		out := filepath.Join(dir, "out")
		args := append([]string{"-o", out, "-r", "2"}, tc.args...)
		res := runGetJSON(t, append(args, srv.URL+"/")...)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want+tc.want {
			t.Errorf("%q: -o wrote %q, want the echo %q twice", tc.args, got, tc.want)
		}
		for _, r := range res.Requests {
			if r.Status != 201 || r.BodyBytes != int64(len(tc.want)) || r.Method != strings.Fields(tc.want)[0] {
				t.Errorf("%q: status %d, %d body bytes, method %q; want 201, %d bytes, %s",
					tc.args, r.Status, r.BodyBytes, r.Method, len(tc.want), strings.Fields(tc.want)[0])
			}
			if r.Header != nil || r.StatusLine != "" {
				t.Errorf("%q: headers %v without -i", tc.args, r.Header)
			}
		}
	}
}

func TestGetIncludeHeaders(t *testing.T) {
	srv := startTestServer(t, echoHandler(), serverOptions{})
	code, out, errOut := runCLI("get", "-i", srv.URL+"/")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing\n%s", code, errOut, out)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || lines[2] != "    HTTP/1.1 201 Created" {
		t.Fatalf("no status line under the request's line:\n%s", out)
	}
	for _, want := range []string{"\n    X-Echo: yes\n", "\n    Content-Length: 6\n", "\n    Date: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	res := runGetJSON(t, "-i", srv.URL+"/")
	if r := res.Requests[0]; r.StatusLine != "HTTP/1.1 201 Created" || r.Header.Get("X-Echo") != "yes" {
		t.Errorf("status line %q, header %v; want 201 Created and X-Echo", r.StatusLine, r.Header)
	}
}

func TestGetUnreachable(t *testing.T) {
	url := closedPortURL(t)
	code, out, errOut := runCLI("get", url)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailed, out, errOut)
	}
	if !strings.Contains(out, "connection refused") || !strings.Contains(errOut, "1 of 1 requests failed") {
		t.Errorf("stdout lacks the error or stderr the count:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

func TestGetUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "no URL given"},
		{[]string{"--bogus", "http://127.0.0.1:1/"}, "flag provided but not defined"},
		{[]string{"-r", "0", "http://127.0.0.1:1/"}, "-r must be at least 1"},
		{[]string{"-t", "-1s", "http://127.0.0.1:1/"}, "-t must be positive"},
		{[]string{"localhost:8080"}, "the scheme must be http or https"},
		{[]string{"http://"}, "no host"},
		{[]string{"-H", ":x", "http://127.0.0.1:1/"}, `not of the form "Name: value"`},
		{[]string{"-X", "BAD METHOD", "http://127.0.0.1:1/"}, "invalid method"},
		{[]string{"-d", "@/nonexistent/data", "http://127.0.0.1:1/"}, "-d: open /nonexistent/data"},
	} {
		code, out, errOut := runCLI(append([]string{"get"}, tc.args...)...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %s", tc.args, out)
		}
		if !strings.Contains(errOut, tc.wantErr) || !strings.Contains(errOut, "Usage: httppool get") {
			t.Errorf("%q: stderr lacks %q and usage:\n%s", tc.args, tc.wantErr, errOut)
		}
	}
}
