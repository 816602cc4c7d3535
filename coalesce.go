package httppool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Connection coalescing (RFC 9113, section 9.1.1; issue 18): an HTTP/2
// connection made for one https origin also serves another when the other
// is on the same port, both are direct, the other's name resolves to the
// connection's remote address, and the server's certificate passes for it
// the verification a connection of its own would have had.
//
// A coalesced connection lives in the pool of the origin it was dialed for
// (its lender) and only there: it is counted once, and its idle time,
// limits and close reasons are that pool's. Another origin's request
// (the borrower's) reserves a stream on it under the lender's lock and
// gives it back there when its response ends, as the lender's own requests
// do. The borrower's pool holds no connection; it remembers the lender
// (HostStats.Coalesced) and retires, as an empty pool does, when the lender
// closes.

// coalescer indexes the HTTP/2 connections that may serve other origins:
// by each name and IP address their certificate covers, with the port.
type coalescer struct {
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	roots  *x509.CertPool   // tls.Config.RootCAs: nil means the system's
	now    func() time.Time // tls.Config.Time, or time.Now

	mu      sync.Mutex
	byName  map[string][]*lender // "name:port", name a certificate's DNS name ("*.example.com" too) or IP
	lenders map[*connBase]*lender
	dns     map[string]*dnsAnswer
}

// lender is an HTTP/2 connection over verified TLS that other origins may
// share.
type lender struct {
	cc   *h2Conn
	ip   netip.Addr // the connection's remote address
	keys []string   // its entries in byName

	// Guarded by coalescer.mu.
	verified  map[string]bool    // host → the certificate passed verification for it
	refused   map[string]bool    // hosts the server answered 421 for
	borrowers map[*hostPool]bool // pools whose requests shared it
	gone      bool               // lends to none: closed (out of the index), or it refused too many origins
}

// Bounds on what coalescing remembers.
const (
	maxLenderNames      = 1024 // index entries per connection (certificate names)
	maxLenderHosts      = 1024 // verdicts and refusals per connection
	maxCoalesceCheckout = 4    // lenders tried for one request
)

// errMisdirected stands for a 421 response on a coalesced connection while
// the retry loop resends the request; the caller never sees it.
var errMisdirected = errors.New("httppool: 421 Misdirected Request on a connection shared with another origin")

// newCoalescer returns the coalescer of a Transport, or nil when it must
// not coalesce: turned off, no HTTP/2, no pooling, no resolver it can trust
// for its dialer, or a TLS configuration that could verify two names
// differently.
func newCoalescer(c *core) *coalescer {
	cfg := &c.cfg
	h := &cfg.HTTP2
	if h.DisableCoalescing || h.Disable || cfg.DisableKeepAlives || !verifiesByName(c.tlsConfig) {
		return nil
	}
	lookup := cfg.LookupNetIP
	if lookup == nil {
		if cfg.DialContext != nil {
			return nil // where would that dialer connect? Only it knows.
		}
		lookup = net.DefaultResolver.LookupNetIP
	}
	co := &coalescer{
		lookup:  lookup,
		roots:   c.tlsConfig.RootCAs,
		now:     c.tlsConfig.Time,
		byName:  make(map[string][]*lender),
		lenders: make(map[*connBase]*lender),
		dns:     make(map[string]*dnsAnswer),
	}
	if co.now == nil {
		co.now = time.Now
	}
	return co
}

// verifiesByName reports whether cfg verifies a server by its name alone,
// as crypto/tls does by default, so that a certificate verified for one
// name can be judged for another without a handshake.
func verifiesByName(cfg *tls.Config) bool {
	return !cfg.InsecureSkipVerify && cfg.VerifyPeerCertificate == nil && cfg.VerifyConnection == nil &&
		cfg.ServerName == "" && cfg.GetClientCertificate == nil &&
		cfg.EncryptedClientHelloConfigList == nil && cfg.EncryptedClientHelloRejectionVerify == nil
}

// coalescible reports whether requests of key may share another origin's
// connection, or lend theirs: https, and direct.
func coalescible(key connectKey) bool {
	return key.scheme == "https" && key.proxy == ""
}

// register makes a newly dialed connection available to other origins
// when it may be: HTTP/2 over TLS whose certificate was verified, to a
// direct https origin, with an IP remote address.
func (co *coalescer) register(cn conn) {
	cc, ok := cn.(*h2Conn)
	if !ok || !coalescible(cc.hp.key) || cc.tlsState == nil ||
		len(cc.tlsState.VerifiedChains) == 0 || len(cc.tlsState.PeerCertificates) == 0 {
		return
	}
	ip, ok := remoteIP(cc.nc)
	if !ok {
		return
	}
	_, port, err := net.SplitHostPort(cc.hp.key.addr)
	if err != nil {
		return
	}
	leaf := cc.tlsState.PeerCertificates[0]
	l := &lender{cc: cc, ip: ip}
	for _, name := range leaf.DNSNames {
		l.keys = append(l.keys, net.JoinHostPort(strings.ToLower(name), port))
	}
	for _, a := range leaf.IPAddresses {
		if addr, ok := netip.AddrFromSlice(a); ok {
			l.keys = append(l.keys, net.JoinHostPort(addr.Unmap().String(), port))
		}
	}
	if len(l.keys) > maxLenderNames {
		l.keys = l.keys[:maxLenderNames]
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	if cc.closed.Load() {
		return // closed already: forget ran, or will find nothing
	}
	co.lenders[&cc.connBase] = l
	for _, k := range l.keys {
		co.byName[k] = append(co.byName[k], l)
	}
}

// hostOfKey returns the host of a pool key, without its port.
func hostOfKey(key connectKey) string {
	host, _, err := net.SplitHostPort(key.addr)
	if err != nil {
		return key.addr
	}
	return host
}

// remoteIP returns the IP address nc is connected to.
func remoteIP(nc net.Conn) (netip.Addr, bool) {
	ra := nc.RemoteAddr()
	if ra == nil {
		return netip.Addr{}, false
	}
	if tcp, ok := ra.(*net.TCPAddr); ok {
		a, ok := netip.AddrFromSlice(tcp.IP)
		return a.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(ra.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// forget takes a closed connection out of the index; the pools that
// borrowed it, holding no connection of their own, retire. connBase.close
// calls it, outside every pool's lock.
func (co *coalescer) forget(b *connBase) {
	co.mu.Lock()
	l := co.lenders[b]
	if l == nil {
		co.mu.Unlock()
		return
	}
	delete(co.lenders, b)
	for _, k := range l.keys {
		list := co.byName[k]
		for i, x := range list {
			if x == l {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(co.byName, k)
		} else {
			co.byName[k] = list
		}
	}
	l.gone = true
	borrowers := l.borrowers
	l.borrowers = nil
	co.mu.Unlock()
	for hp := range borrowers {
		hp.lenderGone(l)
	}
}

// lenderGone forgets l as the pool's lender and retires the pool if it
// holds nothing else, as releaseSlotLocked retires an empty pool.
func (hp *hostPool) lenderGone(l *lender) {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if hp.lender == l {
		hp.lender = nil
		hp.retireIfEmptyLocked()
	}
}

// mayBorrowLocked reports whether hp's requests may look for another
// origin's connection to share (https, direct, HTTP/2 not ruled out by a
// connection of its own) and returns the lender they shared last.
func (hp *hostPool) mayBorrowLocked() (*lender, bool) {
	return hp.lender, coalescible(hp.key) && hp.wantsH2 && hp.proto != protoH1
}

// borrow reserves a request slot on another origin's HTTP/2 connection
// that may serve hp's origin: first the one hp's requests shared last
// (memo), then any the index, DNS and the certificate allow. It reports
// false when there is none with a free stream.
func (hp *hostPool) borrow(ctx context.Context, memo *lender, resendable bool) (try, bool) {
	co := hp.core.coal
	host := hostOfKey(hp.key)
	if memo != nil && co.allowed(memo, hp, host) {
		if t, ok := hp.reserveOn(memo, resendable); ok {
			return t, true
		}
	}
	for _, l := range co.find(ctx, hp, host) {
		if l == memo {
			continue
		}
		if t, ok := hp.reserveOn(l, resendable); ok {
			return t, true
		}
	}
	return try{}, false
}

// find returns up to maxCoalesceCheckout connections of other origins
// that may serve hp's origin, host: their certificate names host, they are
// connected to an address host resolves to, their server did not refuse
// host nor leave it out of its ORIGIN frames, and their certificate passes
// verification for host. It resolves host only when some connection's
// certificate names it.
func (co *coalescer) find(ctx context.Context, hp *hostPool, host string) []*lender {
	cands := co.candidates(hp, host)
	if len(cands) == 0 {
		return nil
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip.Unmap()} // an IP literal is its own answer
	} else if addrs, err = co.resolve(ctx, host); err != nil {
		return nil
	}
	found := cands[:0]
	for _, l := range cands {
		if containsAddr(addrs, l.ip) && co.verifies(l, host) {
			found = append(found, l)
		}
	}
	return found
}

// candidates returns the connections of other origins on hp's port whose
// certificate names host (exactly, or by a wildcard for its first label)
// and that hp may use as far as the server said (allowed).
func (co *coalescer) candidates(hp *hostPool, host string) []*lender {
	_, port, _ := net.SplitHostPort(hp.key.addr)
	keys := [2]string{net.JoinHostPort(host, port)}
	if i := strings.IndexByte(host, '.'); i > 0 {
		keys[1] = net.JoinHostPort("*"+host[i:], port)
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	var out []*lender
	for _, k := range keys {
		for _, l := range co.byName[k] {
			if len(out) < maxCoalesceCheckout && l.cc.hp != hp && co.allowedLocked(l, hp, host) {
				out = append(out, l)
			}
		}
	}
	return out
}

// allowed reports whether l may still serve hp's origin: it is open, its
// server did not answer 421 for host, and its ORIGIN frames, if any, list
// the origin.
func (co *coalescer) allowed(l *lender, hp *hostPool, host string) bool {
	co.mu.Lock()
	defer co.mu.Unlock()
	return co.allowedLocked(l, hp, host)
}

func (co *coalescer) allowedLocked(l *lender, hp *hostPool, host string) bool {
	return !l.gone && !l.refused[host] && l.cc.origins.allows(hp.key.addr)
}

func containsAddr(addrs []netip.Addr, ip netip.Addr) bool {
	for _, a := range addrs {
		if a.Unmap() == ip {
			return true
		}
	}
	return false
}

// verifies reports whether l's certificate passes for host the
// verification crypto/tls would run in a handshake with host: the same
// roots, the server's intermediates, the configured clock. Verdicts are
// remembered per connection.
func (co *coalescer) verifies(l *lender, host string) bool {
	co.mu.Lock()
	v, ok := l.verified[host]
	co.mu.Unlock()
	if ok {
		return v
	}
	certs := l.cc.tlsState.PeerCertificates
	opts := x509.VerifyOptions{
		DNSName:       host,
		Roots:         co.roots,
		CurrentTime:   co.now(),
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := certs[0].Verify(opts)
	v = err == nil
	co.mu.Lock()
	if l.verified == nil {
		l.verified = make(map[string]bool)
	}
	if len(l.verified) < maxLenderHosts {
		l.verified[host] = v
	}
	co.mu.Unlock()
	return v
}

// reserveOn reserves a request slot for one of hp's requests on l's
// connection, under the lock of the pool that owns it, as takeLocked
// reserves one on a connection of the pool's own (tryTakeLocked: what the
// learned idle timeout says of it holds for borrowers too). A connection
// that cannot take the request is left to its own pool.
func (hp *hostPool) reserveOn(l *lender, resendable bool) (try, bool) {
	cn := conn(l.cc)
	b := cn.base()
	owner := b.hp
	owner.mu.Lock()
	if !b.listed || owner.dead {
		owner.mu.Unlock()
		return try{}, false
	}
	taken, t, stale := owner.tryTakeLocked(monoNow(), cn, pickAny, owner.learner.Load(), resendable)
	owner.mu.Unlock()
	if stale != nil {
		owner.closeUnusable(stale)
	}
	if !taken || t.conn == nil {
		return try{}, false
	}
	t.reused, t.coalesced = true, true
	if reason := cn.checkReuse(); reason != closeReasonNone {
		if reason == closeReasonServerClosed {
			t.learnClosed() // learn.go
		}
		owner.release(cn, reason)
		return try{}, false
	}
	hp.borrowed(l)
	return t, true
}

// borrowed records that one of hp's requests shares l's connection. The
// pool remembers l only while l lends (forget may have run since the slot
// was reserved), so that lenderGone always finds and clears it. Lock
// order: hp.mu, then co.mu.
func (hp *hostPool) borrowed(l *lender) {
	c := hp.core
	c.stats.coalesced.Add(1)
	co := c.coal
	hp.mu.Lock()
	remembered := false
	if hp.lender != l {
		co.mu.Lock()
		if !l.gone {
			if l.borrowers == nil {
				l.borrowers = make(map[*hostPool]bool)
			}
			l.borrowers[hp] = true // as many as the live pools
			hp.lender, remembered = l, true
		}
		co.mu.Unlock()
	}
	hp.mu.Unlock()
	if remembered && c.logEnabled() {
		c.logConn("httppool: coalesced", l.cc.id, hp.key, slog.String("lender", l.cc.hp.key.String()))
	}
}

// misdirected handles a response that came over another origin's
// connection: a "421 Misdirected Request" there means the server will not
// serve the request's origin on that connection (RFC 9110, section
// 15.5.20), whatever its certificate says. The origin stops sharing the
// connection, and when the retry policy allows, the response is dropped
// and the try fails as not processed, for the retry loop to resend the
// request on a connection of the origin's own (outcome.misdirected);
// otherwise the caller gets the 421.
func (c *core) misdirected(req *http.Request, t *try, key connectKey, attempt int, resp *http.Response) (*http.Response, outcome, error) {
	if resp.StatusCode != http.StatusMisdirectedRequest {
		return resp, outcome{}, nil
	}
	c.refuseCoalesced(t.conn, key)
	out := outcome{written: true, responded: true, unprocessed: true, misdirected: true,
		bodyStarted: req.Body != nil && req.Body != http.NoBody}
	if retry, _ := c.retryable(req, t, out, attempt, errMisdirected); !retry {
		return resp, outcome{}, nil
	}
	// Closing the body ends the request for Shutdown's count; it goes on.
	c.inflight.Add(1)
	resp.Body.Close()
	return nil, out, errMisdirected
}

// refuseCoalesced records that cn's server answered 421 for key's origin:
// the origin no longer shares cn, and its pool forgets cn as its lender.
func (c *core) refuseCoalesced(cn conn, key connectKey) {
	co := c.coal
	host := hostOfKey(key)
	co.mu.Lock()
	l := co.lenders[cn.base()]
	if l != nil {
		if l.refused == nil {
			l.refused = make(map[string]bool)
		}
		if len(l.refused) < maxLenderHosts {
			l.refused[host] = true
		} else {
			l.gone = true // a server refusing that many origins lends to none
		}
	}
	co.mu.Unlock()
	if v, ok := c.hosts.Load(key); ok && l != nil {
		v.(*hostPool).lenderGone(l)
	}
}

// coalescedWith returns the pool key of the connection hp's requests share
// last, empty if none; hp.mu is held.
func (hp *hostPool) coalescedWithLocked() string {
	if hp.lender == nil {
		return ""
	}
	return hp.lender.cc.hp.key.String()
}
