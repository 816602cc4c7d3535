package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
)

// h3Server is quic-go's HTTP/3 server on a UDP socket. It counts the QUIC
// connections it accepts, so that the demo can show from the server's side
// how many the pool opened.
type h3Server struct {
	pc   net.PacketConn
	tr   *quic.Transport
	ln   *quic.Listener
	srv  *qhttp3.Server
	done chan struct{} // closed when ServeListener returned

	accepted atomic.Int64
}

// startH3Server serves h over HTTP/3 on pc with cert until Close, which
// also closes pc.
func startH3Server(pc net.PacketConn, cert tls.Certificate, h http.Handler) (*h3Server, error) {
	s := &h3Server{pc: pc, tr: &quic.Transport{Conn: pc}, done: make(chan struct{})}
	tlsConf := qhttp3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	// Not ListenEarly: a connection is accepted, and counted, once its
	// handshake is complete, when the client has it too.
	ln, err := s.tr.Listen(tlsConf, nil)
	if err != nil {
		s.tr.Close()
		pc.Close()
		return nil, fmt.Errorf("serving HTTP/3: %w", err)
	}
	s.ln = ln
	s.srv = &qhttp3.Server{
		Handler: h,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			s.accepted.Add(1)
			return ctx
		},
		// The demo and the load report failures themselves.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	go func() {
		defer close(s.done)
		s.srv.ServeListener(ln)
	}()
	return s, nil
}

// Accepted returns how many QUIC connections the server accepted.
func (s *h3Server) Accepted() int64 {
	return s.accepted.Load()
}

// Close closes the server's connections, with H3_NO_ERROR, and its socket,
// once their handlers returned.
func (s *h3Server) Close() {
	s.srv.Close() // waits for the connections' handlers
	s.ln.Close()  // quic-go leaves a listener it was given to its owner
	<-s.done
	s.tr.Close()
	s.pc.Close()
}

// listenTCPAndUDP listens on 127.0.0.1 on a TCP port picked by the system
// and on the same port over UDP, as a server offering HTTP/3 on its own
// port does. A port free for TCP may be taken for UDP; it tries a few.
func listenTCPAndUDP() (net.Listener, *net.UDPConn, error) {
	var errs []error
	for range 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("listening on loopback: %w", err)
		}
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ln.Addr().(*net.TCPAddr).Port})
		if err == nil {
			return ln, pc, nil
		}
		ln.Close()
		errs = append(errs, err)
	}
	return nil, nil, fmt.Errorf("listening on one loopback port over TCP and UDP: %w", errors.Join(errs...))
}
