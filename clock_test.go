package httppool

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestMonoNowMatchesTimeNow(t *testing.T) {
	before := time.Now()
	m := monoNow()
	after := time.Now()
	if m.Before(before) || after.Before(m) {
		t.Fatalf("monoNow %v not between time.Now readings %v and %v", m, before, after)
	}
}

func TestMonoNowInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start, startNow := monoNow(), time.Now()
		time.Sleep(90 * time.Second)
		if d := monoNow().Sub(start); d != 90*time.Second {
			t.Errorf("monoNow advanced %v over a 90s fake sleep", d)
		}
		if d := monoNow().Sub(startNow); d != 90*time.Second {
			t.Errorf("monoNow - time.Now reading = %v, want 90s", d)
		}
		if !monoNow().Equal(time.Now()) {
			t.Errorf("monoNow %v != time.Now %v in a bubble", monoNow(), time.Now())
		}
	})
}
