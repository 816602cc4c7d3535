package main

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits buckets, so a percentile is off by at most 1/32, about 3%.
const subBits = 5

const subCount = 1 << subBits

// histogram counts latencies in log-linear buckets of nanoseconds. It is a
// fixed-size array so that recording never allocates, which would show in
// the allocations measured.
type histogram struct {
	counts [(64 - subBits + 1) * subCount]uint64
	total  uint64
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	// The top subBits+1 bits of v, as an offset within its power of two.
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketValue returns the middle of bucket i's range.
func bucketValue(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(i%subCount+subCount) << shift
	return low + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)))]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
}

// quantile returns the latency below which a fraction q of the recorded
// ones fall.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total-1)) + 1
	var seen uint64
	for i, n := range h.counts {
		if seen += n; seen >= rank {
			return time.Duration(bucketValue(i))
		}
	}
	return 0
}
