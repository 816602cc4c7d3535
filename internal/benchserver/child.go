package benchserver

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
)

// EnvVar is the environment variable that makes ChildMain serve: a process
// started with HTTPPOOL_BENCHSERVER=1 is the benchmark server.
const EnvVar = "HTTPPOOL_BENCHSERVER"

// The rest of the child's configuration travels in these variables, so that
// the child needs no command-line flags (a test binary parses its own).
const (
	envHosts = "HTTPPOOL_BENCHSERVER_HOSTS" // number of extra listeners
	envTLS   = "HTTPPOOL_BENCHSERVER_TLS"   // "1": also the TLS listeners
)

// ChildMain makes the process the benchmark server when EnvVar is "1" in its
// environment: it listens on 127.0.0.1 ports, prints their addresses on
// standard output, serves until standard input is closed, and exits. When
// EnvVar is not set it returns at once. A program that starts its own binary
// as the server with Start calls ChildMain first thing, from main, TestMain
// or an init function.
func ChildMain() {
	if os.Getenv(EnvVar) != "1" {
		return
	}
	hosts, _ := strconv.Atoi(os.Getenv(envHosts))
	cfg := ProcessConfig{Hosts: hosts, TLS: os.Getenv(envTLS) == "1"}
	if err := runChild(os.Stdin, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runChild listens as cfg says, announces the addresses on stdout, then
// serves until stdin reaches its end, which happens when the parent closes
// it or dies. It stops every listener and connection before returning.
func runChild(stdin io.Reader, stdout io.Writer, cfg ProcessConfig) (err error) {
	var (
		wg      sync.WaitGroup
		closers []io.Closer
	)
	defer func() {
		// Last opened first: the HTTP/2 server before its listener, so that
		// it sees its own shutdown rather than a closed listener.
		for _, c := range slices.Backward(closers) {
			c.Close()
		}
		wg.Wait()
	}()
	listen := func() (net.Listener, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			closers = append(closers, ln)
		}
		return ln, err
	}
	serve := func(ln net.Listener) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Serve(ln, Options{}); err != nil {
				fmt.Fprintln(os.Stderr, "benchserver:", err)
			}
		}()
	}

	out := bufio.NewWriter(stdout)
	ln, err := listen()
	if err != nil {
		return err
	}
	serve(ln)
	fmt.Fprintln(out, "addr", ln.Addr())
	h2c, err := listen()
	if err != nil {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := ServeH2C(h2c); err != nil {
			fmt.Fprintln(os.Stderr, "benchserver: h2c:", err)
		}
	}()
	fmt.Fprintln(out, "h2c", h2c.Addr())
	for range cfg.Hosts {
		ln, err := listen()
		if err != nil {
			return err
		}
		serve(ln)
		fmt.Fprintln(out, "host", ln.Addr())
	}
	if cfg.TLS {
		cert, err := SelfSignedCert()
		if err != nil {
			return err
		}
		ln, err := listen()
		if err != nil {
			return err
		}
		serve(tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
		}))
		fmt.Fprintln(out, "tls", ln.Addr())

		h2, err := listen()
		if err != nil {
			return err
		}
		// HTTP/2 is net/http's server: this package speaks only HTTP/1.1.
		srv := &http.Server{
			Handler:   h2Handler(),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		}
		closers = append(closers, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ServeTLS(h2, "", ""); !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "benchserver: http2:", err)
			}
		}()
		fmt.Fprintln(out, "h2", h2.Addr())
		fmt.Fprintln(out, "cert", base64.StdEncoding.EncodeToString(cert.Certificate[0]))
	}
	fmt.Fprintln(out, "ready")
	if err := out.Flush(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, stdin)
	return err
}

// h2Handler answers as Serve does, for the HTTP/2 listener. /barrier/N is
// not served there: HTTP/2 multiplexes one connection, so there is nothing
// to force.
func h2Handler() http.Handler {
	def := newResponse(DefaultBodySize)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := req.parseTarget([]byte(r.URL.Path)); err != nil || req.route == routeBarrier {
			http.NotFound(w, r)
			return
		}
		resp := def
		if req.route == routeSize {
			resp = sizedResponse(req.n)
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		h.Set("Content-Length", strconv.Itoa(len(resp.body)))
		w.Write(resp.body)
	})
}
