package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// progressBarLine matches the progress bar of a "load -d" run.
var progressBarLine = regexp.MustCompile(`httppool: \d+ req, 0 failed, \d+ open +\d+% \|`)

// TestProgressBarOnTerminal runs "httppool load" in a tmux pane, a real
// terminal, and watches the progress bar appear while the load runs and
// vanish before the report. It needs tmux; CI installs it.
func TestProgressBarOnTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		const msg = "tmux is not installed (apt-get install -y tmux): the progress bar on a terminal is not checked"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; in CI a missing tool fails the test")
		}
		t.Skip(msg)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build httppool with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "httppool")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A server of our own on a private socket, without the user's config.
	socket := filepath.Join(dir, "tmux")
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-S", socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
		return string(out), err
	}
	script := bin + " load -d 2s -c 2; echo EXIT=$?; sleep 60"
	if out, err := tm("new-session", "-d", "-x", "150", "-y", "50", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	screen := func() string {
		out, _ := tm("capture-pane", "-p")
		return out
	}

	if s, ok := waitScreen(10*time.Second, screen, progressBarLine.MatchString); !ok {
		t.Fatalf("no progress bar on the terminal while the load ran; the screen:\n%s", s)
	}
	final, ok := waitScreen(20*time.Second, screen, func(s string) bool { return strings.Contains(s, "EXIT=") })
	if !ok {
		t.Fatalf("the load did not end; the screen:\n%s", final)
	}
	for _, want := range []string{"EXIT=0", "httppool load: GET http://127.0.0.1:", "what the pool did", "latency histogram"} {
		if !strings.Contains(final, want) {
			t.Errorf("the screen lacks %q:\n%s", want, final)
		}
	}
	if progressBarLine.MatchString(final) {
		t.Errorf("the progress bar is still on the screen after the load:\n%s", final)
	}
}

// waitScreen polls screen until done accepts it or timeout passes, and
// returns the last screen and whether done accepted it.
func waitScreen(timeout time.Duration, screen func() string, done func(string) bool) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		s := screen()
		if done(s) {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
