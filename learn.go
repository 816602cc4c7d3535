package httppool

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Many servers close a keep-alive connection that stays idle for a fixed
// time and do not say so (nginx's keepalive_timeout, Go's http.Server,
// Node's keepAliveTimeout, HAProxy, Caddy). A request sent on such a
// connection just as the server closes it is lost: the liveness check at
// checkout sees a close only once it has arrived, and only an idempotent
// request may be sent again. The pool therefore learns, per pool key, how
// long the server keeps an idle connection, from what it sees anyway, and
// stops using connections that have been idle about that long.
//
// Evidence, in idle time as the client measures it (from the end of the
// connection's last response):
//
//   - closed at d: the liveness check found a connection idle for d closed
//     by the server, at checkout or when the sweeper retired it (see
//     learnedExpiryLocked), the connection's own reader saw the close
//     as it came (an HTTP/2 read loop, QUIC; hostPool.retire), or a
//     request sent after idle d failed before any byte of its response
//     (ConnError.ServerClosedIdle): the server closed it by d.
//   - alive at d: a request sent after idle d was answered, or the sweeper
//     found a connection idle for d still open: the server keeps it longer.
//
// Two levels come of it. The estimate, the learned idle timeout, is the
// shortest idle time a connection was found closed at: a close below it
// lowers it at once (a server whose timeout fell is followed at its first
// close), a close a little past it (up to a quarter) confirms it. No
// request takes a connection idle for the estimate less the margin or
// longer; the request takes a fresher connection or dials. The margin is
// learnSlack plus the round trip: a request sent after idle d reaches the
// server about one round trip later in the server's idle time, since the
// server's idle time began when it sent the last response, half a round
// trip before the client's did. The round trip comes from how long the
// host's dials take since learning began (see learnDialed), zero until one
// was timed: a TCP handshake is one round trip, and DNS, TLS or a proxy
// only lengthen a dial, which only widens the margin. learnSlack absorbs
// timer granularity on both sides and a busy machine's scheduling delays.
//
// The estimate is an upper bound, found some time after the close it saw,
// and a loaded server's close times jitter: a request that cannot be sent
// again (not idempotent, or with a body that cannot be replayed) keeps to
// a safe level below it, which only evidence raises. It starts at three
// quarters of the first estimate less the margin. The sweeper checks idle
// connections at a probe level halfway between it and the estimate's cut
// (see learnedExpiryLocked); once learnProbes connections in a row were
// found open there (or answered past it), the safe level rises to the
// probe level less the margin. Any close seen at or below the probe level
// starts the count again, and a close below the safe level plus the margin
// and a sixteenth of the estimate lowers it at once. Between the safe
// level and the estimate's cut lies the uncertain band: a request that
// cannot be resent does not take a connection idle in it, but takes a
// fresher one or dials; an idempotent one may, since the retry covers it.
//
// Connections found open an eighth past the estimate (past its noise: a
// sixteenth, and at least learnNoise, since timers run late on a busy
// machine) contradict it; after learnForgetAfter of them with no
// confirming close between them the estimate is dropped, to be learned
// again from the server's next close: a server whose timeout rose by more
// than an eighth, or an early close of a server that restarted, is so
// followed, while the closes of a server whose close times jitter by less
// keep confirming it. The safe level is dropped with it: only probes
// below the estimate could raise it, and against a server that keeps
// connections longer than IdleTimeout they would never run. A timeout that
// rose by less than an eighth leaves the estimate up to an eighth short.
//
// Learning never shortens reuse against a server that keeps connections
// longer than Config.IdleTimeout: the pool closes them first, so it never
// sees the server close one, and an estimate at or past IdleTimeout is not
// applied. Without IdleTimeout or MaxLifetime no sweeper runs: a connection
// past the learned timeout is then closed by the request that meets it.
// Connections that cannot see a close (closeBlind) tell nothing when
// checked; after learnForgetBlind of them with no close what was learned is
// dropped, for want of another way to see the timeout rise.

const (
	// learnSlack is the fixed part of the margin kept below a learned idle
	// timeout: a few milliseconds, for the granularity of the server's
	// timers and of ours and for scheduling delays on a busy machine.
	learnSlack = 5 * time.Millisecond

	// learnMinIdle is the shortest idle time a close is learned from, and
	// more with a longer round trip (see closedLocked): a server that
	// closes connections sooner is not applying an idle timeout the pool
	// could keep clear of, and the retry policy handles it as before.
	learnMinIdle = learnSlack + learnNoise

	// learnProbes is how many connections in a row found open at the probe
	// level raise the safe level to it.
	learnProbes = 4

	// learnForgetAfter is how many connections found open past the
	// estimate, with no close confirming it between them, drop it.
	learnForgetAfter = 4

	// learnForgetBlind is how many connections retired without telling
	// whether the server had closed them, with no close between them, drop
	// the estimate.
	learnForgetBlind = 64

	// learnNoise is the least a close time may stray by without telling
	// anything: a server's timer and both sides' scheduling on a busy
	// machine run late by milliseconds, whatever the timeout.
	learnNoise = 4 * learnSlack

	// maxLearnedHosts bounds the hosts whose idle timeout is remembered.
	maxLearnedHosts = 10000
)

// idleLearner learns the idle timeout of one pool key's server. It
// outlives the key's host pools, which come and go with their connections,
// and it fits in 64 bytes.
type idleLearner struct {
	// What requests and the sweeper read without a lock: idle times in
	// nanoseconds, zero when none is in force.
	cutAll  atomic.Int64  // from this idle time, no request takes a connection
	cutOnce atomic.Int64  // the safe level: from this idle time, a request that cannot be resent does not
	probeAt atomic.Int64  // the idle time at which the sweeper checks connections, to raise the safe level
	est     atomic.Uint32 // the learned idle timeout, in µs; zero while none is known

	mu     sync.Mutex
	rtt    uint32 // how long dials take, in µs, since learning began: at least a round trip
	shown  uint32 // the estimate last logged, in µs
	probes uint8  // connections found open at the probe level in a row
	contra uint8  // connections found open past the estimate since it was confirmed
	blind  uint8  // connections retired, telling nothing, since it was confirmed
}

func micros(d time.Duration) uint32 {
	return uint32(min(max(d/time.Microsecond, 0), math.MaxUint32))
}

func fromMicros(us uint32) time.Duration { return time.Duration(us) * time.Microsecond }

// withinNoise reports whether an idle time of us µs, at which a connection
// was found open, lies within the noise of the estimate est (in µs): a
// sixteenth past it, and at least learnNoise.
func withinNoise(us, est uint32) bool {
	return uint64(us) <= uint64(est)+uint64(max(est/16, micros(learnNoise)))
}

// marginLocked is what is kept below the estimate: learnSlack and a round trip.
func (l *idleLearner) marginLocked() time.Duration {
	return learnSlack + fromMicros(l.rtt)
}

// closedLocked records a connection found closed after idle d.
func (l *idleLearner) closedLocked(d time.Duration) {
	if d < l.marginLocked()+learnNoise {
		return // sooner than the margin could keep clear of (learnMinIdle)
	}
	us := micros(d)
	est := l.est.Load()
	switch {
	case est == 0 || us < est:
		l.est.Store(us)
		est = us
		l.contra, l.blind = 0, 0
	case us-est <= max(est/4, micros(2*learnNoise)):
		l.contra, l.blind = 0, 0 // confirmed
	}
	e, m := fromMicros(est), l.marginLocked()
	once := time.Duration(l.cutOnce.Load())
	if once == 0 {
		once = e - e/4 - m // first learned: three quarters
	}
	// A close near or below the safe level: requests that cannot be resent
	// must keep clear of it, with room for the jitter of the server's closes.
	once = min(once, d-m-e/16)
	l.cutOnce.Store(int64(max(once, 1)))
	if probe := l.probeAt.Load(); probe == 0 || int64(d) <= probe {
		l.probes = 0
	}
}

// aliveLocked records a connection found alive after idle d.
func (l *idleLearner) aliveLocked(d time.Duration) {
	if probe := time.Duration(l.probeAt.Load()); probe > 0 && d >= probe {
		if l.probes++; l.probes >= learnProbes {
			l.cutOnce.Store(max(l.cutOnce.Load(), int64(probe-l.marginLocked())))
			l.probes = 0
		}
	}
	// Open a little past the estimate is within its noise: a close learned
	// from a failed request comes up to a round trip early.
	if est := l.est.Load(); est == 0 || withinNoise(micros(d), est) {
		return
	}
	if l.contra++; l.contra >= learnForgetAfter {
		l.forgetLocked()
	}
}

// forgetLocked drops the estimate and the safe level, to be learned again
// from the server's next close. The safe level goes too: only the probes
// could raise it, and past Config.IdleTimeout they never run.
func (l *idleLearner) forgetLocked() {
	l.est.Store(0)
	l.cutOnce.Store(0)
	l.contra, l.blind, l.probes = 0, 0, 0
}

// publishLocked computes the cut and the probe level from the estimate and
// the safe level. With idleTimeout set, an estimate at or past it is not
// applied: nor is anything else then.
func (l *idleLearner) publishLocked(idleTimeout time.Duration) {
	e := fromMicros(l.est.Load())
	once := time.Duration(l.cutOnce.Load())
	if idleTimeout > 0 && e >= idleTimeout {
		l.cutAll.Store(0)
		l.cutOnce.Store(0)
		l.probeAt.Store(0)
		return
	}
	var all, probe time.Duration // none without an estimate (nor a safe level: forgetLocked)
	if e > 0 {
		all = max(e-l.marginLocked(), 1)
		once = min(once, all)
		probe = min(once+max((all-once)/2, l.marginLocked()), all)
	}
	l.cutAll.Store(int64(all))
	l.cutOnce.Store(int64(once))
	l.probeAt.Store(int64(probe))
}

// learnVerdict is what the learned idle timeout says of an idle connection.
type learnVerdict uint8

const (
	learnUse     learnVerdict = iota
	learnSkip                 // not for this request; the connection stays
	learnExpired              // for no request; close it
)

// learnedVerdict says whether the connection b, idle for idle, may serve a
// request, resendable or not. A connection past the learned timeout is
// left for the sweeper to check, or expired when no sweeper runs; one the
// sweeper is checking is left to it.
func (hp *hostPool) learnedVerdict(l *idleLearner, b *connBase, idle time.Duration, resendable bool) learnVerdict {
	if b.learnCheck == learnChecking {
		return learnSkip
	}
	if all := l.cutAll.Load(); all > 0 && int64(idle) >= all {
		if c := hp.core; c.idleTimeout <= 0 && c.cfg.MaxLifetime <= 0 {
			return learnExpired
		}
		return learnSkip
	}
	if !resendable {
		if once := l.cutOnce.Load(); once > 0 && int64(idle) >= once {
			return learnSkip
		}
	}
	return learnUse
}

// What the sweeper did of an idle connection, for the learned idle
// timeout, since it became idle (connBase.learnCheck).
const (
	learnUnchecked = iota
	learnChecking  // being checked in place: no request takes it
	learnChecked   // checked at the probe level and left in place
)

// The sweeper looks at an idle connection twice, so that it tells
// something (see learnedCheckAtLocked and learnedCloseAtLocked): it checks
// it in place at the probe level, where found open it may raise the safe
// level, still serving requests after, and found closed it lowers the safe
// level and the estimate; and it closes it an eighth past the estimate (at
// least twice learnNoise),
// checking it first, where found closed it confirms the estimate and found
// open it contradicts it.

// learnedCheckAtLocked returns when the sweeper checks the idle connection
// b in place, zero if it does not.
func (b *connBase) learnedCheckAtLocked() time.Time {
	l := b.hp.learner.Load()
	if l == nil || !b.learns() || b.learnCheck != learnUnchecked {
		return time.Time{}
	}
	if probe := time.Duration(l.probeAt.Load()); probe > 0 {
		return b.idleSince.Add(probe)
	}
	return time.Time{}
}

// learnedCloseAtLocked returns when the sweeper closes the idle connection
// b for the learned idle timeout, zero if never.
func (b *connBase) learnedCloseAtLocked() time.Time {
	l := b.hp.learner.Load()
	if l == nil || !b.learns() || l.cutAll.Load() == 0 {
		return time.Time{}
	}
	if e := fromMicros(l.est.Load()); e > 0 {
		return b.idleSince.Add(e + max(e/8, 2*learnNoise))
	}
	return time.Time{} // dropped since cutAll was read
}

// learnedExpiryLocked returns when the sweeper next has something to do of
// the idle connection b for what was learned, zero if never.
func (b *connBase) learnedExpiryLocked() time.Time {
	check, closeAt := b.learnedCheckAtLocked(), b.learnedCloseAtLocked()
	if check.IsZero() || !closeAt.IsZero() && closeAt.Before(check) {
		return closeAt
	}
	return check
}

// learnedExpiredLocked reports whether the idle connection b is to be
// closed for the learned idle timeout by now.
func (b *connBase) learnedExpiredLocked(now time.Time) bool {
	t := b.learnedCloseAtLocked()
	return !t.IsZero() && !now.Before(t)
}

// learnCheckDueLocked reports whether the sweeper must check the idle
// connection cn in place by now, marking it as being checked if so; the
// sweeper then calls checkIdle. A connection whose check cannot see a
// close (closeBlind) is not checked.
func learnCheckDueLocked(cn conn, now time.Time) bool {
	b := cn.base()
	t := b.learnedCheckAtLocked()
	if t.IsZero() || now.Before(t) {
		return false
	}
	if isCloseBlind(cn) {
		b.learnCheck = learnChecked
		return false
	}
	b.learnCheck = learnChecking
	return true
}

// checkIdle checks the connections learnCheckDueLocked marked, without the
// pool's lock, and learns from them: one found open stays for requests,
// one found closed (or holding bytes nobody asked for) is closed. A
// connection the pool dropped meanwhile teaches nothing: whoever dropped it
// closes it.
func (hp *hostPool) checkIdle(cns []conn) {
	for _, cn := range cns {
		b := cn.base()
		r := cn.checkReuse()
		hp.mu.Lock()
		b.learnCheck = learnChecked
		idle := monoNow().Sub(b.idleSince)
		kept := b.listed && b.idleCounted && !b.closing
		closeNow := kept && r != closeReasonNone && hp.retireLocked(cn, r)
		hp.mu.Unlock()
		if kept {
			hp.learnFrom(b, r, idle)
		}
		if closeNow {
			b.close(cn, b.reason, false)
		}
	}
}

// learnerFor returns key's learner, creating it. Past maxLearnedHosts the
// memory starts over, as with what hosts spoke: pools holding a learner
// keep using it until they retire.
func (c *core) learnerFor(key connectKey) *idleLearner {
	if v, ok := c.learned.Load(key); ok {
		return v.(*idleLearner)
	}
	v, loaded := c.learned.LoadOrStore(key, new(idleLearner))
	if !loaded && c.learnedCount.Add(1) > maxLearnedHosts {
		c.learned.Clear()
		c.learnedCount.Store(0)
	}
	return v.(*idleLearner)
}

// attachLearner gives a new host pool what was learned about its key.
func (c *core) attachLearner(hp *hostPool) {
	if c.cfg.DisableIdleTimeoutLearning {
		return
	}
	if v, ok := c.learned.Load(hp.key); ok {
		hp.learner.Store(v.(*idleLearner))
	}
}

// learnedHostStats returns what is known of a host that has no pool now.
func (c *core) learnedHostStats(key connectKey) (HostStats, bool) {
	v, ok := c.learned.Load(key)
	if !ok {
		return HostStats{}, false
	}
	return HostStats{LearnedIdleTimeout: fromMicros(v.(*idleLearner).est.Load())}, true
}

// learnedIdleTimeout returns the host's learned idle timeout, zero if none.
func (hp *hostPool) learnedIdleTimeout() time.Duration {
	if l := hp.learner.Load(); l != nil {
		return fromMicros(l.est.Load())
	}
	return 0
}

// learnClosed records that the server had closed b, a connection of hp
// that was idle for d.
func (hp *hostPool) learnClosed(b *connBase, d time.Duration) {
	c := hp.core
	if c.cfg.DisableIdleTimeoutLearning || d < learnMinIdle || !b.learns() {
		return
	}
	l := hp.learner.Load()
	if l == nil {
		l = c.learnerFor(hp.key)
		hp.learner.Store(l)
	}
	l.mu.Lock()
	l.closedLocked(d)
	hp.publish(l) // unlocks
}

// learnAlive records that b, a connection of hp idle for d, was alive.
// Most answers come below the probe level and cost two atomic loads.
func (hp *hostPool) learnAlive(b *connBase, d time.Duration) {
	l := hp.learner.Load()
	if l == nil || !b.learns() {
		return
	}
	if probe := l.probeAt.Load(); probe == 0 || int64(d) < probe {
		if est := l.est.Load(); est == 0 || withinNoise(micros(d), est) {
			return
		}
	}
	l.mu.Lock()
	l.aliveLocked(d)
	hp.publish(l) // unlocks
}

// learnDialed records how long a dial of the host took, for the margin:
// the round trip follows the shortest dial at once, and longer ones a
// quarter of the way, so that a path grown slower is followed while a slow
// DNS lookup or handshake moves it little.
func (hp *hostPool) learnDialed(took time.Duration) {
	l := hp.learner.Load()
	if l == nil {
		return
	}
	us := max(micros(took), 1)
	l.mu.Lock()
	switch {
	case l.rtt == 0 || us < l.rtt:
		l.rtt = us
	case us-l.rtt >= 4:
		l.rtt += (us - l.rtt) / 4
	default:
		l.mu.Unlock()
		return
	}
	hp.publish(l) // unlocks
}

// publish applies the learner's evidence, unlocks it, and logs when the
// estimate was learned, dropped, or moved by more than learnSlack.
func (hp *hostPool) publish(l *idleLearner) {
	c := hp.core
	l.publishLocked(c.idleTimeout)
	est, shown := l.est.Load(), l.shown
	changed := est != shown && (est == 0 || shown == 0 || fromMicros(max(est, shown)-min(est, shown)) > learnSlack)
	if changed {
		l.shown = est
	}
	all, once := l.cutAll.Load(), l.cutOnce.Load()
	l.mu.Unlock()
	if changed && c.logEnabled() {
		c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "httppool: learned idle timeout",
			slog.String("host", hp.key.String()),
			slog.Duration("timeout", fromMicros(est)),
			slog.Duration("was", fromMicros(shown)),
			slog.Duration("reuse_below", time.Duration(all)),
			slog.Duration("reuse_below_not_resendable", time.Duration(once)))
	}
}

// learnClosed records that the try's connection, reused after being idle,
// failed in a way that says the server had closed it.
func (t *try) learnClosed() {
	if t.wasIdle {
		b := t.conn.base()
		b.hp.learnClosed(b, t.idleTime)
	}
}

// learnAlive records that the try's connection answered after being idle.
func (t *try) learnAlive() {
	if t.wasIdle {
		b := t.conn.base()
		b.hp.learnAlive(b, t.idleTime)
	}
}

// closeUnusable closes a connection taken out of the pool as unusable. One
// closed for the learned idle timeout is checked first, as evidence: found
// closed by the server, it confirms the estimate; found open, it shows that
// the server keeps connections at least that long. A connection whose
// check cannot see a close (closeBlind) tells nothing.
func (hp *hostPool) closeUnusable(cn conn) {
	b := cn.base()
	if b.reason == closeReasonLearnedIdle {
		if isCloseBlind(cn) {
			hp.learnBlind()
		} else {
			hp.learnFrom(b, cn.checkReuse(), monoNow().Sub(b.idleSince))
		}
	}
	b.close(cn, b.reason, false)
}

// learnFrom learns from what the liveness check found of b, idle for d:
// open, or closed by the server. Bytes nobody asked for tell neither.
func (hp *hostPool) learnFrom(b *connBase, r closeReason, d time.Duration) {
	switch r {
	case closeReasonNone:
		hp.learnAlive(b, d)
	case closeReasonServerClosed:
		hp.learnClosed(b, d)
	}
}

// learns reports whether b teaches and follows the learned idle timeout.
// A connection to the alternative service (HTTP/3) does neither: QUIC
// announces its idle timeout (max_idle_timeout) and keeps to it itself,
// and its closes say nothing of the origin's TCP connections.
func (b *connBase) learns() bool { return !b.alt }

// closeBlind is implemented by connections whose checkReuse cannot see
// that the server closed them (HTTP/1.1 without a socket to peek at, as on
// platforms without a non-blocking peek); others are not blind.
type closeBlind interface{ blindToClose() bool }

func isCloseBlind(cn conn) bool {
	b, ok := cn.(closeBlind)
	return ok && b.blindToClose()
}

// learnBlind records that a connection was retired for the learned idle
// timeout without telling whether the server had closed it. Where that is
// all the pool sees, nothing shows that the server's timeout rose: after
// learnForgetBlind such connections and no close, the estimate and the
// safe level are dropped and learned again from the server's next close.
func (hp *hostPool) learnBlind() {
	l := hp.learner.Load()
	if l == nil {
		return
	}
	l.mu.Lock()
	if l.est.Load() != 0 || l.cutOnce.Load() != 0 {
		if l.blind++; l.blind >= learnForgetBlind {
			l.forgetLocked()
		}
	}
	hp.publish(l) // unlocks
}
