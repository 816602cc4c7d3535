package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// runDemoCommand runs "httppool demo" with the arguments after "demo".
func runDemoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	only := fs.String("only", "", "run only the scenario `NAME`")
	asJSON := fs.Bool("json", false, "print results as JSON")
	args, code, done := parseFlags(fs, args, demoUsage, stdout, stderr)
	if done {
		return code
	}
	if len(args) > 0 {
		return usageError(stderr, "demo", demoUsage, fmt.Sprintf("unexpected argument %q", args[0]))
	}
	list := scenarios()
	if *only != "" {
		var picked []scenario
		for _, s := range list {
			if s.name == *only {
				picked = append(picked, s)
			}
		}
		if picked == nil {
			return usageError(stderr, "demo", demoUsage, fmt.Sprintf("unknown scenario %q (known: %s)", *only, strings.Join(scenarioNames(list), ", ")))
		}
		list = picked
	}
	return demo(ctx, list, *asJSON, stdout, stderr)
}

// demo runs list and reports on stdout, as text or JSON. It returns exitOK
// when every scenario passed and exitFailed otherwise.
func demo(ctx context.Context, list []scenario, asJSON bool, stdout, stderr io.Writer) int {
	start := time.Now()
	var emit func(Result)
	if !asJSON {
		writeHeader(stdout, len(list))
		emit = func(r Result) { writeSection(stdout, r) }
	}
	results := runScenarios(ctx, list, emit)
	if asJSON {
		if err := writeJSON(stdout, results); err != nil {
			fmt.Fprintf(stderr, "%s demo: %v\n", programName, err)
			return exitFailed
		}
	} else {
		writeTable(stdout, results)
		writeFooter(stdout, results, time.Since(start))
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "%s demo: interrupted\n", programName)
	}
	for _, r := range results {
		if !r.Pass {
			return exitFailed
		}
	}
	return exitOK
}

// scenarioNames returns the names of list.
func scenarioNames(list []scenario) []string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.name
	}
	return names
}

// demoUsage prints the demo's help.
func demoUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: %[1]s demo [--only NAME] [--json]

Starts servers on 127.0.0.1 (ports picked by the system) and walks through
the pool's behaviours. For each scenario it prints what was expected, what was
observed (connections counted by the servers, plus the Transport's Stats) and
PASS or FAIL, then a summary table. Only loopback addresses are contacted.

Flags:
  --only NAME   run only the scenario NAME
  --json        print the results as a JSON array of
                {name, expected, observed, pass, details} instead of text
  -h, --help    show this help

Scenarios:
`, programName)
	for _, s := range scenarios() {
		fmt.Fprintf(w, "  %-20s %s\n", s.name, s.what)
	}
	fmt.Fprintf(w, `
Exit status: 0 if every scenario passed, 1 if one failed, 2 for a usage error.

Examples:
  %[1]s demo
  %[1]s demo --only idle-timeout
  %[1]s demo --json --only https
  %[1]s demo --json | jq -r '.[] | select(.pass | not) | .name'
`, programName)
}
