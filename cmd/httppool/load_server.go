package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
)

// embeddedServer is the loopback server "load" targets when given no URL.
// It reads each request's body and answers "ok"; it keeps no count, so that
// it costs the load as little as possible.
type embeddedServer struct {
	URL   string
	roots *x509.CertPool // trusts the server's certificate; nil without TLS

	srv  *http.Server
	h3   *h3Server     // nil unless it speaks HTTP/3
	done chan struct{} // closed when Serve returned
}

// startEmbedded starts the server on 127.0.0.1 with a port picked by the
// system: HTTPS with HTTP/2 when useTLS is set, otherwise HTTP/1.1 and h2c
// (HTTP/2 with prior knowledge) on one port. With useHTTP3 it speaks
// HTTPS and serves HTTP/3 too, on the same port over UDP, announced in an
// Alt-Svc header on every response.
func startEmbedded(useTLS, useHTTP3 bool) (*embeddedServer, error) {
	useTLS = useTLS || useHTTP3
	var ln net.Listener
	var udp *net.UDPConn
	var err error
	if useHTTP3 {
		ln, udp, err = listenTCPAndUDP()
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok\n")
	})
	if useHTTP3 {
		h = withAltSvc(h, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	s := &embeddedServer{
		URL:  "http://" + ln.Addr().String() + "/",
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:   h,
			Protocols: &protocols,
			ErrorLog:  log.New(io.Discard, "", 0),
		},
	}
	serve := func() error { return s.srv.Serve(ln) }
	if useTLS {
		cert, roots, err := selfSignedCert()
		if err != nil {
			ln.Close()
			if udp != nil {
				udp.Close()
			}
			return nil, err
		}
		s.URL = "https://" + ln.Addr().String() + "/"
		s.roots = roots
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		serve = func() error { return s.srv.ServeTLS(ln, "", "") }
		if useHTTP3 {
			if s.h3, err = startH3Server(udp, cert, h); err != nil {
				ln.Close()
				return nil, err
			}
		}
	}
	go func() {
		defer close(s.done)
		serve() // returns http.ErrServerClosed after Close; other errors show as failed requests
	}()
	return s, nil
}

// Close stops the server and its connections and waits for Serve to return.
func (s *embeddedServer) Close() {
	s.srv.Close()
	<-s.done
	if s.h3 != nil {
		s.h3.Close()
	}
}
