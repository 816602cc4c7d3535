package main

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestPacerSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, workers, each = 10_000, 8, 250
		p := newPacer(rate)
		start := time.Now()
		var mu sync.Mutex
		var sent []time.Duration
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					if !p.wait(t.Context(), nil, time.Time{}) {
						t.Error("wait refused a slot with no deadline or stop")
						return
					}
					mu.Lock()
					sent = append(sent, time.Since(start))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// 2000 requests at 10000/s: the first at once, then one every 100µs.
		if got, want := time.Since(start), (workers*each-1)*time.Second/rate; got != want {
			t.Errorf("%d requests at %d/s took %s, want %s", workers*each, rate, got, want)
		}
		perSlot := make(map[time.Duration]int)
		for _, d := range sent {
			perSlot[d]++
		}
		for d, n := range perSlot {
			if n != 1 || d%(time.Second/rate) != 0 {
				t.Errorf("%d requests at %s; want one per multiple of %s", n, d, time.Second/rate)
			}
		}
	})
}

func TestPacerCatchUpIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate = 1000 // one slot per millisecond
		p := newPacer(rate)
		p.wait(t.Context(), nil, time.Time{})
		time.Sleep(time.Second) // a stall: 1000 slots missed
		start := time.Now()
		atOnce := 0
		for p.wait(t.Context(), nil, time.Time{}) && time.Since(start) == 0 {
			atOnce++
		}
		// The slots of the last pacerCatchUp are owed and go at once; the
		// older ones are given up.
		if want := int(pacerCatchUp*rate/time.Second) + 1; atOnce != want {
			t.Errorf("after a stall %d requests went at once, want %d (%s at %d/s, and now)", atOnce, want, pacerCatchUp, rate)
		}
	})
}

func TestPacerStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(1) // one a second
		start := time.Now()
		if !p.wait(t.Context(), nil, time.Time{}) || time.Since(start) != 0 {
			t.Fatal("the first slot is not at once")
		}
		// A slot at or after the deadline is refused without waiting.
		if p.wait(t.Context(), nil, start.Add(time.Second)) || time.Since(start) != 0 {
			t.Errorf("a slot at the deadline was granted or waited for (%s)", time.Since(start))
		}
		// Stop and cancellation end a wait at once.
		stop := make(chan struct{})
		time.AfterFunc(100*time.Millisecond, func() { close(stop) })
		if p.wait(t.Context(), stop, time.Time{}) || time.Since(start) != 100*time.Millisecond {
			t.Errorf("stop ended the wait after %s with a slot granted; want refused at 100ms", time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if p.wait(ctx, nil, time.Time{}) || time.Since(start) != 200*time.Millisecond {
			t.Errorf("cancellation ended the wait after %s with a slot granted; want refused at 200ms", time.Since(start))
		}
	})
	var p *pacer // no -q: no limit
	if !p.wait(context.Background(), nil, time.Time{}) {
		t.Error("a nil pacer refused a request")
	}
}
