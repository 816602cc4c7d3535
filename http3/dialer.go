package http3

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/httppool/httppool"
	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// DefaultStreamLimit is the stream limit a connection reports when
// Dialer.StreamLimit is zero: quic-go does not tell the server's
// initial_max_streams_bidi, and 100 is what quic-go's and most servers
// allow (RFC 9114 section 6.1 asks servers for no fewer).
const DefaultStreamLimit = 100

// Dialer dials HTTP/3 connections with quic-go for an httppool.Transport:
// set it as httppool.Config.HTTP3.Dialer. The zero value is ready to use.
// It is safe for concurrent use.
type Dialer struct {
	// QUICConfig configures QUIC. Nil means quic-go's defaults with a
	// keep-alive every 10 s, as quic-go's own http3.Transport uses, so
	// that a pooled connection stays open while the pool keeps it. Its
	// HandshakeIdleTimeout bounds how long a dial waits for a server that
	// does not answer (quic-go's default is 5 s), which is how long a
	// blocked UDP path takes to mark HTTP/3 broken.
	QUICConfig *quic.Config

	// ListenPacket opens the UDP socket of one connection to raddr. Nil
	// means net.ListenUDP on an unspecified address of raddr's family.
	ListenPacket func(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error)

	// StreamLimit is how many requests a connection is given at once; the
	// Transport dials another connection beyond it. Zero means
	// DefaultStreamLimit. Requests over the server's real limit wait in
	// quic-go for a stream.
	StreamLimit int
}

var _ httppool.HTTP3Dialer = (*Dialer)(nil)

// DialHTTP3 dials a QUIC connection to addr on a UDP socket of its own and
// starts HTTP/3 on it. With opts.Allow0RTT it returns as soon as the
// connection can send 0-RTT data.
func (d *Dialer) DialHTTP3(ctx context.Context, addr string, tlsConf *tls.Config, opts httppool.HTTP3DialOptions) (httppool.HTTP3Conn, error) {
	raddr, err := resolveUDP(ctx, addr)
	if err != nil {
		return nil, err
	}
	pc, err := d.listen(ctx, raddr)
	if err != nil {
		return nil, err
	}
	tr := &quic.Transport{Conn: pc}
	cfg := d.quicConfig()
	var qc *quic.Conn
	if opts.Allow0RTT {
		qc, err = tr.DialEarly(ctx, raddr, tlsConf, cfg)
	} else {
		qc, err = tr.Dial(ctx, raddr, tlsConf, cfg)
	}
	if err != nil {
		tr.Close()
		pc.Close()
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		return nil, classify(err)
	}
	h3t := &qhttp3.Transport{
		DisableCompression:     opts.DisableCompression,
		MaxResponseHeaderBytes: opts.MaxResponseHeaderBytes,
	}
	limit := d.StreamLimit
	if limit <= 0 {
		limit = DefaultStreamLimit
	}
	c := &conn{qc: qc, cc: h3t.NewClientConn(qc), limit: limit, allow0RTT: opts.Allow0RTT}
	var cancel context.CancelCauseFunc
	c.ctx, cancel = context.WithCancelCause(context.Background())
	context.AfterFunc(qc.Context(), func() {
		cancel(c.closeCause(context.Cause(qc.Context())))
		// The connection sent its CONNECTION_CLOSE: the socket can go.
		tr.Close()
		pc.Close()
	})
	return c, nil
}

func (d *Dialer) quicConfig() *quic.Config {
	if d.QUICConfig != nil {
		return d.QUICConfig
	}
	return defaultQUICConfig
}

var defaultQUICConfig = &quic.Config{
	MaxIncomingStreams: -1, // the server may not open request streams
	KeepAlivePeriod:    10 * time.Second,
}

func (d *Dialer) listen(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
	if d.ListenPacket != nil {
		return d.ListenPacket(ctx, raddr)
	}
	network := "udp6"
	if raddr.IP.To4() != nil {
		network = "udp4"
	}
	return net.ListenUDP(network, nil)
}

// resolveUDP resolves "host:port", preferring an IPv4 address: UDP to it
// passes more networks than to IPv6.
func resolveUDP(ctx context.Context, addr string) (*net.UDPAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	portNum, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(portNum))), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	pick := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			pick = ip.Unmap()
			break
		}
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(pick, uint16(portNum))), nil
}
