package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/httppool/httppool"
)

// httpsScenario shows pooling over TLS: reuse saves the handshake, and a new
// connection to a host seen before resumes its TLS session.
func httpsScenario() scenario {
	return scenario{
		name:     "https",
		what:     "HTTPS: sequential requests share one connection and handshake; a new connection resumes the session",
		expected: "1 conn + 1 handshake; new conn resumes TLS",
		run:      runHTTPS,
	}
}

// runHTTPS sends requests over TLS, drops the idle connection and sends one
// more, which must resume the session.
func runHTTPS(ctx context.Context, o *outcome) error {
	const sequential = 3
	cert, roots, err := selfSignedCert()
	if err != nil {
		return err
	}
	srv, err := startServer(okHandler(), serverOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		return err
	}
	defer srv.Close()
	t := newTransport(httppool.Config{TLSClientConfig: &tls.Config{RootCAs: roots}})
	defer t.Close()
	client := t.Client()

	var times [sequential]time.Duration
	version := ""
	for i := range sequential {
		resp, d, err := timedFetch(ctx, client, srv.URL+"/")
		if err != nil {
			return err
		}
		times[i] = d
		if resp.TLS == nil {
			return fmt.Errorf("response %d has no TLS state", i+1)
		}
		version = tls.VersionName(resp.TLS.Version)
	}
	acceptedBefore, handshakesBefore := srv.Accepted(), srv.handshakes.Load()
	reused := t.Stats().Reused

	t.CloseIdleConnections()
	srv.WaitClosed(ctx, 1)
	resp, resumedTime, err := timedFetch(ctx, client, srv.URL+"/")
	if err != nil {
		return err
	}
	didResume := resp.TLS != nil && resp.TLS.DidResume
	st := t.Stats()
	o.recordStats(st)
	o.equal(fmt.Sprintf("TCP connections for %d sequential requests (server)", sequential), 1, int64(acceptedBefore))
	o.equal(fmt.Sprintf("TLS handshakes for %d sequential requests (server)", sequential), 1, handshakesBefore)
	o.equal("requests on a reused connection (Stats.Reused)", sequential-1, reused)
	o.equal("connections closed by CloseIdleConnections (Stats.Closed[close_idle_connections])", 1, st.Closed[httppool.CloseIdleRequested])
	o.equal("TCP connections after CloseIdleConnections and one more request (server)", 2, int64(srv.Accepted()))
	o.expect("the new connection resumed the TLS session (resp.TLS.DidResume)", didResume, true, didResume)
	o.equal("resumed handshakes seen by the server", 1, srv.resumed.Load())
	o.measure("tls_version", version)
	o.measure("first_request_ms", times[0])
	o.measure("reused_request_ms", times[1])
	o.measure("resumed_request_ms", resumedTime)
	o.note("%s; 1st request %s (dial + full handshake), 2nd %s (reused), after CloseIdleConnections %s (resumed)",
		version, fmtDur(times[0]), fmtDur(times[1]), fmtDur(resumedTime))
	resumedWord := "did not resume"
	if didResume {
		resumedWord = "resumed"
	}
	o.observe("%d conn, %d handshake for %d; new conn %s",
		acceptedBefore, handshakesBefore, sequential, resumedWord)
	return nil
}

// selfSignedCert makes an ECDSA P-256 certificate for 127.0.0.1 and
// localhost, valid for a day, and a pool of roots that trusts it.
func selfSignedCert() (tls.Certificate, *x509.CertPool, error) {
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
		Subject:               pkix.Name{CommonName: "httppool demo"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
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
