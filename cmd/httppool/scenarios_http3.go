package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/http3"
	"github.com/quic-go/quic-go"
)

// http3Scenario shows HTTP/3: discovery through Alt-Svc, many requests
// over one QUIC connection, and the fall back to TCP when UDP is blocked.
func http3Scenario() scenario {
	return scenario{
		name:     "http3",
		what:     "HTTP/3: the 1st request (TCP) learns h3 from Alt-Svc; 100 concurrent GETs share one QUIC connection; UDP blocked: TCP, h3 broken",
		expected: "1st over TCP; 100 on 1 QUIC conn; no UDP: TCP, broken",
		run:      runHTTP3,
	}
}

// runHTTP3 starts an origin serving HTTP/2 over TCP and HTTP/3 over UDP on
// the same port, and sends a request (over TCP: nothing is known of the
// origin yet), then 100 at once, held by the server until all arrived.
// Then UDP is blocked and the pool emptied: the next request races QUIC
// against TCP, TCP serves it, and QUIC's failure marks HTTP/3 broken.
func runHTTP3(ctx context.Context, o *outcome) error {
	const requests, whileBroken = 100, 5
	tlsServer, tlsClient, err := demoTLS()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", okHandler())
	mux.Handle("/held", barrierHandler(requests))
	srv, err := startServer(mux, serverOptions{tls: tlsServer, http2: true, http3: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	udp := newUDPGate()
	t := newTransport(httppool.Config{TLSClientConfig: tlsClient, HTTP3: httppool.HTTP3Config{Dialer: udp}})
	defer t.Close()
	client := t.Client()

	// Discovery: the first response's Alt-Svc starts a QUIC dial in the
	// background.
	first, err := fetch(ctx, client, srv.URL+"/")
	if err != nil {
		return err
	}
	start := time.Now()
	connected := waitFor(ctx, settle, func() bool { return t.Stats().HTTP3 == 1 })
	discovery := time.Since(start)
	found, _ := t.HTTP3Status(srv.URL)

	start = time.Now()
	resps, errs := fetchAll(ctx, client, srv.URL+"/held", requests)
	if err := requireNoError(errs); err != nil {
		return err
	}
	elapsed := time.Since(start)
	h3 := countProto(resps, "HTTP/3.0")
	st := t.Stats()
	tcpConns, quicConns := srv.Accepted(), srv.h3.Accepted()
	h3Served, maxActive := srv.h3Requests.Load(), srv.maxActive.Load()

	// UDP blocked: a new connection races QUIC against TCP.
	udp.block()
	t.CloseIdleConnections()
	if !waitFor(ctx, settle, func() bool { return t.Stats().Open == 0 }) {
		return fmt.Errorf("the pool still holds %d connections after CloseIdleConnections", t.Stats().Open)
	}
	quicDials := udp.dials.Load()
	resp, fallback, err := timedFetch(ctx, client, srv.URL+"/")
	if err != nil {
		return err
	}
	overTCP := countProto([]*http.Response{resp}, "HTTP/2.0")
	raced := udp.dials.Load() - quicDials
	waitFor(ctx, settle, func() bool {
		s, _ := t.HTTP3Status(srv.URL)
		return !s.BrokenUntil.IsZero()
	})
	broken, _ := t.HTTP3Status(srv.URL)
	quicDials = udp.dials.Load()
	for range whileBroken {
		resp, err := fetch(ctx, client, srv.URL+"/")
		if err != nil {
			return err
		}
		overTCP += countProto([]*http.Response{resp}, "HTTP/2.0")
	}
	dialsWhileBroken := udp.dials.Load() - quicDials
	brokenFor := time.Until(broken.BrokenUntil).Round(time.Minute)
	o.recordStats(t.Stats())

	o.expect("1st response over HTTP/2 on TCP (resp.Proto)", first.Proto == "HTTP/2.0", "HTTP/2.0", first.Proto)
	o.expect("h3 alternative learnt from Alt-Svc (HTTP3Status.Alternative)", found.Alternative == srv.Addr, srv.Addr, found.Alternative)
	o.expect("QUIC connection made in the background (Stats.HTTP3 == 1)", connected, true, connected)
	o.equal("responses over HTTP/3 (resp.Proto == \"HTTP/3.0\")", requests, h3)
	o.equal("requests the server got over HTTP/3", requests, h3Served)
	o.equal("requests in the server's handler at once", requests, maxActive)
	o.equal("QUIC connections accepted by the server", 1, quicConns)
	o.equal("TCP connections accepted by the server", 1, int64(tcpConns))
	o.equal("open HTTP/3 connections (Stats.HTTP3)", 1, int64(st.HTTP3))
	o.equal("dials: 1 TCP + 1 QUIC (Stats.Dials)", 2, st.Dials)
	o.equal("UDP blocked: QUIC dials raced against TCP for the next request", 1, raced)
	o.equal("UDP blocked: responses over HTTP/2 on TCP", 1+whileBroken, overTCP)
	o.expect("UDP blocked: HTTP/3 marked broken (HTTP3Status.BrokenUntil)", !broken.BrokenUntil.IsZero(), "set", fmtBrokenUntil(brokenFor, broken.BrokenUntil))
	o.equal("UDP blocked: failures counted (HTTP3Status.Failures)", 1, int64(broken.Failures))
	o.equal("while broken: QUIC dials", 0, dialsWhileBroken)
	o.equal("QUIC connections accepted by the server in all", 1, srv.h3.Accepted())
	o.measure("discovery_ms", discovery)
	o.measure("concurrent_ms", elapsed)
	o.measure("udp_blocked_request_ms", fallback)
	o.measure("tcp_rtt_ms", broken.RTT)
	o.note("the 1st response (%s) carried Alt-Svc: h3=\":%s\"; the QUIC connection was up %s later, dialed in the background",
		first.Proto, srv.Port, fmtDur(discovery))
	o.note("the server held every request until all %d were in its handler: %d requests in flight on one QUIC connection, %s in all",
		requests, maxActive, fmtDur(elapsed))
	o.note("UDP blocked (datagrams leave, none arrive): the next new connection dialed QUIC and, %s later (1.5 × the TCP RTT %s), TCP, which served the request in %s",
		fmtDur(broken.RTT*3/2), fmtDur(broken.RTT), fmtDur(fallback))
	o.note("QUIC gave up after its %s handshake timeout: HTTP/3 to the origin is broken for %s, its requests use TCP at once",
		blockedHandshakeTimeout, fmtMinutes(brokenFor))
	o.observe("1st %s; %s, %d/%d HTTP/3; no UDP: %d/%d TCP, broken %s",
		first.Proto, plural(quicConns, "QUIC conn"), h3, requests, overTCP, 1+whileBroken, fmtMinutes(brokenFor))
	return nil
}

// fmtBrokenUntil says how long HTTP/3 is broken for, "not set" when it is not.
func fmtBrokenUntil(d time.Duration, until time.Time) string {
	if until.IsZero() {
		return "not set"
	}
	return "for " + fmtMinutes(d)
}

// fmtMinutes formats a whole number of minutes, e.g. "5m" or "2h0m".
func fmtMinutes(d time.Duration) string {
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// countProto returns how many of resps came over proto, e.g. "HTTP/3.0".
func countProto(resps []*http.Response, proto string) int64 {
	n := int64(0)
	for _, r := range resps {
		if r != nil && r.Proto == proto {
			n++
		}
	}
	return n
}

// blockedHandshakeTimeout is how long a QUIC dial through blocked UDP
// waits for an answer before it fails (quic-go's default is 5 s, which
// would make the demo wait as long).
const blockedHandshakeTimeout = 200 * time.Millisecond

// udpGate is the demo's HTTP3Dialer: the http3 module's quic-go Dialer on
// loopback UDP sockets, with a switch that blocks UDP as some networks
// do: datagrams leave and none arrive. It counts the QUIC dials.
type udpGate struct {
	open    http3.Dialer
	dropped http3.Dialer // its sockets' datagrams go nowhere
	blocked atomic.Bool
	dials   atomic.Int64
}

// newUDPGate returns a gate that lets UDP through until block is called.
func newUDPGate() *udpGate {
	return &udpGate{
		open: http3.Dialer{ListenPacket: listenLoopbackUDP},
		dropped: http3.Dialer{
			ListenPacket: func(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
				pc, err := listenLoopbackUDP(ctx, raddr)
				if err != nil {
					return nil, err
				}
				return dropConn{PacketConn: pc, udp: pc.(*net.UDPConn)}, nil
			},
			QUICConfig: &quic.Config{
				MaxIncomingStreams:   -1,
				HandshakeIdleTimeout: blockedHandshakeTimeout,
			},
		},
	}
}

// block makes the QUIC dials that follow go through blocked UDP.
func (g *udpGate) block() { g.blocked.Store(true) }

// DialHTTP3 dials through the open or the blocked path.
func (g *udpGate) DialHTTP3(ctx context.Context, addr string, tlsConf *tls.Config, opts httppool.HTTP3DialOptions) (httppool.HTTP3Conn, error) {
	g.dials.Add(1)
	if g.blocked.Load() {
		return g.dropped.DialHTTP3(ctx, addr, tlsConf, opts)
	}
	return g.open.DialHTTP3(ctx, addr, tlsConf, opts)
}

// listenLoopbackUDP is the demo Dialers' ListenPacket: it opens a UDP
// socket on loopback and refuses a server that is not on loopback, so that
// the demo sends no datagram off the machine.
func listenLoopbackUDP(_ context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
	if !raddr.IP.IsLoopback() {
		return nil, fmt.Errorf("%w: %s", errNotLoopback, raddr.IP)
	}
	local := net.IPv4(127, 0, 0, 1)
	if raddr.IP.To4() == nil {
		local = net.IPv6loopback
	}
	return net.ListenUDP("udp", &net.UDPAddr{IP: local})
}

// dropConn is a UDP socket on a path that blocks UDP: writes succeed and
// nothing arrives. Being no *net.UDPConn, it makes quic-go send through
// WriteTo; it keeps the socket's buffer settings, lest quic-go warn that
// it cannot size them.
type dropConn struct {
	net.PacketConn
	udp *net.UDPConn
}

func (c dropConn) WriteTo(p []byte, _ net.Addr) (int, error) { return len(p), nil }
func (c dropConn) SetReadBuffer(n int) error                 { return c.udp.SetReadBuffer(n) }
func (c dropConn) SetWriteBuffer(n int) error                { return c.udp.SetWriteBuffer(n) }
