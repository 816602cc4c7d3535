//go:build interop

package http3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/httppool/httppool"
)

// The Caddy interop test lives here rather than in internal/interop, which
// is in the root module, because it needs this module's quic-go. It runs
// Debian's caddy (.ci/interop.sh installs it) on a loopback port with HTTP/3
// on, as Caddy has by default, and a configuration it writes itself:
//
//	go test -tags interop -count=1 -v -run Caddy .

// caddy is a running Caddy serving https://localhost:port over HTTP/1.1,
// HTTP/2 and HTTP/3 (UDP, same port). The origin is a name, not 127.0.0.1:
// Caddy 2.6 answers a QUIC handshake without SNI with "tls: internal
// error" (over TCP it picks the certificate by the local address instead).
type caddy struct {
	origin string
	roots  *x509.CertPool
	big    []byte // served at /big
}

func startCaddy(t *testing.T) *caddy {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		msg := "caddy is not installed (Debian package caddy; .ci/interop.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + ": in CI a missing server fails the suite")
		}
		t.Skip(msg + ": skipping caddy")
	}
	dir := t.TempDir()
	cert := ipCert(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	writeFile(t, filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	c := &caddy{roots: x509.NewCertPool(), big: make([]byte, 4<<20)}
	c.roots.AddCert(cert.Leaf)
	rand.Read(c.big)
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "www", "big"), c.big)

	port := freePort(t)
	c.origin = "https://localhost:" + strconv.Itoa(port)
	writeFile(t, filepath.Join(dir, "Caddyfile"), []byte(fmt.Sprintf(`{
	admin off
	auto_https off
	servers {
		protocols h1 h2 h3
	}
}

https://localhost:%d {
	tls %s/cert.pem %s/key.pem
	handle /hello {
		respond "hello" 200
	}
	handle {
		root * %s/www
		file_server
	}
}
`, port, dir, dir, dir)))

	out, err := os.Create(filepath.Join(dir, "caddy.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "caddy.out"))
			t.Logf("caddy output:\n%s", tail(string(b), 4000))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			conn.Close()
			return c
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "caddy.out"))
			t.Fatalf("caddy exited before accepting:\n%s", tail(string(b), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("caddy does not accept connections after 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback port free for both TCP and UDP now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

func (c *caddy) transport(t *testing.T, d *Dialer) *httppool.Transport {
	if d == nil {
		d = &Dialer{}
	}
	tr := httppool.New(httppool.Config{
		TLSClientConfig: &tls.Config{RootCAs: c.roots},
		HTTP3:           httppool.HTTP3Config{Dialer: d},
	})
	t.Cleanup(func() { tr.Close() })
	return tr
}

func caddyDo(tr *httppool.Transport, method, url string, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestCaddyHTTP3(t *testing.T) {
	c := startCaddy(t)
	tr := c.transport(t, nil)
	resp, body, err := caddyDo(tr, "GET", c.origin+"/hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || string(body) != "hello" {
		t.Fatalf("first request: %s %q, want HTTP/2.0 \"hello\"", resp.Proto, body)
	}
	if resp.Header.Get("Alt-Svc") == "" {
		t.Fatal("caddy sent no Alt-Svc header")
	}
	waitFor(t, "the HTTP/3 connection to caddy", func() bool { return tr.Stats().HTTP3 == 1 })

	// 100 concurrent GETs, all over the one QUIC connection.
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, body, err := caddyDo(tr, "GET", c.origin+"/hello", nil)
			switch {
			case err != nil:
				errs <- err
			case resp.ProtoMajor != 3 || string(body) != "hello":
				errs <- fmt.Errorf("%s %q", resp.Proto, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.HTTP3 != 1 || s.Dials != 2 {
		t.Errorf("stats %+v: want one TCP and one QUIC dial, one HTTP/3 connection", s)
	}

	// A large body arrives whole.
	resp, body, err = caddyDo(tr, "GET", c.origin+"/big", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 3 || sha256.Sum256(body) != sha256.Sum256(c.big) {
		t.Fatalf("/big over %s: %d bytes, want %d, the same", resp.Proto, len(body), len(c.big))
	}

	// A request body goes up.
	resp, _, err = caddyDo(tr, "POST", c.origin+"/hello", bytes.NewReader(c.big[:256<<10]))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 3 || resp.StatusCode != 200 {
		t.Errorf("POST: %s %d", resp.Proto, resp.StatusCode)
	}
	s := tr.Stats()
	t.Logf("RESULT server=caddy proto=h3 scenario=discovery+100-concurrent+4MiB+POST requests=%d errors=0 quic_conns=%d dials=%d", s.Requests, s.HTTP3, s.Dials)
}

func TestCaddyUDPBlocked(t *testing.T) {
	c := startCaddy(t)
	d := &Dialer{
		QUICConfig: &quicConfigShortHandshake,
		ListenPacket: func(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
			pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				return nil, err
			}
			return dropConn{pc}, nil
		},
	}
	tr := c.transport(t, d)
	for range 3 {
		resp, body, err := caddyDo(tr, "GET", c.origin+"/hello", nil)
		if err != nil || resp.ProtoMajor != 2 || string(body) != "hello" {
			t.Fatalf("request with UDP blocked: %v", errors.Join(err, fmt.Errorf("%v %q", resp, body)))
		}
	}
	waitFor(t, "HTTP/3 to caddy marked broken", func() bool {
		st, _ := tr.HTTP3Status(c.origin)
		return st.Failures == 1
	})
	if s := tr.Stats(); s.HTTP3 != 0 || s.Retries != 0 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("RESULT server=caddy proto=h3 scenario=udp-blocked requests=3 errors=0 fallback=tcp broken=yes")
}
