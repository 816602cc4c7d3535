package main

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/httppool/httppool/internal/benchserver"
)

// h2o serves the HTTP/2 workloads: a C server fast enough that the clients,
// not it, set the pace, and one that h2load can load as well.
const (
	h2oPackage    = "h2o"            // the Debian package that has the h2o binary
	h2loadPackage = "nghttp2-client" // the Debian package that has h2load
)

// The names of the programs, variables so that tests can make them missing.
var (
	h2oName    = "h2o"
	h2loadName = "h2load"
)

const (
	// h2oStartTimeout bounds the wait for h2o's ports to accept.
	h2oStartTimeout = 15 * time.Second
	// h2oStopTimeout bounds the wait for h2o to exit after SIGTERM, after
	// which its process group is killed.
	h2oStopTimeout = 5 * time.Second
	// h2oStartAttempts is how often a start is tried, each on new ports,
	// since a port free a moment ago may have been taken since.
	h2oStartAttempts = 3
)

// h2oMaxStreams is how many requests of one connection h2o is configured to
// process at once. h2o 2.2 announces SETTINGS_MAX_CONCURRENT_STREAMS
// h2oAnnouncedStreams whatever its configuration (the value is a constant
// in its source), so clients hold the requests over that back themselves.
const (
	h2oMaxStreams       = 256
	h2oAnnouncedStreams = 100
)

// h2oConf is h2o's configuration: one thread, loopback only, no access log.
// Small and 1 MiB GETs are static files; POSTs go to an mruby handler
// that answers a constant "ok" once h2o has read the whole request body
// (h2o 2.2 reads a request body before it calls a handler), since h2o's
// file handler answers a POST with 405 at once. Debian's h2o is built
// with mruby; the handler costs h2o about 2.5 µs a request over a static
// file, against the tens of µs of receiving 64 KiB over TLS.
const h2oConf = `%[1]s
error-log: %[2]s
num-threads: 1
http2-max-concurrent-requests-per-connection: %[3]d
listen:
  host: 127.0.0.1
  port: %[4]d
listen:
  host: 127.0.0.1
  port: %[5]d
  ssl:
    certificate-file: %[6]s
    key-file: %[7]s
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /upload:
        mruby.handler: |
          Proc.new do |env|
            [200, {"content-type" => "text/plain"}, ["ok"]]
          end
      /:
        file.dir: %[8]s
`

// h2oPaths are the paths h2o serves, with the size of their response bodies.
const (
	h2oSmallPath  = "/hello"
	h2oLargePath  = "/1m"
	h2oUploadPath = "/upload"
)

// h2oServer is h2o running in a child process, in a temporary directory of
// its own that Close removes.
type h2oServer struct {
	H2CAddr string         // host:port of the cleartext listener: h2c with prior knowledge (and HTTP/1.1)
	TLSAddr string         // host:port of the TLS listener: h2 through ALPN
	RootCAs *x509.CertPool // trusts the TLS listener's certificate
	Version string         // "h2o version 2.2.5"
	PinNote string         // how the process is pinned, or why it is not

	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
}

// lookBinary returns the path of an executable that a Debian package puts in
// /usr/bin or /usr/sbin, whether or not they are in PATH.
func lookBinary(name, pkg string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (Debian package %s)", name, pkg)
}

// startH2O starts h2o with one thread on two loopback ports, pinned to cpu
// when cpu is at least 0 and taskset is there, and waits until both ports
// accept. Close stops it. Where h2o is not installed, the error is a
// notApplicable.
func startH2O(cpu int) (*h2oServer, error) {
	if runtime.GOOS != "linux" {
		return nil, notApplicable("n/a: the h2o workloads run on Linux only")
	}
	bin, err := lookBinary(h2oName, h2oPackage)
	if err != nil {
		return nil, notApplicable("n/a: " + err.Error())
	}
	var errs []error
	for range h2oStartAttempts {
		s, err := tryStartH2O(bin, cpu)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("starting h2o: %w", errors.Join(errs...))
}

func tryStartH2O(bin string, cpu int) (_ *h2oServer, err error) {
	dir, err := os.MkdirTemp("", "httppool-bench-h2o-")
	if err != nil {
		return nil, err
	}
	s := &h2oServer{dir: dir, Version: h2oVersion(bin)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.writeFiles(); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s.H2CAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	// Run as root, h2o would switch to nobody, and a change of user clears
	// the signal that stops it should the harness die: it stays root.
	user := ""
	if os.Geteuid() == 0 {
		user = "user: root"
	}
	conf := fmt.Sprintf(h2oConf, user, s.path("error.log"), h2oMaxStreams, ports[0], ports[1],
		s.path("cert.pem"), s.path("key.pem"), s.path("www"))
	if err := os.WriteFile(s.path("h2o.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}

	out, err := os.Create(s.path("h2o.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own copy
	s.cmd, s.PinNote = pinnedExternal(cpu, bin, "-c", s.path("h2o.conf"))
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = serverProcAttr()
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return nil, err
	}
	s.done = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitListening(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return s, nil
}

// writeFiles writes the certificate, its key and the files h2o serves.
func (s *h2oServer) writeFiles() error {
	certPEM, keyPEM, pool, err := selfSignedPEM()
	if err != nil {
		return err
	}
	s.RootCAs = pool
	www := s.path("www")
	if err := os.Mkdir(www, 0o755); err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{s.path("cert.pem"), certPEM, 0o644},
		{s.path("key.pem"), keyPEM, 0o600},
		{filepath.Join(www, h2oSmallPath), benchserver.Body(defaultBody), 0o644},
		{filepath.Join(www, h2oLargePath), benchserver.Body(1 << 20), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func (s *h2oServer) path(name string) string { return filepath.Join(s.dir, name) }

// waitListening waits until both ports accept, h2o exits, or the start
// timeout passes.
func (s *h2oServer) waitListening() error {
	deadline := time.Now().Add(h2oStartTimeout)
	for _, addr := range []string{s.H2CAddr, s.TLSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.done:
				return fmt.Errorf("h2o exited before accepting on %s: %v", addr, s.cmd.ProcessState)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("h2o does not accept on %s after %v", addr, h2oStartTimeout)
			}
		}
	}
	return nil
}

// logTail returns the end of h2o's output and error log, for errors.
func (s *h2oServer) logTail() string {
	var b strings.Builder
	for _, name := range []string{"h2o.out", "error.log"} {
		data, err := os.ReadFile(s.path(name))
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "h2o %s:\n%s\n", name, bytes.TrimSpace(data))
	}
	return b.String()
}

// CPU returns the CPU time, user and system, that h2o and its helper
// processes have used so far; ok is false where /proc does not say.
func (s *h2oServer) CPU() (time.Duration, bool) {
	return treeCPU(s.cmd.Process.Pid)
}

// Close stops h2o with SIGTERM, kills its process group if it has not
// exited after a while, and removes its directory. It may be called on a
// server that never started.
func (s *h2oServer) Close() error {
	var err error
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(h2oStopTimeout):
			killGroup(s.cmd.Process)
			<-s.done
			err = fmt.Errorf("h2o did not exit %v after SIGTERM: killed", h2oStopTimeout)
		}
	}
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	return err
}

// h2oVersion returns the first line of "h2o -v", or "h2o" if it says nothing.
func h2oVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").Output()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return "h2o"
	}
	return line
}

// h2loadVersion returns what "h2load --version" says, or that it is missing.
func h2loadVersion() string {
	bin, err := lookBinary(h2loadName, h2loadPackage)
	if err != nil {
		return err.Error()
	}
	out, _ := exec.Command(bin, "--version").Output()
	if v := strings.TrimSpace(string(out)); v != "" {
		return v
	}
	return "h2load"
}

// pinnedExternal returns a command that runs bin with args on CPU cpu only,
// through taskset, and a note saying how it is pinned or why it is not.
func pinnedExternal(cpu int, bin string, args ...string) (*exec.Cmd, string) {
	if cpu < 0 {
		return exec.Command(bin, args...), "not pinned"
	}
	if cpu >= runtime.NumCPU() {
		return exec.Command(bin, args...), fmt.Sprintf("not pinned: no CPU %d", cpu)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return exec.Command(bin, args...), "not pinned: taskset not found"
	}
	return exec.Command(taskset, append([]string{"-c", strconv.Itoa(cpu), bin}, args...)...),
		fmt.Sprintf("pinned to CPU %d", cpu)
}

// freePorts returns n loopback ports free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
