package httppool

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestParseAltSvc(t *testing.T) {
	day := altSvcDefaultMaxAge
	tests := []struct {
		in    []string
		want  []altSvc
		clear bool
		ok    bool
	}{
		{[]string{`h3=":443"`}, []altSvc{{"h3", "", "443", day}}, false, true},
		{[]string{`h3=":8443"; ma=3600`}, []altSvc{{"h3", "", "8443", time.Hour}}, false, true},
		{[]string{`h3=":443";ma=60;persist=1`}, []altSvc{{"h3", "", "443", time.Minute}}, false, true},
		{[]string{`h2="alt.example:443", h3="example.com:444"; ma=10`},
			[]altSvc{{"h2", "alt.example", "443", day}, {"h3", "example.com", "444", 10 * time.Second}}, false, true},
		// Several header fields form one list.
		{[]string{`h3-29=":443"`, `h3=":443"`}, []altSvc{{"h3-29", "", "443", day}, {"h3", "", "443", day}}, false, true},
		{[]string{`clear`}, nil, true, true},
		{[]string{`h3=":443"`, `clear`}, nil, true, true},
		// Percent-encoded protocol IDs, IPv6 hosts, escapes and commas in quotes.
		{[]string{`h%33=":443"`}, []altSvc{{"h3", "", "443", day}}, false, true},
		{[]string{`h3="[::1]:443"`}, []altSvc{{"h3", "::1", "443", day}}, false, true},
		{[]string{`h3=":4\43"`}, []altSvc{{"h3", "", "443", day}}, false, true},
		{[]string{`x="a,b:1", h3=":443"`}, []altSvc{{"x", "a,b", "1", day}, {"h3", "", "443", day}}, false, true},
		{[]string{`h3=":443"; ma="120"`}, []altSvc{{"h3", "", "443", 2 * time.Minute}}, false, true},
		{[]string{`h3=":443"; ma=99999999999999`}, []altSvc{{"h3", "", "443", altSvcMaxMaxAge}}, false, true},
		{[]string{`  h3 = ":443" ,  `}, []altSvc{{"h3", "", "443", day}}, false, true},
		// Malformed alternatives are skipped; a header with none readable is ignored.
		{[]string{`h3=":443"; ma=soon, h3=":444"`}, []altSvc{{"h3", "", "444", day}}, false, true},
		{[]string{`h3=443`}, nil, false, false},
		{[]string{`h3=":0"`}, nil, false, false},
		{[]string{`h3=":99999"`}, nil, false, false},
		{[]string{`h3="no-port"`}, nil, false, false},
		{[]string{`h3=":443`}, nil, false, false},
		{[]string{`=":443"`}, nil, false, false},
		{[]string{``}, nil, false, false},
		{[]string{`clear, h3=":443"`}, nil, true, true}, // RFC 7838: clear stands alone; a client may take it
	}
	for _, tt := range tests {
		got, clear, ok := parseAltSvc(tt.in)
		if !reflect.DeepEqual(got, tt.want) || clear != tt.clear || ok != tt.ok {
			t.Errorf("parseAltSvc(%q) = %v, clear %v, ok %v; want %v, %v, %v", tt.in, got, clear, ok, tt.want, tt.clear, tt.ok)
		}
	}
}

func FuzzParseAltSvc(f *testing.F) {
	for _, s := range []string{`h3=":443"; ma=3600`, `clear`, `h3="[::1]:443", h2=":1"`, `a="\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		alts, clear, ok := parseAltSvc([]string{s})
		if clear && len(alts) > 0 || !ok && (clear || len(alts) > 0) {
			t.Fatalf("inconsistent: %v %v %v", alts, clear, ok)
		}
		for _, a := range alts {
			if a.port == "" || a.proto == "" || a.maxAge < 0 || a.maxAge > altSvcMaxMaxAge {
				t.Fatalf("bad alternative %+v from %q", a, s)
			}
		}
	})
}

func TestAltSvcCache(t *testing.T) {
	var c altSvcCache
	now := time.Now()
	const origin = "example.com:443"
	usable := func(at time.Time) string {
		alt, _ := c.usable(origin, at)
		return alt
	}

	c.note(origin, "example.com", []string{`h2=":443", h3=":8443"; ma=60`}, now)
	if got := usable(now); got != "example.com:8443" {
		t.Fatalf("alternative = %q, want example.com:8443", got)
	}
	if got := usable(now.Add(61 * time.Second)); got != "" {
		t.Errorf("alternative %q used after its ma expired", got)
	}

	// The same value renews the expiry.
	c.note(origin, "example.com", []string{`h2=":443", h3=":8443"; ma=60`}, now.Add(50*time.Second))
	if got := usable(now.Add(100 * time.Second)); got != "example.com:8443" {
		t.Errorf("renewed alternative = %q at 100 s, want it until 110 s", got)
	}

	// Another host's alternative is not taken; a header without h3 withdraws it.
	c.note(origin, "example.com", []string{`h3="cdn.example:443"`}, now)
	if got := usable(now); got != "" {
		t.Errorf("alternative on another host taken: %q", got)
	}
	c.note(origin, "example.com", []string{`h3=":443"`}, now)
	c.note(origin, "example.com", []string{`garbage`}, now) // unreadable: ignored
	if got := usable(now); got != "example.com:443" {
		t.Errorf("unreadable header changed the alternative to %q", got)
	}
	c.note(origin, "example.com", []string{`clear`}, now)
	if got := usable(now); got != "" {
		t.Errorf("clear left %q", got)
	}

	// The origin's own host matches case-insensitively.
	c.note(origin, "example.com", []string{`h3="EXAMPLE.com:443"`}, now)
	if got := usable(now); got != "example.com:443" {
		t.Errorf("same host in capitals: %q", got)
	}

	// No entry for origins that offer nothing.
	c.note("other:443", "other", []string{`h2=":443"`}, now)
	if _, ok := c.status("other:443", now); ok {
		t.Error("an origin without h3 got an entry")
	}
}

func TestAltSvcCacheIsBounded(t *testing.T) {
	var c altSvcCache
	now := time.Now()
	for i := range 3 * maxAltSvcOrigins {
		host := fmt.Sprintf("h%d.example", i)
		c.note(host+":443", host, []string{fmt.Sprintf(`h3=":443"; ma=%d`, 100+i)}, now)
	}
	if n := len(c.origins); n > maxAltSvcOrigins {
		t.Fatalf("cache holds %d origins, bound %d", n, maxAltSvcOrigins)
	}
	// The ones expiring first went first: the newest are all there.
	last := fmt.Sprintf("h%d.example", 3*maxAltSvcOrigins-1)
	if _, ok := c.usable(last+":443", now); !ok {
		t.Error("the newest origin was evicted")
	}
}

func TestH3BrokenBackoff(t *testing.T) {
	var c altSvcCache
	now := time.Now()
	const origin = "example.com:443"
	c.note(origin, "example.com", []string{`h3=":443"; ma=86400000`}, now)
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute,
		160 * time.Minute, 320 * time.Minute, 640 * time.Minute, 1280 * time.Minute, 2560 * time.Minute, 48 * time.Hour, 48 * time.Hour}
	for i, d := range want {
		until, failures := c.markBroken(origin, now)
		if failures != i+1 || until.Sub(now) != d {
			t.Fatalf("failure %d: broken for %v (failures %d), want %v", i+1, until.Sub(now), failures, d)
		}
		if _, ok := c.usable(origin, until.Add(-time.Nanosecond)); ok {
			t.Fatalf("failure %d: usable while broken", i+1)
		}
		if _, ok := c.usable(origin, until); !ok {
			t.Fatalf("failure %d: not usable once the broken time passed", i+1)
		}
	}
	for range 100 { // no overflow however many failures
		if until, _ := c.markBroken(origin, now); until.Sub(now) != 48*time.Hour {
			t.Fatalf("broken for %v, want the 48 h cap", until.Sub(now))
		}
	}
	c.confirm(origin)
	if until, failures := c.markBroken(origin, now); failures != 1 || until.Sub(now) != 5*time.Minute {
		t.Errorf("after HTTP/3 worked: broken %v, failures %d; want 5m, 1", until.Sub(now), failures)
	}
}

func TestRaceDelay(t *testing.T) {
	var c altSvcCache
	now := time.Now()
	const origin = "example.com:443"
	if d := c.raceDelay(origin, 0); d != DefaultHTTP3RaceDelay {
		t.Errorf("no RTT measured: delay %v, want %v", d, DefaultHTTP3RaceDelay)
	}
	c.noteRTT(origin, 40*time.Millisecond, now)
	if d := c.raceDelay(origin, 0); d != 60*time.Millisecond {
		t.Errorf("RTT 40ms: delay %v, want 60ms", d)
	}
	c.noteRTT(origin, 120*time.Millisecond, now) // srtt = 7/8·40 + 1/8·120 = 50
	if d := c.raceDelay(origin, 0); d != 75*time.Millisecond {
		t.Errorf("srtt 50ms: delay %v, want 75ms", d)
	}
	if d := c.raceDelay(origin, time.Second); d != time.Second {
		t.Errorf("configured 1s: delay %v", d)
	}
}

func TestErrCodeNames(t *testing.T) {
	for code, want := range map[uint64]string{
		7: "REFUSED_STREAM", 0x100: "H3_NO_ERROR", 0x10b: "H3_REQUEST_REJECTED", 0x110: "H3_VERSION_FALLBACK", 0x111: "error code 0x111",
	} {
		if got := errCodeName(code); got != want {
			t.Errorf("errCodeName(%#x) = %q, want %q", code, got, want)
		}
	}
}
