package httppool

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http/httptrace"
	"time"
)

// h3Client is a Transport's HTTP/3 state: the plug-in that dials, and what
// it learnt about origins.
type h3Client struct {
	dialer HTTP3Dialer
	cfg    HTTP3Config
	alts   altSvcCache
}

func newH3Client(cfg *Config) *h3Client {
	if cfg.HTTP3.Dialer == nil {
		return nil
	}
	return &h3Client{dialer: cfg.HTTP3.Dialer, cfg: cfg.HTTP3}
}

// h3Eligible reports whether a pool's connections may speak HTTP/3: an
// https origin reached directly, on a Transport with an HTTP/3 dialer.
func (c *core) h3Eligible(key connectKey, r route) bool {
	return c.h3 != nil && key.scheme == "https" && r == routeDirect && !c.cfg.DisableKeepAlives
}

// claimH3 reserves, for a dial that is about to start, the origin's one
// QUIC dial at a time, and returns the alternative to dial; ok is false when
// the origin has no usable alternative, or a QUIC dial runs already (the
// caller then dials TCP alone). The claim is the origin's, not the pool's:
// a pool that emptied and was made again must not start a second dial
// while the first still waits for an answer.
func (hp *hostPool) claimH3() (alt string, ok bool) {
	if !hp.h3ok {
		return "", false
	}
	return hp.core.h3.alts.claim(hp.key.addr, time.Now())
}

// hasH3Locked reports whether the pool has an HTTP/3 connection that takes
// requests; one draining after a GOAWAY does not count.
func (hp *hostPool) hasH3Locked() bool {
	if hp.byProto[protoH3] == 0 {
		return false
	}
	for cn := hp.conns.head; cn != nil; cn = cn.base().next {
		if b := cn.base(); b.alt && !b.closing {
			return true
		}
	}
	return false
}

// h3DialDone ends the origin's QUIC dial: another may start.
func (hp *hostPool) h3DialDone() {
	hp.core.h3.alts.unclaim(hp.key.addr)
}

// upgradeH3 starts a QUIC dial in the background for a pool that has no
// HTTP/3 connection while its origin offers one, as Chrome keeps an
// alternative job running when a TCP connection served the request. The
// new connection joins the pool, where requests prefer it; if QUIC fails
// while the origin's TCP connections work, HTTP/3 is marked broken.
func (hp *hostPool) upgradeH3() {
	c := hp.core
	hp.mu.Lock()
	// At MaxConnsPerHost the new connection would find no room (adopt):
	// no dial then.
	skip := hp.hasH3Locked() || hp.dead || c.closed.Load() ||
		c.cfg.MaxConnsPerHost > 0 && hp.open >= c.cfg.MaxConnsPerHost
	hp.mu.Unlock()
	if skip {
		return
	}
	alt, ok := hp.claimH3()
	if !ok {
		return
	}
	c.stats.dials.Add(1)
	c.stats.dialing.Add(1)
	go func() {
		defer hp.h3DialDone()
		ctx, cancel := c.backgroundDialContext()
		defer cancel()
		start := time.Now()
		cn, err := c.dialH3(ctx, hp, alt)
		c.stats.dialing.Add(-1)
		if err != nil {
			c.stats.dialErrors.Add(1)
			if ctx.Err() == nil {
				c.h3Broken(hp.key, err) // it failed where TCP works
			}
			return
		}
		c.h3.alts.confirm(hp.key.addr)
		hp.adopt(cn, time.Since(start))
	}()
}

// backgroundDialContext returns the context of a dial that serves no
// request: it ends with the Transport.
func (c *core) backgroundDialContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(c.closeCtx)
}

// dialH3 dials an HTTP/3 connection to alt for hp's origin, firing the
// connect and TLS hooks of ctx's trace around it.
func (c *core) dialH3(ctx context.Context, hp *hostPool, alt string) (conn, error) {
	host, _, err := net.SplitHostPort(hp.key.addr)
	if err != nil {
		return nil, err
	}
	cfg := c.tlsConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"h3"}
	cfg.ClientSessionCache = h3SessionCache{cfg.ClientSessionCache}
	if d := c.cfg.tlsHandshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil {
		if trace.ConnectStart != nil {
			trace.ConnectStart("udp", alt)
		}
		if trace.TLSHandshakeStart != nil {
			trace.TLSHandshakeStart()
		}
	}
	hc, err := c.h3.dialer.DialHTTP3(ctx, alt, cfg, HTTP3DialOptions{
		Allow0RTT:              c.h3.cfg.Allow0RTT,
		DisableCompression:     c.cfg.DisableCompression,
		MaxResponseHeaderBytes: c.cfg.maxResponseHeaderBytes(),
	})
	if trace != nil {
		if trace.TLSHandshakeDone != nil {
			var state tls.ConnectionState
			if err == nil {
				state = hc.ConnectionState()
			}
			trace.TLSHandshakeDone(state, err)
		}
		if trace.ConnectDone != nil {
			trace.ConnectDone("udp", alt, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return newH3Conn(hp, hc), nil
}

// h3SessionCache keeps QUIC's TLS sessions apart from TCP's in the
// Transport's session cache: both are keyed by the server name, and a TCP
// session offered to QUIC (or the reverse) cannot resume, nor carry 0-RTT
// data, while it would push out the one that could.
type h3SessionCache struct{ tls.ClientSessionCache }

func (c h3SessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	return c.ClientSessionCache.Get("h3 " + key)
}

func (c h3SessionCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put("h3 "+key, cs)
}

// raceResult is what one leg of a race dialed.
type raceResult struct {
	cn   conn
	err  error
	quic bool
	took time.Duration
}

// race dials QUIC to alt and, after the race delay or as soon as QUIC
// fails, TCP too; the first connection ready serves the request. The other
// leg carries on in the background: a connection it makes joins the pool,
// and a QUIC failure while TCP worked marks HTTP/3 broken (see finishRace).
// Until a leg wins, ctx's end cancels both. The caller claimed the pool's
// QUIC dial (claimH3); the race releases it.
//
// The pool counts the race as one dial, of which the QUIC leg is the
// start; the TCP leg counts as one more, in Stats.Dials and Dialing, and a
// failure of a leg whose error is not returned in Stats.DialErrors.
func (c *core) race(ctx context.Context, hp *hostPool, alt string) (conn, error) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopCtx := context.AfterFunc(ctx, cancel)
	stopClose := context.AfterFunc(c.closeCtx, cancel)
	results := make(chan raceResult, 2)
	leg := func(quic bool) {
		start := time.Now()
		var r raceResult
		if quic {
			r.cn, r.err = c.dialH3(dctx, hp, alt)
		} else {
			r.cn, r.err = c.dialTCP(dctx, hp)
		}
		r.quic, r.took = quic, time.Since(start)
		results <- r
	}
	go leg(true)
	timer := time.NewTimer(c.h3.alts.raceDelay(hp.key.addr, c.h3.cfg.RaceDelay))
	defer timer.Stop()
	pending, tcpStarted := 1, false
	startTCP := func() {
		if !tcpStarted && ctx.Err() == nil {
			tcpStarted = true
			pending++
			c.stats.dials.Add(1)
			c.stats.dialing.Add(1)
			go leg(false)
		}
	}
	var failed []raceResult
	for {
		select {
		case <-timer.C:
			startTCP()
		case r := <-results:
			pending--
			if r.err == nil {
				stopCtx()
				rest := &raceRest{hp: hp, won: []raceResult{r}, failed: failed, tcpStarted: tcpStarted, cancel: cancel, stopClose: stopClose}
				go rest.wait(c, pending, results)
				return r.cn, nil
			}
			failed = append(failed, r)
			if r.quic {
				startTCP()
			}
			if pending > 0 {
				continue
			}
			stopCtx()
			stopClose()
			cancel()
			// Both failed: the caller gets TCP's error, as without HTTP/3,
			// whichever leg ended last; the log has QUIC's.
			var quicErr, err error
			for _, f := range failed {
				if f.quic {
					quicErr = f.err
				} else {
					err = f.err
				}
			}
			if err == nil {
				err = quicErr // TCP never started
			}
			if ctx.Err() != nil {
				err = ctx.Err() // the legs saw their context cancelled
			}
			if tcpStarted {
				c.stats.dialing.Add(-1)
				c.stats.dialErrors.Add(1) // the pool counts the other failure, returned
				c.logRaceFailed(hp.key, quicErr)
			}
			c.finishRace(hp, nil, failed)
			return nil, err
		}
	}
}

// raceRest is the part of a race left once a leg won.
type raceRest struct {
	hp          *hostPool
	won, failed []raceResult
	tcpStarted  bool
	cancel      context.CancelFunc
	stopClose   func() bool
}

// wait waits for the pending legs, pools the connections they make, and
// settles what the race taught about HTTP/3.
func (r *raceRest) wait(c *core, pending int, results chan raceResult) {
	defer r.cancel()
	defer r.stopClose()
	for ; pending > 0; pending-- {
		res := <-results
		if res.err != nil {
			r.failed = append(r.failed, res)
			continue
		}
		r.won = append(r.won, res)
		r.hp.adopt(res.cn, res.took)
	}
	if r.tcpStarted {
		c.stats.dialing.Add(-1)
	}
	c.stats.dialErrors.Add(int64(len(r.failed)))
	c.finishRace(r.hp, r.won, r.failed)
}

// finishRace releases the pool's QUIC dial and records what the race
// taught: HTTP/3 works, or QUIC failed while TCP worked and is broken.
func (c *core) finishRace(hp *hostPool, won, failed []raceResult) {
	hp.h3DialDone()
	tcpWon := false
	for _, r := range won {
		if r.quic {
			c.h3.alts.confirm(hp.key.addr)
			return
		}
		tcpWon = true
	}
	for _, r := range failed {
		// A leg cancelled by the Transport's close proves nothing.
		if r.quic && tcpWon && !errors.Is(r.err, context.Canceled) {
			c.h3Broken(hp.key, r.err)
		}
	}
}

// h3Broken marks HTTP/3 to key's origin broken after QUIC failed with err
// while TCP worked.
func (c *core) h3Broken(key connectKey, err error) {
	until, failures := c.h3.alts.markBroken(key.addr, time.Now())
	if c.logEnabled() {
		c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "httppool: HTTP/3 marked broken",
			slog.String("host", key.String()), slog.Int("failures", failures),
			slog.Duration("for", time.Until(until)), slog.String("error", err.Error()))
	}
}

func (c *core) logRaceFailed(key connectKey, quicErr error) {
	if c.logEnabled() {
		c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "httppool: QUIC and TCP both failed",
			slog.String("host", key.String()), slog.String("quic_error", quicErr.Error()))
	}
}

// adopt pools a connection that was dialed beside the one that served the
// request that asked for it (the loser of a race, or an HTTP/3 connection
// dialed in the background). It serves no request yet: it goes to the
// oldest waiter, or becomes available. It is closed instead when the pool
// is gone, the Transport closed, or the host at Config.MaxConnsPerHost.
func (hp *hostPool) adopt(cn conn, took time.Duration) {
	c := hp.core
	b := cn.base()
	hp.mu.Lock()
	if hp.dead || c.closed.Load() || c.cfg.MaxConnsPerHost > 0 && hp.open >= c.cfg.MaxConnsPerHost {
		hp.mu.Unlock()
		b.closed.Store(true) // never counted open: close it uncounted
		cn.closeTransport(false)
		return
	}
	hp.open++
	c.stats.opened.Add(1)
	c.stats.open[b.proto].Add(1)
	hp.conns.push(cn)
	hp.byProto[b.proto]++
	b.active = 1 // the slot release gives back
	if ready := cn.ready(); ready != nil {
		go hp.settle(cn, ready, nil)
	}
	hp.mu.Unlock()
	hp.joined(cn, took)
	hp.release(cn, closeReasonNone)
}
