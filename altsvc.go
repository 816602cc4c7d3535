package httppool

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Alt-Svc (RFC 7838) tells which origins offer HTTP/3, and the Transport
// remembers it per origin, with what it learnt from racing QUIC against TCP.

const (
	// altSvcDefaultMaxAge is an alternative's lifetime when Alt-Svc gives
	// no ma (RFC 7838 section 3.1).
	altSvcDefaultMaxAge = 24 * time.Hour
	// altSvcMaxMaxAge caps ma, so that a huge value cannot overflow.
	altSvcMaxMaxAge = 365 * 24 * time.Hour
	// maxAltSvcOrigins bounds the origins remembered.
	maxAltSvcOrigins = 1024
	// h3BrokenFirst is how long HTTP/3 stays broken after its first
	// failure; each new failure doubles it, up to h3BrokenMax.
	h3BrokenFirst = 5 * time.Minute
	h3BrokenMax   = 48 * time.Hour
)

// altSvc is one alternative of an Alt-Svc header.
type altSvc struct {
	proto  string        // ALPN protocol ID, percent-decoded: "h3"
	host   string        // empty for the origin's own host
	port   string        // never empty
	maxAge time.Duration // ma, or its default
}

// parseAltSvc parses the values of Alt-Svc header fields (RFC 7838 section
// 3), which form one comma-separated list. clear reports the "clear" value,
// which withdraws every alternative. Malformed alternatives are skipped;
// ok is false when no value could be read at all, and the header is then
// to be ignored.
func parseAltSvc(values []string) (alts []altSvc, clear, ok bool) {
	for _, v := range values {
		p := altSvcParser{s: v}
		for {
			p.skipSpace()
			if p.done() {
				break
			}
			if p.peek() == ',' {
				p.i++
				continue
			}
			a, isClear, good := p.alternative()
			switch {
			case isClear:
				clear, ok = true, true
			case good:
				alts = append(alts, a)
				ok = true
			}
			p.skipTo(',')
		}
	}
	if clear {
		return nil, true, true
	}
	return alts, false, ok
}

// altSvcParser reads one Alt-Svc field value.
type altSvcParser struct {
	s string
	i int
}

func (p *altSvcParser) done() bool { return p.i >= len(p.s) }
func (p *altSvcParser) peek() byte { return p.s[p.i] }

func (p *altSvcParser) skipSpace() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// skipTo moves past the next c outside a quoted string, or to the end.
func (p *altSvcParser) skipTo(c byte) {
	for !p.done() {
		switch p.peek() {
		case c:
			p.i++
			return
		case '"':
			p.quoted()
		default:
			p.i++
		}
	}
}

func (p *altSvcParser) token() string {
	start := p.i
	for !p.done() && httpguts.IsTokenRune(rune(p.peek())) {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string, unescaping it; ok is false when it does
// not start here or is not closed.
func (p *altSvcParser) quoted() (s string, ok bool) {
	if p.done() || p.peek() != '"' {
		return "", false
	}
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if p.done() {
				return "", false
			}
			c = p.peek()
			p.i++
		}
		b.WriteByte(c)
	}
	return "", false
}

// alternative reads `protocol-id "=" alt-authority *( OWS ";" OWS parameter )`,
// or the bare value "clear"; it stops before the ',' that ends it.
func (p *altSvcParser) alternative() (a altSvc, clear, ok bool) {
	id := p.token()
	p.skipSpace()
	if id == "clear" && (p.done() || p.peek() == ',') {
		return a, true, false
	}
	if id == "" || p.done() || p.peek() != '=' {
		return a, false, false
	}
	p.i++
	p.skipSpace()
	authority, good := p.quoted()
	if !good {
		return a, false, false
	}
	host, port, err := net.SplitHostPort(authority)
	if err != nil || port == "" {
		return a, false, false
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return a, false, false
	}
	a = altSvc{proto: percentDecode(id), host: host, port: port, maxAge: altSvcDefaultMaxAge}
	for {
		p.skipSpace()
		if p.done() || p.peek() != ';' {
			break
		}
		p.i++
		p.skipSpace()
		name := p.token()
		p.skipSpace()
		if p.done() || p.peek() != '=' {
			return a, false, false
		}
		p.i++
		p.skipSpace()
		var value string
		if !p.done() && p.peek() == '"' {
			if value, good = p.quoted(); !good {
				return a, false, false
			}
		} else {
			value = p.token()
		}
		if strings.EqualFold(name, "ma") {
			secs, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				return a, false, false
			}
			a.maxAge = altSvcMaxMaxAge
			if secs < uint64(altSvcMaxMaxAge/time.Second) {
				a.maxAge = time.Duration(secs) * time.Second
			}
		}
	}
	p.skipSpace()
	return a, false, p.done() || p.peek() == ','
}

// percentDecode decodes a protocol-id's %XX escapes; a malformed escape is
// kept as it is, which then matches no protocol.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// altSvcCache remembers, per https origin ("host:port"), its HTTP/3
// alternative, whether HTTP/3 to it is broken, and the round-trip time of
// its TCP dials. It holds at most maxAltSvcOrigins origins.
type altSvcCache struct {
	mu      sync.Mutex
	origins map[string]*h3Origin
}

// h3Origin is what the cache knows of one origin.
type h3Origin struct {
	alt     string    // "host:port" to dial QUIC to; empty if none
	expires time.Time // when alt expires
	raw     string    // the Alt-Svc value alt came from, not parsed again
	maxAge  time.Duration

	brokenUntil time.Time
	failures    int
	dialing     bool // a QUIC dial runs (race or upgrade): no other starts

	srtt time.Duration
}

// live reports whether the entry still says anything at now.
func (o *h3Origin) live(now time.Time) bool {
	return o.alt != "" && now.Before(o.expires) || now.Before(o.brokenUntil) || o.failures > 0 || o.dialing
}

// entryLocked returns the origin's entry, making one (and room for it)
// when create is set.
func (c *altSvcCache) entryLocked(origin string, now time.Time, create bool) *h3Origin {
	if o := c.origins[origin]; o != nil || !create {
		return o
	}
	if c.origins == nil {
		c.origins = make(map[string]*h3Origin)
	}
	if len(c.origins) >= maxAltSvcOrigins {
		c.evictLocked(now)
	}
	o := &h3Origin{}
	c.origins[origin] = o
	return o
}

// evictLocked drops one origin: one that says nothing any more if there is
// one, otherwise the one whose alternative expires first.
func (c *altSvcCache) evictLocked(now time.Time) {
	var victim string
	var first time.Time
	for k, o := range c.origins {
		if !o.live(now) {
			delete(c.origins, k)
			return
		}
		if victim == "" || o.expires.Before(first) {
			victim, first = k, o.expires
		}
	}
	delete(c.origins, victim)
}

// note records the Alt-Svc header of a response from origin, whose host
// is host. As RFC 7838 section 3 says, a header replaces what was known:
// its first "h3" alternative on the same host becomes the origin's, "clear"
// or a header without one withdraws it. A header that cannot be read is
// ignored. The same value as last time only renews the expiry.
func (c *altSvcCache) note(origin, host string, values []string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.origins[origin]; o != nil && len(values) == 1 && values[0] == o.raw && o.raw != "" {
		if o.alt != "" {
			o.expires = now.Add(o.maxAge)
		}
		return
	}
	alts, _, ok := parseAltSvc(values)
	if !ok {
		return
	}
	var chosen *altSvc
	for i := range alts {
		a := &alts[i]
		if a.proto == "h3" && (a.host == "" || strings.EqualFold(a.host, host)) {
			chosen = a
			break
		}
	}
	o := c.entryLocked(origin, now, chosen != nil)
	if o == nil {
		return
	}
	if chosen == nil {
		o.alt, o.raw = "", ""
		return
	}
	o.alt = net.JoinHostPort(host, chosen.port)
	o.maxAge = chosen.maxAge
	o.expires = now.Add(chosen.maxAge)
	o.raw = ""
	if len(values) == 1 {
		o.raw = values[0]
	}
}

// usable returns the origin's HTTP/3 alternative unless there is none, it
// expired, or HTTP/3 to the origin is broken at now.
func (c *altSvcCache) usable(origin string, now time.Time) (alt string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.origins[origin]
	if o == nil || o.alt == "" || !now.Before(o.expires) || now.Before(o.brokenUntil) {
		return "", false
	}
	return o.alt, true
}

// claim returns the origin's alternative, as usable does, and reserves
// its one QUIC dial at a time: ok is false while one runs.
func (c *altSvcCache) claim(origin string, now time.Time) (alt string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.origins[origin]
	if o == nil || o.dialing || o.alt == "" || !now.Before(o.expires) || now.Before(o.brokenUntil) {
		return "", false
	}
	o.dialing = true
	return o.alt, true
}

// unclaim ends the origin's QUIC dial.
func (c *altSvcCache) unclaim(origin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.origins[origin]; o != nil {
		o.dialing = false
	}
}

// markBroken records that QUIC to origin failed while TCP worked: HTTP/3 is
// not tried for h3BrokenFirst, doubled for each failure since it last
// worked, at most h3BrokenMax. It returns until when.
func (c *altSvcCache) markBroken(origin string, now time.Time) (until time.Time, failures int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.entryLocked(origin, now, true)
	o.failures++
	d := h3BrokenMax
	if o.failures <= 20 { // beyond, the shift would overflow; the cap applies long before
		d = min(h3BrokenFirst<<(o.failures-1), h3BrokenMax)
	}
	o.brokenUntil = now.Add(d)
	return o.brokenUntil, o.failures
}

// confirm records that HTTP/3 to origin worked: its failures are forgotten.
func (c *altSvcCache) confirm(origin string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.origins[origin]; o != nil {
		o.failures, o.brokenUntil = 0, time.Time{}
	}
}

// noteRTT adds a round-trip sample measured on origin's TCP connections to
// its smoothed RTT (RFC 6298's weights).
func (c *altSvcCache) noteRTT(origin string, sample time.Duration, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.entryLocked(origin, now, true)
	if o.srtt == 0 {
		o.srtt = sample
	} else {
		o.srtt = (7*o.srtt + sample) / 8
	}
}

// raceDelay is how long a dial to origin waits for QUIC before TCP: the
// configured delay, else 1.5 times the measured RTT, else the default.
func (c *altSvcCache) raceDelay(origin string, configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.origins[origin]; o != nil && o.srtt > 0 {
		return o.srtt * 3 / 2
	}
	return DefaultHTTP3RaceDelay
}

// status returns what the cache knows of origin at now.
func (c *altSvcCache) status(origin string, now time.Time) (HTTP3Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.origins[origin]
	if o == nil {
		return HTTP3Status{}, false
	}
	s := HTTP3Status{Failures: o.failures, RTT: o.srtt}
	if o.alt != "" && now.Before(o.expires) {
		s.Alternative, s.Expires = o.alt, o.expires
	}
	if now.Before(o.brokenUntil) {
		s.BrokenUntil = o.brokenUntil
	}
	return s, true
}

// noteAltSvc is the hook where responses come back (core.send): it records
// the Alt-Svc header of a response from an origin that may use HTTP/3 and,
// when that origin's pool has no HTTP/3 connection, starts one. cn is the
// connection the response came over. A pool that recorded the same value
// less than altSvcRenewEvery ago does not record it again, so that a server
// repeating its Alt-Svc on every response costs one comparison.
func (c *core) noteAltSvc(cn conn, resp *http.Response) {
	b := cn.base()
	hp := b.hp
	if !hp.h3ok {
		return
	}
	values := resp.Header["Alt-Svc"]
	if len(values) == 0 {
		return
	}
	if !recentAltSvc(hp, values) {
		c.h3.alts.note(hp.key.addr, hostOfKey(hp.key), values, time.Now())
	}
	if !b.alt { // over HTTP/3, the pool has an HTTP/3 connection
		hp.upgradeH3()
	}
}

// recentAltSvc reports whether hp recorded values less than
// altSvcRenewEvery ago, and otherwise remembers them as recorded now.
func recentAltSvc(hp *hostPool, values []string) bool {
	if len(values) != 1 {
		return false
	}
	now := monoNow()
	if last := hp.altSvcSeen.Load(); last != nil && last.value == values[0] && now.Sub(last.at) < altSvcRenewEvery {
		return true
	}
	hp.altSvcSeen.Store(&altSvcSeen{value: values[0], at: now})
	return false
}

// altSvcRenewEvery is how often a pool renews an Alt-Svc value that its
// origin repeats unchanged.
const altSvcRenewEvery = time.Second

// altSvcSeen is the Alt-Svc value a pool last recorded, and when.
type altSvcSeen struct {
	value string
	at    time.Time
}
