package main

import "time"

// disturbance is the CPU, in cores, that other processes may use during a
// measurement before the report says its figures were disturbed.
const disturbance = 0.15

// saturation is the share of its cores above which the server is taken to be
// the bottleneck: its figures then bound req/s, not the client's.
const saturation = 0.9

// report is everything one run measured, as printed or written as JSON.
type report struct {
	Go          string            `json:"go"`
	OS          string            `json:"os"`
	CPUs        int               `json:"cpus"`
	Rounds      int               `json:"rounds"`
	Duration    string            `json:"duration"`
	Requests    int               `json:"requests_per_round,omitempty"`
	ServerPin   string            `json:"server_pinning,omitempty"`
	ClientPin   string            `json:"client_pinning"`
	ServerCores int               `json:"server_cores,omitempty"`
	H2O         string            `json:"h2o,omitempty"` // h2o's and h2load's versions and pinning, or why they did not run
	Workloads   []*workloadResult `json:"workloads"`
	Idle        []*idleResult     `json:"idle,omitempty"`
}

// workloadResult is every client's result for one workload.
type workloadResult struct {
	Name    string    `json:"name"`
	Desc    string    `json:"description"`
	Clients []*result `json:"clients"`
}

// result is one client's figures for one workload, over all rounds.
type result struct {
	Client          string  `json:"client"`
	External        bool    `json:"external,omitempty"` // a program of its own: no allocations or latency measured
	NA              string  `json:"na,omitempty"`
	Error           string  `json:"error,omitempty"`
	Rounds          int     `json:"rounds"`
	Requests        int64   `json:"requests"`
	ReqPerSec       float64 `json:"req_per_sec"`
	CPUPerReq       float64 `json:"cpu_ns_per_req"`
	AllocsPerReq    float64 `json:"allocs_per_req"`
	BytesPerReq     float64 `json:"bytes_per_req"`
	P50             float64 `json:"p50_ns"`
	P99             float64 `json:"p99_ns"`
	DialsPerRound   float64 `json:"dials_per_round"`
	ClientCPU       float64 `json:"client_cpu_cores"` // mean cores the client process used
	ServerCPU       float64 `json:"server_cpu_cores"` // mean cores the server process used
	ServerSaturated bool    `json:"server_saturated"`
	OtherCPU        float64 `json:"other_cpu_cores"` // mean cores used by other processes
	Disturbed       bool    `json:"disturbed"`

	// RoundCPUPerReq is cpu/req in each round, in the order of the rounds,
	// so that rounds can be compared with the other clients' turns next to
	// them in time.
	RoundCPUPerReq []float64 `json:"round_cpu_ns_per_req"`

	machineCPU, harnessCPU time.Duration

	elapsed, cpu, serverCPU time.Duration
	mallocs, bytes          uint64
	dials                   int64
	latency                 histogram
}

// add sums one round's sample into r.
func (r *result) add(s *sample) {
	r.Rounds++
	r.Requests += s.requests
	r.elapsed += s.elapsed
	r.cpu += s.cpu
	r.serverCPU += s.serverCPU
	r.machineCPU += s.machineCPU
	r.harnessCPU += s.harnessCPU
	r.External = r.External || s.external
	r.mallocs += s.mallocs
	r.bytes += s.bytes
	r.dials += s.dials
	r.latency.merge(&s.latency)
	if s.requests > 0 {
		r.RoundCPUPerReq = append(r.RoundCPUPerReq, float64(s.cpu)/float64(s.requests))
	}
}

// finish computes r's figures from its sums. Rates are totals over totals,
// so that every request weighs the same whatever its round.
func (r *result) finish(serverCores int) {
	if r.Rounds == 0 || r.Requests == 0 {
		return
	}
	n := float64(r.Requests)
	secs := r.elapsed.Seconds()
	r.ReqPerSec = n / secs
	r.CPUPerReq = float64(r.cpu) / n
	r.AllocsPerReq = float64(r.mallocs) / n
	r.BytesPerReq = float64(r.bytes) / n
	r.P50 = float64(r.latency.quantile(0.50))
	r.P99 = float64(r.latency.quantile(0.99))
	r.DialsPerRound = float64(r.dials) / float64(r.Rounds)
	r.ClientCPU = r.cpu.Seconds() / secs
	r.ServerCPU = r.serverCPU.Seconds() / secs
	r.ServerSaturated = r.ServerCPU >= saturation*float64(serverCores)
	if r.machineCPU > 0 {
		r.OtherCPU = max(0, (r.machineCPU-r.cpu-r.serverCPU-r.harnessCPU).Seconds()/secs)
		r.Disturbed = r.OtherCPU >= disturbance
	}
}

func (r *result) client() string { return r.Client }

func (r *result) external() bool { return r.External }

// ok reports whether r has figures.
func (r *result) ok() bool {
	return r.NA == "" && r.Error == "" && r.Requests > 0
}
