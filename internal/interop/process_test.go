//go:build interop

package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds the wait for a server's ports to accept.
	startTimeout = 15 * time.Second
	// stopTimeout bounds the wait for a server to exit after SIGTERM,
	// after which its process group is killed.
	stopTimeout = 10 * time.Second
)

// proc is a server running in the foreground as a child process, in a
// process group of its own so that its workers can be stopped with it.
type proc struct {
	name   string
	cmd    *exec.Cmd
	output string   // the child's stdout and stderr
	logs   []string // its error logs, shown when the test fails
	done   chan struct{}
	err    error
}

// startProc runs bin with args in dir, waits until every port accepts
// connections, and stops the server when the test ends.
func startProc(t *testing.T, name, dir string, ports []int, logs []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, output: filepath.Join(dir, name+".out"), logs: logs, done: make(chan struct{})}
	out, err := os.Create(p.output)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dump(t)
		}
	})
	deadline := time.Now().Add(startTimeout)
	for _, port := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.done:
				p.dump(t)
				t.Fatalf("%s exited before accepting on %s: %v", name, addr, p.err)
			default:
			}
			if time.Now().After(deadline) {
				p.dump(t)
				t.Fatalf("%s does not accept on %s after %v", name, addr, startTimeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p
}

// stop sends SIGTERM and waits; a server that does not exit in time has its
// process group killed.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopTimeout):
	}
	t.Logf("%s did not exit %v after SIGTERM; killing its process group", p.name, stopTimeout)
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// dump logs the tail of the server's output and error logs.
func (p *proc) dump(t *testing.T) {
	for _, f := range append([]string{p.output}, p.logs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		if len(s) > 4000 {
			s = "..." + s[len(s)-4000:]
		}
		t.Logf("%s %s:\n%s", p.name, filepath.Base(f), strings.TrimSpace(s))
	}
}

// freePorts returns n loopback ports free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// writeFile writes a configuration or content file, readable by servers
// that drop root privileges.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lookBin finds a server's executable, skipping the test with a clear
// message when it is not installed.
func lookBin(t *testing.T, name, pkg string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin/", "/usr/bin/", "/usr/local/sbin/", "/usr/local/bin/"} {
		path := dir + name
		if dir == "" {
			p, err := exec.LookPath(name)
			if err != nil {
				continue
			}
			path = p
		}
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
			return path
		}
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; .ci/interop.sh installs it)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": in CI a missing server fails the suite")
	}
	t.Skip(msg + ": skipping " + name)
	return ""
}

// mkdirAll makes a directory the servers can read.
func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
