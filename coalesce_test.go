package httppool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

var threeNames = []string{"a.test", "b.test", "c.test"}

// spread returns n URLs of path cycling over names.
func spread(s *namesServer, names []string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = s.url(names[i%len(names)], "/")
	}
	return urls
}

// TestCoalescingThreeOriginsOneConnection is the target: three
// origins under one certificate on one address share one TCP connection
// and one TLS handshake, where net/http opens three of each.
func TestCoalescingThreeOriginsOneConnection(t *testing.T) {
	const requests = 30
	cert := namesCert(t, threeNames...)
	srv := startNamesServer(t, []tls.Certificate{cert}, namesOptions{}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))

	get(t, tr, srv.url("a.test", "/"))
	getAll(t, tr, spread(srv, threeNames, requests))

	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d TCP connections, want 1", n)
	}
	if n := srv.handshakes.Load(); n != 1 {
		t.Errorf("server saw %d TLS handshakes, want 1", n)
	}
	if got, want := srv.connHosts(), []string{"a.test+b.test+c.test"}; !slices.Equal(got, want) {
		t.Errorf("hosts per server connection %q, want %q", got, want)
	}
	st := tr.Stats()
	if st.Dials != 1 || st.Open != 1 || st.HTTP2 != 1 || st.Idle != 1 {
		t.Errorf("Stats: Dials %d, Open %d, HTTP2 %d, Idle %d; want 1 each", st.Dials, st.Open, st.HTTP2, st.Idle)
	}
	if want := int64(requests * 2 / 3); st.Coalesced != want {
		t.Errorf("Stats.Coalesced %d, want %d (the requests to b.test and c.test)", st.Coalesced, want)
	}
	for _, name := range []string{"b.test", "c.test"} {
		hs := st.Hosts[srv.origin(name)]
		if hs.Coalesced != srv.origin("a.test") || hs.Open != 0 {
			t.Errorf("HostStats of %s: %+v; want Coalesced %s and no connection of its own", name, hs, srv.origin("a.test"))
		}
	}
	if hs := st.Hosts[srv.origin("a.test")]; hs.Open != 1 || hs.Idle != 1 {
		t.Errorf("HostStats of a.test: %+v; want its one connection, idle", hs)
	}

	// net/http against the same server setup: one connection per origin.
	ref := startNamesServer(t, []tls.Certificate{cert}, namesOptions{}, nil)
	ntr := &http.Transport{
		DialContext:       ref.dial,
		TLSClientConfig:   &tls.Config{RootCAs: ref.roots},
		ForceAttemptHTTP2: true,
	}
	defer ntr.CloseIdleConnections()
	for _, n := range threeNames { // net/http's best case: no concurrent first requests
		get(t, ntr, ref.url(n, "/"))
	}
	getAll(t, ntr, spread(ref, threeNames, requests))
	if n := ref.accepted.Load(); n != 3 {
		t.Errorf("net/http: server accepted %d TCP connections, want 3", n)
	}
	t.Logf("3 origins, 1 address, 1 certificate: httppool %d TCP + %d TLS handshakes for %d requests; net/http %d + %d for %d",
		srv.accepted.Load(), srv.handshakes.Load(), requests+1, ref.accepted.Load(), ref.handshakes.Load(), requests+3)
}

// TestCoalescedRequestTrace checks what httptrace and the response show
// of a request served on another origin's connection.
func TestCoalescedRequestTrace(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))

	var info httptrace.GotConnInfo
	var getConn string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GetConn: func(hostPort string) { getConn = hostPort },
		GotConn: func(i httptrace.GotConnInfo) { info = i },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.url("b.test", "/"), nil)
	resp, body, err := fetch(tr, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "b.test ") {
		t.Errorf("body %q: the request did not name b.test", body)
	}
	if !info.Reused || !info.WasIdle || info.Conn == nil {
		t.Errorf("GotConnInfo %+v; want Reused, WasIdle and the connection", info)
	}
	if want := net.JoinHostPort("b.test", srv.port); getConn != want {
		t.Errorf("GetConn(%q), want %q", getConn, want)
	}
	if resp.TLS == nil || resp.ProtoMajor != 2 {
		t.Errorf("response over %s, TLS %v; want HTTP/2 over TLS", resp.Proto, resp.TLS != nil)
	}
}

// TestCoalescingDeclined checks that a connection is not shared when a
// condition of RFC 9113's section 9.1.1, or of the Transport's
// configuration, does not hold: each case dials a connection per origin.
func TestCoalescingDeclined(t *testing.T) {
	both := []tls.Certificate{namesCert(t, "a.test", "b.test")}
	cases := []struct {
		name       string
		certs      []tls.Certificate
		resolve    map[string]string
		noResolver bool
		cfg        Config
	}{
		{name: "other address", certs: both,
			resolve: map[string]string{"a.test": "127.0.0.1", "b.test": "127.0.0.2"}},
		{name: "not resolved", certs: both,
			resolve: map[string]string{"a.test": "127.0.0.1"}},
		{name: "certificate does not cover", certs: []tls.Certificate{namesCert(t, "a.test"), namesCert(t, "b.test")}},
		{name: "off switch", certs: both, cfg: Config{HTTP2: HTTP2Config{DisableCoalescing: true}}},
		{name: "custom verification", certs: both, cfg: Config{TLSClientConfig: &tls.Config{
			VerifyConnection: func(tls.ConnectionState) error { return nil },
		}}},
		{name: "dialer without resolver", certs: both, noResolver: true},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			srv := startNamesServer(t, tc.certs, namesOptions{}, nil)
			resolve := tc.resolve
			if resolve == nil && !tc.noResolver {
				resolve = allTo("127.0.0.1", "a.test", "b.test")
			}
			tr := srv.transport(t, tc.cfg, resolve)
			get(t, tr, srv.url("a.test", "/"))
			get(t, tr, srv.url("b.test", "/"))
			get(t, tr, srv.url("b.test", "/"))
			if n := srv.accepted.Load(); n != 2 {
				t.Errorf("server accepted %d connections, want 2: one per origin", n)
			}
			if st := tr.Stats(); st.Coalesced != 0 || st.Dials != 2 {
				t.Errorf("Stats: Coalesced %d, Dials %d; want 0 and 2", st.Coalesced, st.Dials)
			}
		})
	}
}

// TestCoalescingOffForUncertainTLS checks that a TLS configuration that
// could verify two names differently turns coalescing off.
func TestCoalescingOffForUncertainTLS(t *testing.T) {
	lookup := fakeResolver(nil, nil)
	cases := map[string]*tls.Config{
		"InsecureSkipVerify":    {InsecureSkipVerify: true},
		"VerifyPeerCertificate": {VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return nil }},
		"VerifyConnection":      {VerifyConnection: func(tls.ConnectionState) error { return nil }},
		"ServerName":            {ServerName: "a.test"},
		"GetClientCertificate": {GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{}, nil
		}},
		"EncryptedClientHelloConfigList": {EncryptedClientHelloConfigList: []byte{0}},
	}
	for name, cfg := range cases {
		tr := New(Config{TLSClientConfig: cfg, LookupNetIP: lookup})
		if tr.c.coal != nil {
			t.Errorf("%s: coalescing on", name)
		}
		tr.Close()
	}
	for name, cfg := range map[string]Config{
		"default":             {},
		"roots and resolver":  {TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}, DialContext: (&net.Dialer{}).DialContext, LookupNetIP: lookup},
		"client certificates": {TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{{}}}},
	} {
		tr := New(cfg)
		if tr.c.coal == nil {
			t.Errorf("%s: coalescing off", name)
		}
		tr.Close()
	}
}

// TestCoalescingWildcardAndIP checks a wildcard certificate's names, and an
// IP literal, which is coalesced only onto a connection to that address
// whose certificate names it.
func TestCoalescingWildcardAndIP(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, "*.w.test", "127.0.0.1", "127.0.0.2")}, namesOptions{}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", "x.w.test", "y.w.test", "deep.y.w.test"))
	get(t, tr, srv.url("x.w.test", "/"))
	get(t, tr, srv.url("y.w.test", "/"))
	get(t, tr, srv.url("127.0.0.1", "/"))
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("server accepted %d connections, want 1 for x.w.test, y.w.test and 127.0.0.1", n)
	}
	// 127.0.0.2 is not the connection's address; a name two labels deep is
	// not covered by the wildcard (and its own handshake fails).
	get(t, tr, srv.url("127.0.0.2", "/"))
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2: 127.0.0.2 has one of its own", n)
	}
	if _, err := fetchBody(tr, srv.url("deep.y.w.test", "/")); err == nil {
		t.Errorf("GET deep.y.w.test succeeded; want a certificate error on its own connection")
	}
	if st := tr.Stats(); st.Coalesced != 2 {
		t.Errorf("Stats.Coalesced %d, want 2", st.Coalesced)
	}
}

// TestCoalescingNotThroughProxy checks that origins reached through a
// proxy have a tunnel each.
func TestCoalescingNotThroughProxy(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{}, nil)
	proxy := testserver.NewProxy(t, false)
	proxy.Resolve = map[string]string{}
	for _, n := range threeNames {
		proxy.Resolve[net.JoinHostPort(n, srv.port)] = srv.addr
	}
	proxyURL, _ := url.Parse(proxy.URL)
	tr := srv.transport(t, Config{
		Proxy:       http.ProxyURL(proxyURL),
		DialContext: (&net.Dialer{}).DialContext, // to the proxy
	}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))
	get(t, tr, srv.url("b.test", "/"))
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2: a tunnel per origin", n)
	}
	if got := len(proxy.Connects()); got != 2 {
		t.Errorf("proxy saw %d CONNECTs, want 2", got)
	}
	if st := tr.Stats(); st.Coalesced != 0 {
		t.Errorf("Stats.Coalesced %d, want 0", st.Coalesced)
	}
}

// TestCoalescingMisdirected checks the answer to a 421: the request is
// resent on a connection of its origin's own, which later requests use;
// the shared connection still serves its own origin.
func TestCoalescingMisdirected(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{misdirect: true}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))

	req, _ := http.NewRequest("POST", srv.url("b.test", "/"), strings.NewReader("payload"))
	resp, body, err := fetch(tr, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != "b.test payload" {
		t.Fatalf("POST b.test: %d %q; want 200 %q, resent with its body", resp.StatusCode, body, "b.test payload")
	}
	if n := srv.misdirect.Load(); n != 1 {
		t.Errorf("server answered 421 %d times, want 1", n)
	}
	for range 3 {
		get(t, tr, srv.url("b.test", "/"))
		get(t, tr, srv.url("a.test", "/"))
	}
	if n := srv.misdirect.Load(); n != 1 {
		t.Errorf("server answered 421 %d times, want still 1: b.test no longer shares a.test's connection", n)
	}
	if got, want := srv.connHosts(), []string{"a.test+b.test", "b.test"}; !slices.Equal(got, want) {
		t.Errorf("hosts per server connection %q, want %q: a.test's (with the misdirected b.test) and b.test's own", got, want)
	}
	st := tr.Stats()
	if st.Dials != 2 || st.Coalesced != 1 || st.Retries != 1 || len(st.Closed) != 0 {
		t.Errorf("Stats: Dials %d, Coalesced %d, Retries %d, Closed %v; want 2, 1, 1, none", st.Dials, st.Coalesced, st.Retries, st.Closed)
	}
	if hs := st.Hosts[srv.origin("b.test")]; hs.Coalesced != "" || hs.Open != 1 {
		t.Errorf("HostStats of b.test %+v; want its own connection and no lender", hs)
	}
}

// TestCoalescingMisdirectedNotReplayable checks that the caller gets the
// 421 of a request that cannot be resent, and that its origin no longer
// shares the connection that answered it.
func TestCoalescingMisdirectedNotReplayable(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, "a.test", "b.test")}, namesOptions{misdirect: true}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", "a.test", "b.test"))
	get(t, tr, srv.url("a.test", "/"))
	req, _ := http.NewRequest("POST", srv.url("b.test", "/"), io.NopCloser(strings.NewReader("once")))
	resp, _, err := fetch(tr, req)
	if err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("POST b.test without GetBody: %v, %v; want the 421", resp, err)
	}
	if hs, ok := tr.HostStats(srv.origin("b.test")); hs.Coalesced != "" || ok {
		t.Errorf("HostStats of b.test %+v (%v); want no lender after the 421, and no pool: it holds nothing", hs, ok)
	}
	if body := get(t, tr, srv.url("b.test", "/")); body != "b.test " {
		t.Errorf("GET b.test: %q", body)
	}
	if n := srv.misdirect.Load(); n != 1 {
		t.Errorf("server answered 421 %d times, want 1: b.test must not try a.test's connection again", n)
	}
	if got, want := srv.connHosts(), []string{"a.test+b.test", "b.test"}; !slices.Equal(got, want) {
		t.Errorf("hosts per server connection %q, want %q", got, want)
	}
}

// TestCoalescingOriginFrame checks that a server's ORIGIN frame limits
// the origins that share its connection.
func TestCoalescingOriginFrame(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)},
		namesOptions{origins: []string{"https://c.test:{port}", "http://b.test:{port}"}}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))
	get(t, tr, srv.url("c.test", "/"))
	get(t, tr, srv.url("b.test", "/"))
	if got, want := srv.connHosts(), []string{"a.test+c.test", "b.test"}; !slices.Equal(got, want) {
		t.Errorf("hosts per server connection %q, want %q: the ORIGIN frame lists https://c.test only", got, want)
	}
}

// TestOriginSet checks the parsing of ORIGIN frames.
func TestOriginSet(t *testing.T) {
	entry := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	var o originSet
	if !o.allows("any.test:443") {
		t.Fatal("before any ORIGIN frame, the set must not restrict")
	}
	var p []byte
	for _, s := range []string{"https://A.test", "https://b.test:8443", "http://c.test", "https://d.test/path", "not a url", "https://e.test:443"} {
		p = append(p, entry(s)...)
	}
	p = append(p, 0, 40, 'x') // cut short
	if n := o.add(p); n != 3 {
		t.Errorf("add returned %d, want 3", n)
	}
	for addr, want := range map[string]bool{
		"a.test:443": true, "b.test:8443": true, "b.test:443": false, "c.test:80": false,
		"c.test:443": false, "d.test:443": false, "e.test:443": true,
	} {
		if got := o.allows(addr); got != want {
			t.Errorf("allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if n := o.add(entry("https://a.test")); n != 0 {
		t.Errorf("a repeated origin added %d", n)
	}
}

// TestCoalescingLenderClosed checks that the pool of an origin that
// shared another's connection retires when that connection closes, and
// that the next request finds a connection again.
func TestCoalescingLenderClosed(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))
	get(t, tr, srv.url("b.test", "/"))
	if _, ok := tr.HostStats(srv.origin("b.test")); !ok {
		t.Fatal("no pool for b.test while it shares a.test's connection")
	}
	tr.CloseIdleConnections()
	if hs, ok := tr.HostStats(srv.origin("b.test")); ok {
		t.Errorf("b.test's pool outlived the connection it shared: %+v", hs)
	}
	if st := tr.Stats(); st.Open != 0 || len(st.Hosts) != 0 {
		t.Errorf("Stats after CloseIdleConnections: Open %d, Hosts %v; want none", st.Open, st.Hosts)
	}
	get(t, tr, srv.url("b.test", "/"))
	get(t, tr, srv.url("a.test", "/"))
	if st := tr.Stats(); st.Dials != 2 || st.Coalesced != 2 {
		t.Errorf("Stats: Dials %d, Coalesced %d; want 2 (b.test dialed, a.test shares it)", st.Dials, st.Coalesced)
	}
}

// TestCoalescedStatsWhileInFlight checks that a connection serving three
// origins at once counts once: in use, in its own origin's pool.
func TestCoalescedStatsWhileInFlight(t *testing.T) {
	arrived := make(chan struct{}, 3)
	release := make(chan struct{})
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{}, func(r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived <- struct{}{}
			<-release
		}
	})
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	get(t, tr, srv.url("a.test", "/"))
	var wg sync.WaitGroup
	for _, n := range threeNames {
		wg.Go(func() {
			if _, err := fetchBody(tr, srv.url(n, "/hold")); err != nil {
				t.Error(err)
			}
		})
	}
	for range threeNames {
		<-arrived
	}
	st := tr.Stats()
	close(release)
	wg.Wait()
	if st.Open != 1 || st.InUse != 1 || st.Idle != 0 {
		t.Errorf("Stats with 3 origins in flight: Open %d, InUse %d, Idle %d; want 1, 1, 0", st.Open, st.InUse, st.Idle)
	}
	if hs := st.Hosts[srv.origin("a.test")]; hs.Open != 1 || hs.InUse != 1 {
		t.Errorf("HostStats of a.test: %+v; want its connection, in use", hs)
	}
	if hs := st.Hosts[srv.origin("c.test")]; hs.Open != 0 || hs.InUse != 0 {
		t.Errorf("HostStats of c.test: %+v; want no connection", hs)
	}
	if st := tr.Stats(); st.Open != 1 || st.Idle != 1 {
		t.Errorf("Stats after: Open %d, Idle %d; want 1 and 1", st.Open, st.Idle)
	}
}

// TestCoalescingResolvesOnce checks that the names of origins that share
// a connection are resolved once, not per request, and only when a
// connection's certificate names them.
func TestCoalescingResolvesOnce(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, "a.test", "b.test")}, namesOptions{}, nil)
	var lookups atomic.Int64
	tr := srv.transport(t, Config{LookupNetIP: fakeResolver(allTo("127.0.0.1", "a.test", "b.test", "z.test"), &lookups)}, nil)
	get(t, tr, srv.url("a.test", "/"))
	getAll(t, tr, spread(srv, []string{"b.test"}, 20))
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want 1 (b.test, once)", n)
	}
	if _, err := fetchBody(tr, srv.url("z.test", "/")); err == nil {
		t.Error("GET z.test succeeded; want its own connection's certificate error")
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want still 1: no certificate names z.test", n)
	}
}

// TestCoalescingFullConnection checks that an origin dials its own
// connection when the shared one has no free stream.
func TestCoalescingFullConnection(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, "a.test", "b.test")}, namesOptions{maxStreams: 1}, func(r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived <- struct{}{}
			<-release
		}
	})
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", "a.test", "b.test"))
	get(t, tr, srv.url("a.test", "/"))
	done := make(chan error, 1)
	go func() {
		_, err := fetchBody(tr, srv.url("a.test", "/hold"))
		done <- err
	}()
	<-arrived
	get(t, tr, srv.url("b.test", "/"))
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2: a.test's was full", n)
	}
}

// TestPreconnectCoalescedDialsNothing checks that Preconnect dials nothing
// for an origin that may share another's connection.
func TestPreconnectCoalescedDialsNothing(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, threeNames...)}, namesOptions{}, nil)
	tr := srv.transport(t, Config{}, allTo("127.0.0.1", threeNames...))
	if err := tr.Preconnect(context.Background(), srv.url("a.test", "/"), 4); err != nil {
		t.Fatal(err)
	}
	if err := tr.Preconnect(context.Background(), srv.url("b.test", "/"), 4); err != nil {
		t.Fatal(err)
	}
	getAll(t, tr, spread(srv, threeNames, 9))
	if st := tr.Stats(); st.Dials != 1 || st.Coalesced != 6 {
		t.Errorf("Stats: Dials %d, Coalesced %d; want 1 and 6", st.Dials, st.Coalesced)
	}
}

// TestCoalescingResolverFailure checks that a failed lookup only means
// no sharing.
func TestCoalescingResolverFailure(t *testing.T) {
	srv := startNamesServer(t, []tls.Certificate{namesCert(t, "a.test", "b.test")}, namesOptions{}, nil)
	fail := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		return nil, errors.New("resolver down")
	}
	tr := srv.transport(t, Config{LookupNetIP: fail}, nil)
	get(t, tr, srv.url("a.test", "/"))
	get(t, tr, srv.url("b.test", "/"))
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

// TestCoalescingVerifiesAsAHandshake checks the verification an origin
// must pass to share a connection: the Transport's roots and clock, and
// the origin's name.
func TestCoalescingVerifiesAsAHandshake(t *testing.T) {
	cert := namesCert(t, "a.test", "b.test", "*.w.test")
	trusted := x509.NewCertPool()
	trusted.AddCert(cert.Leaf)
	state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert.Leaf}}
	check := func(roots *x509.CertPool, now time.Time, host string) bool {
		co := &coalescer{roots: roots, now: func() time.Time { return now }}
		return co.verifies(&lender{cc: &h2Conn{tlsState: state}}, host)
	}
	now := time.Now()
	for _, c := range []struct {
		roots *x509.CertPool
		now   time.Time
		host  string
		want  bool
	}{
		{trusted, now, "b.test", true},
		{trusted, now, "x.w.test", true},
		{trusted, now, "c.test", false},
		{trusted, now, "y.x.w.test", false},
		{x509.NewCertPool(), now, "b.test", false},
		{trusted, cert.Leaf.NotAfter.Add(time.Minute), "b.test", false},
	} {
		if got := check(c.roots, c.now, c.host); got != c.want {
			t.Errorf("verifies(%s) at %v with %s roots = %v, want %v", c.host, c.now, map[bool]string{true: "trusting", false: "other"}[c.roots == trusted], got, c.want)
		}
	}
}
