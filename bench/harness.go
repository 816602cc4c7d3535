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

// run starts the server process, runs the selected workloads with the
// clients taking turns, and writes the report to out and progress lines to
// progress. It stops the server process before it returns.
func run(cfg config, out, progress io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	selected, err := selectWorkloads(workloads(cfg.hosts, cfg.idleConns), cfg.workloads)
	if err != nil {
		return err
	}
	pcfg := benchserver.ProcessConfig{CPU: -1}
	for _, w := range selected {
		if w.manyHosts {
			pcfg.Hosts = cfg.hosts
		}
		if w.proto != protoHTTP {
			pcfg.TLS = true
		}
	}
	if cfg.pin {
		pcfg.CPU = 1
	}
	srv, err := benchserver.Start(pcfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := srv.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("stopping the server process: %w", cerr)
		}
	}()
	clientNote := "client not pinned"
	if cfg.pin {
		unpin, note := benchserver.PinSelf(0)
		defer unpin()
		clientNote = note
	}

	serverCores := runtime.NumCPU()
	if srv.Pinned {
		serverCores = 1
	}
	rep := &report{
		Go:          runtime.Version(),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:        runtime.NumCPU(),
		Rounds:      cfg.rounds,
		Duration:    cfg.duration.String(),
		Requests:    cfg.requests,
		ServerPin:   srv.PinNote,
		ClientPin:   clientNote,
		ServerCores: serverCores,
	}
	for _, w := range selected {
		t := targetOf(w, srv)
		if w.idle {
			rep.Idle = runIdle(t, &cfg, progress)
			continue
		}
		wr := &workloadResult{Name: w.name, Desc: w.desc}
		for _, k := range clientKinds {
			res := &result{Client: k.name}
			if !nameSelected(k.name, cfg.clients) {
				res.NA = "not selected"
			}
			wr.Clients = append(wr.Clients, res)
		}
		for round := range cfg.rounds {
			for i, k := range clientKinds {
				res := wr.Clients[i]
				if res.NA != "" || res.Error != "" {
					continue
				}
				fmt.Fprintf(progress, "%s: round %d/%d: %s\n", w.name, round+1, cfg.rounds, k.name)
				s, err := measure(k, w, t, srv, &cfg)
				var na notApplicable
				switch {
				case errors.As(err, &na):
					res.NA = string(na)
				case err != nil:
					res.Error = err.Error()
				case s.err != nil:
					res.Error = s.err.Error()
				default:
					res.add(s)
				}
			}
		}
		for _, res := range wr.Clients {
			res.finish(serverCores)
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	if cfg.json {
		return rep.writeJSON(out)
	}
	return rep.writeText(out)
}

// targetOf returns where w's requests go on srv.
func targetOf(w *workload, srv *benchserver.Process) *target {
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
