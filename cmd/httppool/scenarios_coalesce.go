package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/httppool/httppool"
)

// coalesceNames are the demo's origins: three names of one service, served
// from one address under one certificate. The .test domain is reserved
// (RFC 6761): the demo maps these names to 127.0.0.1 itself.
var coalesceNames = []string{"api.example.test", "cdn.example.test", "img.example.test"}

// coalesceScenario shows HTTP/2 connection coalescing: origins under one
// certificate at one address share a connection, where net/http opens one
// per origin.
func coalesceScenario() scenario {
	return scenario{
		name: "coalesce",
		what: "HTTP/2 coalescing: api., cdn. and img.example.test at one address under one certificate, " +
			"31 requests; then net/http with the same requests",
		expected: "1 conn + 1 handshake for 3 origins (net/http: 3 + 3)",
		run:      runCoalesce,
	}
}

// runCoalesce sends one request to the first origin, then 30 at once over
// the three, through httppool and then through net/http, each to a server
// of its own that counts connections, handshakes and the hosts each
// connection served.
func runCoalesce(ctx context.Context, o *outcome) error {
	const burst = 30
	cert, roots, err := certFor(coalesceNames...)
	if err != nil {
		return err
	}
	opt := serverOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, http2: true}
	srv, err := startServer(okHandler(), opt)
	if err != nil {
		return err
	}
	defer srv.Close()
	t := httppool.New(httppool.Config{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext:     dialNames,
		LookupNetIP:     lookupNames, // with a dialer of its own, coalescing needs a resolver
		Proxy:           noProxy,
	})
	defer t.Close()
	if err := fetchOrigins(ctx, t.Client(), srv.Port, coalesceNames[:1], burst); err != nil {
		return err
	}
	st := t.Stats()
	hosts := 0
	if conns := srv.Conns(); len(conns) > 0 {
		hosts = len(conns[0].hosts)
	}

	ref, err := startServer(okHandler(), opt)
	if err != nil {
		return err
	}
	defer ref.Close()
	nt := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		DialContext:       dialNames,
		Proxy:             noProxy,
		ForceAttemptHTTP2: true,
	}
	defer nt.CloseIdleConnections()
	// net/http's best case: one first request per origin before the burst,
	// so that no two dial for the same origin at once.
	if err := fetchOrigins(ctx, &http.Client{Transport: nt}, ref.Port, coalesceNames, burst); err != nil {
		return err
	}

	o.recordStats(st)
	o.equal("httppool: TCP connections accepted by the server", 1, int64(srv.Accepted()))
	o.equal("httppool: TLS handshakes seen by the server", 1, srv.handshakes.Load())
	o.equal("httppool: hosts the one connection served (server)", int64(len(coalesceNames)), int64(hosts))
	o.equal("httppool: requests served (server)", burst+1, srv.requests.Load())
	o.equal("httppool: requests on another origin's connection (Stats.Coalesced)", burst*2/3, st.Coalesced)
	o.equal("httppool: dials (Stats.Dials)", 1, st.Dials)
	o.equal("net/http: TCP connections accepted by the server", int64(len(coalesceNames)), int64(ref.Accepted()))
	o.equal("net/http: TLS handshakes seen by the server", int64(len(coalesceNames)), ref.handshakes.Load())
	o.measure("httppool_connections", srv.Accepted())
	o.measure("httppool_handshakes", srv.handshakes.Load())
	o.measure("nethttp_connections", ref.Accepted())
	o.measure("nethttp_handshakes", ref.handshakes.Load())
	o.note("the certificate names %s; all three resolve to 127.0.0.1", strings.Join(coalesceNames, ", "))
	o.note("httppool: %s for %d requests; net/http: %s for %d",
		plural(int64(srv.Accepted()), "connection"), burst+1, plural(int64(ref.Accepted()), "connection"), burst+len(coalesceNames))
	o.observe("httppool: %s + %s for 3 origins; net/http: %d + %d",
		plural(int64(srv.Accepted()), "conn"), plural(srv.handshakes.Load(), "handshake"),
		ref.Accepted(), ref.handshakes.Load())
	return nil
}

// fetchOrigins fetches "/" from each of first in turn, then n times at once
// from the demo's origins in turn, all on port.
func fetchOrigins(ctx context.Context, client *http.Client, port string, first []string, n int) error {
	for _, name := range first {
		if _, err := fetch(ctx, client, "https://"+net.JoinHostPort(name, port)+"/"); err != nil {
			return err
		}
	}
	errs := make(chan error, n)
	for i := range n {
		u := "https://" + net.JoinHostPort(coalesceNames[i%len(coalesceNames)], port) + "/"
		go func() {
			_, err := fetch(ctx, client, u)
			errs <- err
		}()
	}
	all := make([]error, n)
	for i := range all {
		all[i] = <-errs
	}
	return requireNoError(all)
}

// preconnectScenario shows Transport.Preconnect and Config.MinIdlePerHost:
// connections dialed ahead of a burst, and kept warm through a quiet spell.
func preconnectScenario() scenario {
	return scenario{
		name: "preconnect",
		what: "Preconnect 8 connections to an HTTPS/1.1 server, then 8 requests at once; " +
			"MinIdlePerHost 4 with IdleTimeout 100ms, 300ms quiet, then 4 at once; both against a cold pool",
		expected: "bursts dial nothing (cold: 8 and 4 dials)",
		run:      runPreconnect,
	}
}

// runPreconnect sends bursts held by the server until all their requests
// arrived, so that each needs a connection of its own: after Preconnect,
// and after a quiet spell with MinIdlePerHost, each to a server of its own,
// and the same against a pool without either.
func runPreconnect(ctx context.Context, o *outcome) error {
	const n, warm = 8, 4
	const idleTimeout, quiet = 100 * time.Millisecond, 300 * time.Millisecond
	tlsServer, tlsClient, err := demoTLS()
	if err != nil {
		return err
	}
	start := func(requests int) (*server, error) {
		return startServer(roundsHandler(requests), serverOptions{tls: tlsServer})
	}

	// Preconnect, then a burst of n.
	pre, err := start(n)
	if err != nil {
		return err
	}
	defer pre.Close()
	t := newTransport(httppool.Config{TLSClientConfig: tlsClient})
	defer t.Close()
	began := time.Now()
	if err := t.Preconnect(ctx, pre.URL, n); err != nil {
		return err
	}
	preconnectTook := time.Since(began)
	acceptedBefore := pre.Accepted()
	began = time.Now()
	if err := requireNoError(concurrently(ctx, t.Client(), pre.URL+"/", n)); err != nil {
		return err
	}
	warmBurst := time.Since(began)
	st := t.Stats()

	cold, err := start(n)
	if err != nil {
		return err
	}
	defer cold.Close()
	ct := newTransport(httppool.Config{TLSClientConfig: tlsClient})
	defer ct.Close()
	began = time.Now()
	if err := requireNoError(concurrently(ctx, ct.Client(), cold.URL+"/", n)); err != nil {
		return err
	}
	coldBurst := time.Since(began)

	// MinIdlePerHost through a quiet spell longer than IdleTimeout.
	kept, err := start(warm)
	if err != nil {
		return err
	}
	defer kept.Close()
	wt := newTransport(httppool.Config{TLSClientConfig: tlsClient, MinIdlePerHost: warm, IdleTimeout: idleTimeout})
	defer wt.Close()
	if _, err := fetch(ctx, wt.Client(), kept.URL+"/warmup"); err != nil {
		return err
	}
	refilled := waitFor(ctx, settle, func() bool { return kept.Accepted() == warm && wt.Stats().Idle == warm })
	if err := sleep(ctx, quiet); err != nil {
		return err
	}
	keptBefore, keptClosed := kept.Accepted(), kept.Closed()
	if err := requireNoError(concurrently(ctx, wt.Client(), kept.URL+"/", warm)); err != nil {
		return err
	}

	lapsed, err := start(warm)
	if err != nil {
		return err
	}
	defer lapsed.Close()
	lt := newTransport(httppool.Config{TLSClientConfig: tlsClient, IdleTimeout: idleTimeout})
	defer lt.Close()
	if err := requireNoError(concurrently(ctx, lt.Client(), lapsed.URL+"/", warm)); err != nil {
		return err
	}
	if err := sleep(ctx, quiet); err != nil {
		return err
	}
	lapsedBefore := lapsed.Accepted()
	if err := requireNoError(concurrently(ctx, lt.Client(), lapsed.URL+"/", warm)); err != nil {
		return err
	}

	o.recordStats(st)
	o.equal("Preconnect: connections accepted by the server before the burst", n, int64(acceptedBefore))
	o.equal("Preconnect: connections accepted by the server after the burst", n, int64(pre.Accepted()))
	o.equal("Preconnect: requests in the server's handler at once", n, pre.maxActive.Load())
	o.equal("Preconnect: dials (Stats.Dials)", n, st.Dials)
	o.equal("cold pool: connections accepted for the burst", n, int64(cold.Accepted()))
	o.expect("MinIdlePerHost: refilled to 4 after one request", refilled, true, refilled)
	o.equal("MinIdlePerHost: connections the server saw closed during the quiet spell", 0, int64(keptClosed))
	o.equal("MinIdlePerHost: connections accepted by the burst after quiet", 0, int64(kept.Accepted()-keptBefore))
	o.equal("IdleTimeout alone: connections accepted by the burst after quiet", warm, int64(lapsed.Accepted()-lapsedBefore))
	o.measure("preconnect_ms", preconnectTook)
	o.measure("burst_after_preconnect_ms", warmBurst)
	o.measure("cold_burst_ms", coldBurst)
	o.note("Preconnect of %d took %s; the burst after it %s, the same burst on a cold pool %s",
		n, fmtDur(preconnectTook), fmtDur(warmBurst), fmtDur(coldBurst))
	o.note("MinIdlePerHost %d, IdleTimeout %s: after %s quiet the server still had %d open connections",
		warm, idleTimeout, quiet, keptBefore-keptClosed)
	o.observe("after Preconnect %d dials for %d at once (cold %d); after quiet %d (cold %d)",
		pre.Accepted()-acceptedBefore, n, cold.Accepted(), kept.Accepted()-keptBefore, lapsed.Accepted()-lapsedBefore)
	return nil
}

// roundsHandler holds requests until n of them have arrived, round after
// round, so that every burst of n really is in flight together; it gives
// up after barrierTimeout rather than hang when fewer arrive. A request
// for /warmup is answered at once.
func roundsHandler(n int) http.Handler {
	var mu sync.Mutex
	arrived, all := 0, make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/warmup" {
			mu.Lock()
			round := all
			if arrived++; arrived == n {
				close(all)
				arrived, all = 0, make(chan struct{})
			}
			mu.Unlock()
			t := time.NewTimer(barrierTimeout)
			defer t.Stop()
			select {
			case <-round:
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
}

// dialNames is the coalescing demo's dialer: it sends the demo's names to
// 127.0.0.1 and anything else to dialLoopback, which refuses what is not
// loopback.
func dialNames(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	for _, n := range coalesceNames {
		if strings.EqualFold(host, n) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return dialLoopback(ctx, network, addr)
}

// lookupNames resolves the demo's names to 127.0.0.1, as dialNames
// connects them, and no other name.
func lookupNames(ctx context.Context, network, host string) ([]netip.Addr, error) {
	for _, n := range coalesceNames {
		if strings.EqualFold(host, n) {
			return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}, nil
		}
	}
	return nil, &net.DNSError{Err: "not a demo name", Name: host, IsNotFound: true}
}

// noProxy keeps the demo's names away from any proxy in the environment.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// certFor makes a self-signed ECDSA P-256 certificate for names, valid for a
// day, and a pool of roots that trusts it.
func certFor(names ...string) (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}
