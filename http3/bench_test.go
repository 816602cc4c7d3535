package http3

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/httppool/httppool"
	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// The benchmarks compare httppool with this module's Dialer against
// quic-go's own http3.Transport at 64 concurrent requests to the same
// quic-go server. The server runs in a child process (this test binary,
// started again) unless -h3bench.inprocess is given, so that the CPU time
// and allocations measured are the client's alone.
//
//	go test -run NONE -bench Concurrent64 -benchtime 20000x -count 5 .

var inProcess = flag.Bool("h3bench.inprocess", false, "run the benchmark server in the benchmark's process")

const benchServerEnv = "HTTPPOOL_H3_BENCH_SERVER"

// benchServer is an origin serving HTTP/2 over TCP with an Alt-Svc header
// and HTTP/3 over UDP, on loopback.
type benchServer struct {
	tcpAddr, udpAddr string
	certPEM          []byte
	stop             func()
}

func (s *benchServer) clientTLS(b testing.TB) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.certPEM) {
		b.Fatal("bad certificate from the benchmark server")
	}
	return &tls.Config{RootCAs: pool}
}

// benchServerMain makes the process the benchmark server when started so by
// startBenchServer: it serves until its standard input closes, then exits.
func benchServerMain() {
	if os.Getenv(benchServerEnv) != "1" {
		return
	}
	srv, err := serveBench()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	fmt.Printf("tcp %s\nudp %s\n", srv.tcpAddr, srv.udpAddr)
	os.Stdout.Write(srv.certPEM)
	fmt.Println("end")
	io.Copy(io.Discard, os.Stdin)
	srv.stop()
	os.Exit(0)
}

// serveBench starts the benchmark origin in this process.
func serveBench() (*benchServer, error) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	altSvc := fmt.Sprintf(`h3=":%d"; ma=3600`, udp.LocalAddr().(*net.UDPAddr).Port)
	body := []byte("hello, world\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Alt-Svc"] = []string{altSvc}
		w.Write(body)
	})
	tcp := httptest.NewUnstartedServer(h)
	tcp.EnableHTTP2 = true
	tcp.StartTLS()
	cert := tcp.TLS.Certificates[0]
	h3, err := newH3Server(udp, cert, h)
	if err != nil {
		tcp.Close()
		return nil, err
	}
	return &benchServer{
		tcpAddr: tcp.Listener.Addr().String(),
		udpAddr: udp.LocalAddr().String(),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		stop:    func() { h3.Close(); tcp.Close() },
	}, nil
}

// startBenchServer starts the benchmark origin, in a child process unless
// -h3bench.inprocess.
func startBenchServer(b *testing.B) *benchServer {
	if *inProcess {
		s, err := serveBench()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.stop)
		return s
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	s := &benchServer{}
	sc := bufio.NewScanner(stdout)
	var certLines []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "tcp "):
			s.tcpAddr = strings.TrimPrefix(line, "tcp ")
		case strings.HasPrefix(line, "udp "):
			s.udpAddr = strings.TrimPrefix(line, "udp ")
		case line == "end":
			s.certPEM = []byte(strings.Join(certLines, "\n") + "\n")
			go io.Copy(io.Discard, stdout)
			return s
		default:
			certLines = append(certLines, line)
		}
	}
	b.Fatal("the benchmark server did not start")
	return nil
}

// selfCPU returns the CPU time, user and system, this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkConcurrent64(b *testing.B) {
	srv := startBenchServer(b)
	b.Run("client=httppool", func(b *testing.B) {
		tr := httppool.New(httppool.Config{
			TLSClientConfig: srv.clientTLS(b),
			HTTP3:           httppool.HTTP3Config{Dialer: &Dialer{}},
		})
		defer tr.Close()
		url := "https://" + srv.tcpAddr + "/"
		benchGet(b, tr, url) // over HTTP/2: its Alt-Svc starts the HTTP/3 connection
		waitFor(b, "the HTTP/3 connection", func() bool { return tr.Stats().HTTP3 == 1 })
		if resp := benchGet(b, tr, url); resp.ProtoMajor != 3 {
			b.Fatalf("request over %s", resp.Proto)
		}
		runConcurrent64(b, tr, url)
		if s := tr.Stats(); s.HTTP3 != 1 || s.Dials != 2 {
			b.Errorf("stats %+v: want one HTTP/3 connection throughout", s)
		}
	})
	b.Run("client=quic-go", func(b *testing.B) {
		tr := &qhttp3.Transport{TLSClientConfig: srv.clientTLS(b), QUICConfig: &quic.Config{}}
		defer tr.Close()
		// quic-go's Transport speaks HTTP/3 only: it goes to the UDP port.
		_, port, _ := net.SplitHostPort(srv.udpAddr)
		host, _, _ := net.SplitHostPort(srv.tcpAddr)
		url := "https://" + net.JoinHostPort(host, port) + "/"
		benchGet(b, tr, url)
		runConcurrent64(b, tr, url)
	})
}

func benchGet(b *testing.B, rt http.RoundTripper, url string) *http.Response {
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// runConcurrent64 sends b.N GETs from 64 goroutines and reports the
// process's CPU time per request.
func runConcurrent64(b *testing.B, rt http.RoundTripper, url string) {
	procs := max(1, 64/runtime.GOMAXPROCS(0))
	b.SetParallelism(procs)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := selfCPU()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 512)
		for pb.Next() {
			req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkUDPBlocked measures what blocked UDP costs: the first request
// that must dial to an origin known to offer HTTP/3 races QUIC, which gets
// no answer, against TCP, started after the race delay (300 ms here); the
// next new connection, QUIC still pending or marked broken, dials TCP at
// once. Reported against a first request over TCP to the same server.
func BenchmarkUDPBlocked(b *testing.B) {
	const delay = 300 * time.Millisecond
	var first, later, tcp time.Duration
	for range b.N {
		b.StopTimer()
		r := newRig(b, nil, func(cfg *httppool.Config, d *Dialer) { cfg.HTTP3.RaceDelay = delay })
		plain := httppool.New(httppool.Config{TLSClientConfig: r.tcp.TLSConfig()})
		start := time.Now()
		benchGet(b, plain, r.origin+"/")
		tcp += time.Since(start)
		plain.Close()

		r.discover(b)
		r.blocked.Store(true)
		r.tr.CloseIdleConnections()
		waitFor(b, "the pool to empty", func() bool { return r.tr.Stats().Open == 0 })
		b.StartTimer()
		start = time.Now()
		if resp := benchGet(b, r.tr, r.origin+"/"); resp.ProtoMajor != 2 {
			b.Fatalf("request over %s, want TCP", resp.Proto)
		}
		first += time.Since(start)
		b.StopTimer()
		r.tr.CloseIdleConnections()
		waitFor(b, "the pool to empty", func() bool { return r.tr.Stats().Open == 0 })
		start = time.Now()
		benchGet(b, r.tr, r.origin+"/")
		later += time.Since(start)
		r.tr.Close()
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / n / 1e6 }
	b.ReportMetric(ms(tcp), "tcp-first-ms")
	b.ReportMetric(ms(first), "race-first-ms")
	b.ReportMetric(ms(first-tcp)-float64(delay)/1e6, "extra-over-delay-ms")
	b.ReportMetric(ms(later), "later-new-conn-ms")
}
