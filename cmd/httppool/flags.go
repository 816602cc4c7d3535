package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// headerFlag collects repeated -H "Name: value" flags.
type headerFlag struct {
	header http.Header
	host   string // a "Host:" header, which goes to Request.Host
}

// String returns the headers as given, for flag's help.
func (h *headerFlag) String() string {
	if h == nil || len(h.header) == 0 {
		return ""
	}
	var b strings.Builder
	h.header.Write(&b)
	return strings.TrimSpace(b.String())
}

// Set adds one "Name: value" header.
func (h *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return fmt.Errorf("header %q is not of the form \"Name: value\"", s)
	}
	value = strings.TrimSpace(value)
	if textproto.CanonicalMIMEHeaderKey(name) == "Host" {
		h.host = value
		return nil
	}
	if h.header == nil {
		h.header = make(http.Header)
	}
	h.header.Add(name, value)
	return nil
}

// apply sets the collected headers on req.
func (h *headerFlag) apply(req *http.Request) {
	for k, vs := range h.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if h.host != "" {
		req.Host = h.host
	}
}

// parseArgs parses args with fs, allowing flags after positional arguments
// ("load URL -n 10" as well as "load -n 10 URL"); everything after "--" is
// positional. It returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseTarget checks that s is an absolute http or https URL.
func parseTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad URL %q: the scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bad URL %q: no host", s)
	}
	return u, nil
}

// parseFlags parses args for the subcommand name. On -h or --help it prints
// usage to stdout; on a bad command line it reports the error with usage
// on stderr. done is true when the command should return code at once.
func parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (positional []string, code int, done bool) {
	fs.SetOutput(io.Discard) // errors and help are printed here
	positional, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return nil, exitOK, true
	}
	if err != nil {
		return nil, usageError(stderr, fs.Name(), usage, err.Error()), true
	}
	return positional, exitOK, false
}

// usageError reports a bad command line for the subcommand name, followed
// by its usage, on stderr, and returns exitUsage.
func usageError(stderr io.Writer, name string, usage func(io.Writer), msg string) int {
	fmt.Fprintf(stderr, "%s %s: %s\n\n", programName, name, msg)
	usage(stderr)
	return exitUsage
}
