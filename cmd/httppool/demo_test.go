package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// wantScenarios are the scenario names the demo promises, in order.
var wantScenarios = []string{
	"reuse", "per-host", "idle-timeout", "max-idle-per-host", "max-conns-per-host",
	"connection-close", "no-pool", "stale", "learned-idle-timeout", "keep-alive-header", "https", "http2", "http2-stream-limit", "http3",
	"coalesce", "preconnect", "close", "shutdown",
}

// TestScenariosPass runs every scenario in-process, as "httppool demo" does,
// requires each to pass, and checks that nothing is left running after.
func TestScenariosPass(t *testing.T) {
	before := runtime.NumGoroutine()
	list := scenarios()
	if got := scenarioNames(list); !slices.Equal(got, wantScenarios) {
		t.Fatalf("scenarios = %v, want %v", got, wantScenarios)
	}
	start := time.Now()
	var emitted []string
	results := runScenarios(context.Background(), list, func(r Result) { emitted = append(emitted, r.Name) })
	t.Logf("all scenarios took %s", time.Since(start))
	if !slices.Equal(emitted, wantScenarios) {
		t.Errorf("results emitted in order %v, want %v", emitted, wantScenarios)
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if r.Pass {
				return
			}
			for _, c := range r.Details.Checks {
				if !c.OK {
					t.Errorf("%s: want %s, got %s", c.Name, c.Want, c.Got)
				}
			}
			if r.Details.Error != "" {
				t.Errorf("error: %s", r.Details.Error)
			}
			for _, n := range r.Details.Notes {
				t.Logf("note: %s", n)
			}
			t.Errorf("FAIL: observed %s", r.Observed)
		})
	}
	checkNoGoroutinesLeft(t, before)
}

// checkNoGoroutinesLeft waits for the goroutine count to fall back to what it
// was before, and dumps the goroutines left if it does not.
func checkNoGoroutinesLeft(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runCLI runs the command line args in-process and returns the exit status,
// stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestOnlyText(t *testing.T) {
	code, out, errOut := runCLI("demo", "--only", "reuse")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"== reuse:", "expected:", "observed:", "PASS", "scenario ", "| result", "1 passed, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, other := range wantScenarios[1:] {
		if strings.Contains(out, "\n"+other+" ") || strings.Contains(out, "== "+other+":") {
			t.Errorf("--only reuse also ran %s:\n%s", other, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestOnlyJSON(t *testing.T) {
	for _, tc := range []struct {
		args []string
		name string
	}{
		{[]string{"demo", "--json", "--only", "per-host"}, "per-host"},
		{[]string{"demo", "-only=https", "-json"}, "https"},
	} {
		args := tc.args
		code, out, errOut := runCLI(args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		var raw []map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatalf("%v: output is not a JSON array: %v\n%s", args, err, out)
		}
		if len(raw) != 1 {
			t.Fatalf("%v: %d results, want 1", args, len(raw))
		}
		var keys []string
		for k := range raw[0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"details", "expected", "name", "observed", "pass"}; !slices.Equal(keys, want) {
			t.Errorf("%v: keys %v, want %v", args, keys, want)
		}
		var results []Result
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatal(err)
		}
		r := results[0]
		if name := tc.name; r.Name != name || !r.Pass || r.Expected == "" || r.Observed == "" {
			t.Errorf("%v: result %+v, want %s passing with expected and observed", args, r, tc.name)
		}
		if len(r.Details.Checks) == 0 || r.Details.Stats == nil || r.Details.What == "" {
			t.Errorf("%v: details lack checks, stats or what: %+v", args, r.Details)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "Usage:"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"--bogus"}, `unknown flag "--bogus"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"demo", "--bogus"}, "flag provided but not defined"},
		{[]string{"demo", "--only"}, "flag needs an argument"},
		{[]string{"demo", "--only", "nope"}, `unknown scenario "nope"`},
		{[]string{"demo", "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "--json=maybe"}, "invalid boolean value"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %s", tc.args, out)
		}
		if !strings.Contains(errOut, tc.wantErr) || !strings.Contains(errOut, "Usage") {
			t.Errorf("%q: stderr lacks %q and usage:\n%s", tc.args, tc.wantErr, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		if code != exitOK || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		for _, want := range []string{"Usage:", "Commands:", "  demo ", "  load ", "  get ", "Examples:", "httppool demo --only"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"demo", "--help"}, {"demo", "-h"}, {"help", "demo"}} {
		code, out, errOut := runCLI(args...)
		if code != exitOK || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		for _, want := range append([]string{"Usage: httppool demo", "--only NAME", "--json", "Examples:", "HTTP/2"}, wantScenarios...) {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q:\n%s", args, want, out)
			}
		}
	}
}

// fakeScenario returns a quick scenario whose run is f.
func fakeScenario(name string, f func(o *outcome) error) scenario {
	return scenario{name: name, what: "a fake", expected: "something",
		run: func(_ context.Context, o *outcome) error { return f(o) }}
}

func TestFailuresExitOne(t *testing.T) {
	list := []scenario{
		fakeScenario("good", func(o *outcome) error { o.equal("one", 1, 1); o.observe("fine"); return nil }),
		fakeScenario("bad-check", func(o *outcome) error { o.equal("connections", 1, 2); o.observe("2 conns"); return nil }),
		fakeScenario("errors", func(o *outcome) error { return errors.New("boom") }),
		fakeScenario("no-checks", func(o *outcome) error { return nil }),
		fakeScenario("panics", func(o *outcome) error { panic("oops") }),
	}
	var out, errOut bytes.Buffer
	if code := demo(context.Background(), list, false, &out, &errOut); code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	text := out.String()
	for _, want := range []string{
		"failed:   connections: want 1, got 2", "error:    boom", "panic: oops", "1 passed, 4 failed",
		"| PASS", "| FAIL",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	out.Reset()
	if code := demo(context.Background(), list, true, &out, &errOut); code != exitFailed {
		t.Errorf("--json: exit %d, want %d", code, exitFailed)
	}
	var results []Result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	for i, r := range results {
		if want := i == 0; r.Pass != want {
			t.Errorf("%s: pass %v, want %v", r.Name, r.Pass, want)
		}
	}
}

func TestTableAligned(t *testing.T) {
	results := []Result{
		{Name: "a", Expected: "µs and ms", Observed: "x", Pass: true},
		{Name: "longer-name", Expected: "e", Observed: "a longer observation", Pass: false},
	}
	var b bytes.Buffer
	writeTable(&b, results)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want 4:\n%s", len(lines), b.String())
	}
	col := func(s string) []int {
		var at []int
		for i, r := range []rune(s) {
			if r == '|' || r == '+' {
				at = append(at, i)
			}
		}
		return at
	}
	for _, l := range lines[1:] {
		if !slices.Equal(col(l), col(lines[0])) {
			t.Errorf("columns not aligned:\n%s", b.String())
		}
	}
}
