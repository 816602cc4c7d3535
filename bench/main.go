// Command bench compares httppool's Transport with net/http's Transport and
// fasthttp's clients on the same workloads, against one benchmark server in
// a separate process, so that each client's CPU time is its process's own.
// The clients take turns (httppool, net/http, fasthttp, httppool, ...) for
// a few rounds, so that drift in the machine's speed hits them alike. The
// HTTP/2 workloads whose names start with h2o run against h2o, with h2load
// as the reference client in place of fasthttp.
//
// Usage:
//
//	go run . [-rounds 3] [-duration 2s] [-workloads get,post] [-json]
//	go run . -workloads h2o -rounds 5
//
// It lives in its own module so that httppool never depends on fasthttp.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/httppool/httppool/internal/benchserver"
)

func main() {
	// The harness starts its own binary again as the benchmark server.
	benchserver.ChildMain()

	cfg := defaultConfig()
	flag.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds of each workload; the clients take turns in each")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "how long each client runs in each round")
	flag.IntVar(&cfg.requests, "requests", cfg.requests, "requests per client and round instead of -duration, when positive")
	flag.StringVar(&cfg.workloads, "workloads", cfg.workloads, "comma-separated parts of the names of the workloads to run (default all)")
	flag.StringVar(&cfg.clients, "clients", cfg.clients, "comma-separated clients to run: httppool, net/http, fasthttp, h2load (default all)")
	flag.IntVar(&cfg.hosts, "hosts", cfg.hosts, "listeners of the many-hosts workload")
	flag.IntVar(&cfg.idleConns, "idle-conns", cfg.idleConns, "idle connections of the idle workload")
	flag.BoolVar(&cfg.pin, "pin", cfg.pin, "pin the server to CPU 1 and this process to CPU 0 with taskset")
	flag.BoolVar(&cfg.json, "json", cfg.json, "print the results as JSON instead of tables")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the harness (the clients) to this file")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(cfg, os.Stdout, os.Stderr); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
