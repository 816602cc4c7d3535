// Command httppool works with the httppool HTTP client transport. Its demo
// subcommand starts local servers and walks through the pool's behaviours,
// reporting for each what was expected, what was observed and PASS or FAIL;
// load is a load generator that shows what the pool did; get fetches URLs
// and shows, per request, the connection and whether it was reused.
//
// Usage:
//
//	httppool demo                  # every scenario, a few lines each and a table
//	httppool demo --only stale     # one scenario
//	httppool demo --json           # machine-readable results
//	httppool load --compare        # httppool and net/http against an embedded server
//	httppool load -d 10s -c 32 URL # a load of 10 s, 32 requests at once
//	httppool get -r 2 URL          # the second request reuses the connection
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit statuses.
const (
	exitOK     = 0 // everything passed
	exitFailed = 1 // a scenario or a request failed
	exitUsage  = 2 // bad command line
)

// programName is the command's name in messages and help.
const programName = "httppool"

// command is one subcommand: its name, a one-line summary for the help and
// the function that runs it with the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	usage   func(w io.Writer)
}

// commands is the subcommand table, in the order the help lists it.
var commands = []command{
	{name: "demo", summary: "walk through the pool's behaviours against local servers", run: runDemoCommand, usage: demoUsage},
	{name: "load", summary: "send a load through the pool and report what it did", run: runLoadCommand, usage: loadUsage},
	{name: "get", summary: "fetch URLs, showing each request's connection, reuse and timings", run: runGetCommand, usage: getUsage},
}

func main() {
	// An interrupt ends the running command cleanly; a second one kills it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		if c := lookup(args[1]); c != nil {
			c.usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "%s help: unknown command %q\n\n", programName, args[1])
		usage(stderr)
		return exitUsage
	default:
		if c := lookup(name); c != nil {
			return c.run(ctx, args[1:], stdout, stderr)
		}
		if strings.HasPrefix(name, "-") {
			fmt.Fprintf(stderr, "%s: unknown flag %q (flags go after the command)\n\n", programName, name)
		} else {
			fmt.Fprintf(stderr, "%s: unknown command %q\n\n", programName, name)
		}
		usage(stderr)
		return exitUsage
	}
}

// lookup returns the subcommand called name, or nil.
func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// usage prints the top-level help.
func usage(w io.Writer) {
	fmt.Fprintf(w, "%s works with the httppool HTTP client transport, a hyper-style connection pool for Go.\n\n", programName)
	fmt.Fprintf(w, "Usage:\n  %s <command> [flags]\n\nCommands:\n", programName)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' (or '%s help <command>') for a command's flags.\n", programName, programName)
	fmt.Fprintf(w, "\nExamples:\n")
	fmt.Fprintf(w, "  %s demo                 # every scenario: a few lines each, then a summary table\n", programName)
	fmt.Fprintf(w, "  %s demo --only stale    # one scenario\n", programName)
	fmt.Fprintf(w, "  %s demo --json          # results as JSON\n", programName)
	fmt.Fprintf(w, "  %s load --compare       # a load through httppool, then net/http, side by side\n", programName)
	fmt.Fprintf(w, "  %s get -r 2 URL         # the second request reuses the connection\n", programName)
}
