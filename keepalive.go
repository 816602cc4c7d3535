package httppool

import (
	"strconv"
	"strings"
	"time"
)

// maxKeepAliveTimeout clamps absurd Keep-Alive timeouts.
const maxKeepAliveTimeout = 24 * time.Hour

// keepAlive is what a "Keep-Alive: timeout=N, max=M" response header says.
// Zero fields were absent or unusable.
type keepAlive struct {
	timeout time.Duration
	max     int // requests the connection may still serve, counting this one
}

// parseKeepAlive reads a Keep-Alive header. Unknown parameters, junk, and
// negative or non-numeric values are ignored; huge ones are clamped.
func parseKeepAlive(values []string) keepAlive {
	var ka keepAlive
	for _, v := range values {
		for len(v) > 0 {
			var param string
			param, v, _ = strings.Cut(v, ",")
			name, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok {
				continue
			}
			n, ok := parseKeepAliveNumber(strings.Trim(strings.TrimSpace(val), `"`))
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "timeout":
				if n > 0 {
					ka.timeout = time.Duration(min(n, int64(maxKeepAliveTimeout/time.Second))) * time.Second
				}
			case "max":
				ka.max = int(min(n, 1<<30))
			}
		}
	}
	return ka
}

// parseKeepAliveNumber parses a non-negative decimal, clamping overflow.
func parseKeepAliveNumber(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 1 << 40, true // all digits, so only too large
	}
	return n, true
}

// keepAliveMargin is how long before the server's announced timeout a
// connection stops being reused: a quarter of it, at most a second, unless
// Config.KeepAliveMargin says otherwise.
func (c *Config) keepAliveMargin(timeout time.Duration) time.Duration {
	if c.KeepAliveMargin > 0 {
		return min(c.KeepAliveMargin, timeout)
	}
	return min(timeout/4, time.Second)
}

// noteKeepAlive applies a response's Keep-Alive header to its connection:
// the connection is not reused past the server's timeout (less the margin)
// nor for more requests than the server announced.
func (pc *h1Conn) noteKeepAlive(values []string, now time.Time) {
	ka := parseKeepAlive(values)
	if ka.timeout > 0 {
		until := now.Add(ka.timeout - pc.hp.core.cfg.keepAliveMargin(ka.timeout))
		if pc.reuseUntil.IsZero() || until.Before(pc.reuseUntil) {
			pc.reuseUntil = until
		}
	}
	if ka.max > 0 {
		last := pc.served + ka.max - 1
		if pc.keepAliveLast == 0 || last < pc.keepAliveLast {
			pc.keepAliveLast = last
		}
	}
}
