package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/httppool/httppool/internal/benchserver"
)

// config is the harness's configuration, set by flags.
type config struct {
	rounds    int
	duration  time.Duration
	requests  int
	workloads string
	clients   string
	hosts     int
	idleConns int
	pin       bool
	json      bool
}

func defaultConfig() config {
	return config{rounds: 3, duration: 2 * time.Second, hosts: 1000, idleConns: 10000, pin: true}
}

func (cfg *config) validate() error {
	switch {
	case cfg.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case cfg.duration <= 0 && cfg.requests <= 0:
		return errors.New("-duration or -requests must be positive")
	case cfg.hosts < 1:
		return errors.New("-hosts must be at least 1")
	case cfg.idleConns < 1:
		return errors.New("-idle-conns must be at least 1")
	}
	return nil
}

// run runs the selected workloads and writes the report to out, as text or
// JSON, and progress lines to progress.
func run(cfg config, out, progress io.Writer) error {
	rep, err := collect(cfg, progress)
	if err != nil {
		return err
	}
	if cfg.json {
		return rep.writeJSON(out)
	}
	return rep.writeText(out)
}

// collect starts the server processes the selected workloads need, runs the
// workloads with the clients taking turns, and returns what they measured,
// writing progress lines to progress. It stops the server processes before
// it returns.
func collect(cfg config, progress io.Writer) (_ *report, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	selected, err := selectWorkloads(workloads(cfg.hosts, cfg.idleConns), cfg.workloads)
	if err != nil {
		return nil, err
	}
	serverCPU := -1
	if cfg.pin {
		serverCPU = 1
	}
	pcfg := benchserver.ProcessConfig{CPU: serverCPU}
	var needBench, needH2O bool
	for _, w := range selected {
		if w.h2o {
			needH2O = true
			continue
		}
		needBench = true
		if w.manyHosts {
			pcfg.Hosts = cfg.hosts
		}
		if w.proto != protoHTTP {
			pcfg.TLS = true
		}
	}
	rep := &report{
		Go:       runtime.Version(),
		OS:       runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:     runtime.NumCPU(),
		Rounds:   cfg.rounds,
		Duration: cfg.duration.String(),
		Requests: cfg.requests,
	}

	var srv *benchserver.Process
	serverCores := runtime.NumCPU()
	if needBench {
		if srv, err = benchserver.Start(pcfg); err != nil {
			return nil, err
		}
		defer func() {
			if cerr := srv.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("stopping the server process: %w", cerr)
			}
		}()
		if srv.Pinned {
			serverCores = 1
		}
		rep.ServerPin, rep.ServerCores = srv.PinNote, serverCores
	}
	var (
		h2o    *h2oServer
		h2oErr error // why the h2o workloads cannot run
	)
	if needH2O {
		if h2o, h2oErr = startH2O(serverCPU); h2oErr != nil {
			fmt.Fprintf(progress, "bench: the h2o workloads cannot run: %v\n", h2oErr)
			rep.H2O = "h2o workloads not run: " + h2oErr.Error()
		} else {
			release := closeOnInterrupt(h2o)
			defer func() {
				release()
				if cerr := h2o.Close(); err == nil && cerr != nil {
					err = fmt.Errorf("stopping h2o: %w", cerr)
				}
			}()
			rep.H2O = fmt.Sprintf("%s (1 thread) %s; %s", h2o.Version, h2o.PinNote, h2loadVersion())
		}
	}
	rep.ClientPin = "client not pinned"
	if cfg.pin {
		unpin, note := benchserver.PinSelf(0)
		defer unpin()
		rep.ClientPin = note
	}

	for _, w := range selected {
		if w.idle {
			rep.Idle = runIdle(targetOf(w, srv, nil), &cfg, progress)
			continue
		}
		wr := &workloadResult{Name: w.name, Desc: w.desc}
		kinds := clientsOf(w)
		for _, k := range kinds {
			res := &result{Client: k.name}
			var na notApplicable
			switch {
			case !nameSelected(k.name, cfg.clients):
				res.NA = "not selected"
			case w.h2o && errors.As(h2oErr, &na):
				res.NA = string(na)
			case w.h2o && h2oErr != nil:
				res.Error = h2oErr.Error()
			}
			wr.Clients = append(wr.Clients, res)
		}
		// h2o runs one thread: one core is all it can use.
		var server cpuSource = srv
		cores := serverCores
		if w.h2o {
			server, cores = h2o, 1
		}
		t := targetOf(w, srv, h2o)
		for round := range cfg.rounds {
			for i, k := range kinds {
				res := wr.Clients[i]
				if res.NA != "" || res.Error != "" {
					continue
				}
				fmt.Fprintf(progress, "%s: round %d/%d: %s\n", w.name, round+1, cfg.rounds, k.name)
				var (
					s    *sample
					merr error
				)
				if k.external != nil {
					s, merr = k.external(w, t, server, &cfg)
				} else {
					s, merr = measure(k, w, t, server, &cfg)
				}
				var na notApplicable
				switch {
				case errors.As(merr, &na):
					res.NA = string(na)
				case merr != nil:
					res.Error = merr.Error()
				case s.err != nil:
					res.Error = s.err.Error()
				default:
					res.add(s)
				}
			}
		}
		for _, res := range wr.Clients {
			res.finish(cores)
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	return rep, nil
}

// targetOf returns where w's requests go, on srv or h2o; nil if w's server
// is not running.
func targetOf(w *workload, srv *benchserver.Process, h2o *h2oServer) *target {
	if w.h2o {
		switch {
		case h2o == nil:
			return nil
		case w.proto == protoH2C:
			return &target{scheme: "http", addrs: []string{h2o.H2CAddr}}
		}
		return &target{scheme: "https", addrs: []string{h2o.TLSAddr}, tls: &tls.Config{RootCAs: h2o.RootCAs}}
	}
	tlsConfig := &tls.Config{RootCAs: srv.RootCAs}
	switch {
	case w.manyHosts:
		return &target{scheme: "http", addrs: srv.Hosts}
	case w.proto == protoHTTPS:
		return &target{scheme: "https", addrs: []string{srv.TLSAddr}, tls: tlsConfig}
	case w.proto == protoH2:
		return &target{scheme: "https", addrs: []string{srv.H2Addr}, tls: tlsConfig}
	}
	return &target{scheme: "http", addrs: []string{srv.Addr}}
}

// nameSelected reports whether name is in the comma-separated list, or the
// list is empty.
func nameSelected(name, list string) bool {
	if list == "" {
		return true
	}
	for _, n := range strings.Split(list, ",") {
		if strings.TrimSpace(n) == name {
			return true
		}
	}
	return false
}
