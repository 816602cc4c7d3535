package main

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.quantile(tt.q)
		// Buckets are 1/32 of a power of two wide: within 3.2% either way.
		if d := float64(got-tt.want) / float64(tt.want); d < -1.0/32 || d > 1.0/32 {
			t.Errorf("quantile(%v) = %v, want %v within 1/32", tt.q, got, tt.want)
		}
	}
}

// TestBuckets checks that buckets follow one another without gaps and that
// each bucket's value is within 1/32 of the values it holds.
func TestBuckets(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<16; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		if mid := bucketValue(b); mid > v+v/32 || mid+mid/32 < v {
			t.Fatalf("bucketValue(bucketOf(%d)) = %d", v, mid)
		}
		prev = b
	}
	if b := bucketOf(1<<64 - 1); b >= len(histogram{}.counts) {
		t.Fatalf("bucketOf(max) = %d, past the %d buckets", b, len(histogram{}.counts))
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%v) = %q, want %q", n, got, want)
		}
	}
}
