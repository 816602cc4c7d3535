package benchserver

import (
	"bufio"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// startTimeout bounds how long a server process may take to announce its
// addresses; a thousand listeners take a few milliseconds.
const startTimeout = 30 * time.Second

// stopTimeout is how long Close waits for the process to exit by itself
// before killing it.
const stopTimeout = 10 * time.Second

// ProcessConfig says what a server process started by Start listens on.
// The zero value is one plain HTTP/1.1 listener, not pinned to a CPU.
type ProcessConfig struct {
	// Hosts is the number of extra listeners, each on its own port, for
	// benchmarks that visit many hosts.
	Hosts int
	// TLS adds an HTTPS listener served by this package (HTTP/1.1) and one
	// served by net/http that negotiates HTTP/2.
	TLS bool
	// CPU is the CPU to pin the process to, with taskset, when it is at
	// least 0 and the machine has it. Pinning is never a reason to fail.
	CPU int
}

// Process is a benchmark server running in a child process: the running
// binary, started again with EnvVar set, so the binary must call ChildMain
// first thing.
type Process struct {
	Addr    string         // host:port of the plain HTTP/1.1 listener
	H2CAddr string         // host:port of the HTTP/2 listener with prior knowledge (ServeH2C)
	Hosts   []string       // host:port of each extra listener
	TLSAddr string         // host:port of the HTTPS HTTP/1.1 listener
	H2Addr  string         // host:port of the HTTPS listener that speaks HTTP/2
	RootCAs *x509.CertPool // trusts the HTTPS listeners' certificate
	PinNote string         // how the process is pinned, or why it is not
	Pinned  bool           // whether the process is pinned to one CPU

	cmd   *exec.Cmd
	stdin *os.File
}

// Start starts a server process as cfg says and waits until it listens. If
// the process cannot start pinned to a CPU, it is started unpinned. Close
// stops it.
func Start(cfg ProcessConfig) (*Process, error) {
	p, err := start(cfg, cfg.CPU)
	if err != nil && cfg.CPU >= 0 {
		var perr error
		if p, perr = start(cfg, -1); perr == nil {
			p.PinNote = fmt.Sprintf("server not pinned: %v", err)
			return p, nil
		}
	}
	return p, err
}

func start(cfg ProcessConfig, cpu int) (*Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd, pinned, note := pinnedCommand(cpu, exe)
	cmd.Env = append(os.Environ(),
		EnvVar+"=1",
		envHosts+"="+strconv.Itoa(cfg.Hosts),
		envTLS+"="+boolEnv(cfg.TLS))
	// The process's standard streams are plain pipes, *os.File on both
	// sides, so exec starts no copying goroutine: benchmarks that check for
	// leaked goroutines see none.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, err
	}
	defer outR.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, outW, os.Stderr
	err = cmd.Start()
	stdinR.Close()
	outW.Close()
	if err != nil {
		stdinW.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, stdin: stdinW, PinNote: note, Pinned: pinned}
	// A pipe supports deadlines where the runtime polls it; elsewhere the
	// read simply has none.
	outR.SetReadDeadline(time.Now().Add(startTimeout))
	if err := p.readAnnouncement(outR); err != nil {
		p.Close()
		return nil, fmt.Errorf("benchserver: starting server process: %w", err)
	}
	return p, nil
}

func boolEnv(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// readAnnouncement reads the lines runChild prints, up to "ready".
func (p *Process) readAnnouncement(out *os.File) error {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		kind, value, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "addr":
			p.Addr = value
		case "h2c":
			p.H2CAddr = value
		case "host":
			p.Hosts = append(p.Hosts, value)
		case "tls":
			p.TLSAddr = value
		case "h2":
			p.H2Addr = value
		case "cert":
			der, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				return err
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			p.RootCAs = x509.NewCertPool()
			p.RootCAs.AddCert(cert)
		case "ready":
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("process exited before listening")
}

// CPU returns the CPU time, user and system, that the server process has
// used so far; ok is false where the platform does not say (only Linux does).
func (p *Process) CPU() (cpu time.Duration, ok bool) {
	return ProcCPU(p.cmd.Process.Pid)
}

// Close stops the server process by closing its standard input, kills it if
// it has not exited after a while, and waits for it.
func (p *Process) Close() error {
	p.stdin.Close()
	kill := time.AfterFunc(stopTimeout, func() { p.cmd.Process.Kill() })
	err := p.cmd.Wait()
	kill.Stop()
	return err
}
