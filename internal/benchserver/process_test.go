package benchserver

import (
	"crypto/tls"
	"net/http"
	"runtime"
	"testing"
)

// TestProcess starts this test binary as a server process with every kind of
// listener and checks each answers.
func TestProcess(t *testing.T) {
	p, err := Start(ProcessConfig{Hosts: 3, TLS: true, CPU: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(p.PinNote)
	defer func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if len(p.Hosts) != 3 || p.Addr == "" || p.TLSAddr == "" || p.H2Addr == "" || p.RootCAs == nil {
		t.Fatalf("announced %+v", p)
	}

	plain := newCountingTransport(t, 1)
	for _, addr := range append([]string{p.Addr}, p.Hosts...) {
		if body := get(t, plain, "http://"+addr+"/"); string(body) != "Hello, World!" {
			t.Errorf("%s: body %q", addr, body)
		}
	}

	tlsConfig := &tls.Config{RootCAs: p.RootCAs}
	tests := []struct {
		name      string
		addr      string
		tr        *http.Transport
		wantMajor int
	}{
		{"https", p.TLSAddr, &http.Transport{TLSClientConfig: tlsConfig}, 1},
		{"h2", p.H2Addr, &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.tr.CloseIdleConnections()
			resp, err := tt.tr.RoundTrip(mustRequest(t, "https://"+tt.addr+"/size/100"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != tt.wantMajor || resp.StatusCode != 200 || resp.ContentLength != 100 {
				t.Errorf("%s, status %d, length %d; want HTTP/%d, 200, 100", resp.Proto, resp.StatusCode, resp.ContentLength, tt.wantMajor)
			}
		})
	}

	if _, ok := p.CPU(); !ok && runtime.GOOS == "linux" {
		t.Error("no CPU time for the server process on Linux")
	}
}

func TestSelfCPU(t *testing.T) {
	if _, ok := SelfCPU(); !ok && runtime.GOOS == "linux" {
		t.Error("no CPU time for this process on Linux")
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestMachineCPU(t *testing.T) {
	if _, ok := MachineCPU(); !ok && runtime.GOOS == "linux" {
		t.Error("no CPU time for the machine on Linux")
	}
}
