package http3

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
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/internal/memnet"
	"github.com/quic-go/quic-go/testutils/simnet"
)

// These tests run the Transport and quic-go, client and server, inside a
// testing/synctest bubble: QUIC over quic-go's simulated network (simnet),
// TCP over in-memory pipes. Time is the bubble's, so that minutes of
// HTTP/3 being broken pass at once.

// simOrigin is https://127.0.0.1 over in-memory TCP, offering h3 on a
// simulated UDP port.
type simOrigin struct {
	tcp     *http.Server
	ln      *memnet.Listener
	h3      *h3Server
	router  *simnet.PerfectRouter
	blocked atomic.Bool  // client sockets opened from now on drop everything
	sockets atomic.Int64 // client sockets opened: one per QUIC dial
	port    atomic.Int64
	cert    tls.Certificate
}

const simOriginURL = "https://127.0.0.1"

func newSimOrigin(t *testing.T) *simOrigin {
	cert := ipCert(t)
	o := &simOrigin{ln: memnet.NewListener(), router: &simnet.PerfectRouter{}, cert: cert}
	o.port.Store(20000)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", `h3=":4433"; ma=86400`)
		io.WriteString(w, r.Proto)
	})
	o.tcp = &http.Server{Handler: h, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		// A session ticket written after the handshake can deadlock it
		// over net.Pipe, whose writes wait for the reader.
		SessionTicketsDisabled: true,
	}}
	go o.tcp.ServeTLS(o.ln, "", "")
	pc := simnet.NewSimConn(&net.UDPAddr{IP: net.IP{127, 0, 0, 1}, Port: 4433}, o.router)
	var err error
	if o.h3, err = newH3Server(pc, cert, h); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *simOrigin) close() {
	o.h3.Close()
	o.tcp.Close()
}

func (o *simOrigin) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	return o.ln.Dial(ctx)
}

func (o *simOrigin) listenPacket(ctx context.Context, raddr *net.UDPAddr) (net.PacketConn, error) {
	o.sockets.Add(1)
	pc := simnet.NewSimConn(&net.UDPAddr{IP: net.IP{127, 0, 0, 1}, Port: int(o.port.Add(1))}, o.router)
	if o.blocked.Load() {
		return dropConn{pc}, nil
	}
	return pc, nil
}

// ipCert is a self-signed certificate for 127.0.0.1 and localhost.
func ipCert(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<33, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func simGet(t *testing.T, tr *httppool.Transport) string {
	t.Helper()
	req, _ := http.NewRequest("GET", simOriginURL+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Proto
}

func TestBrokenExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newSimOrigin(t)
		defer o.close()
		roots := x509.NewCertPool()
		roots.AddCert(o.cert.Leaf)
		tr := httppool.New(httppool.Config{
			DialContext:     o.dialTCP,
			TLSClientConfig: &tls.Config{RootCAs: roots},
			HTTP3:           httppool.HTTP3Config{Dialer: &Dialer{ListenPacket: o.listenPacket}},
		})
		defer tr.Close()

		// UDP blocked: the QUIC dial that the Alt-Svc header starts gets no
		// answer and gives up after quic-go's handshake timeout, 5 s.
		o.blocked.Store(true)
		start := time.Now()
		if p := simGet(t, tr); p != "HTTP/2.0" {
			t.Fatalf("request over %s, want HTTP/2.0", p)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ := tr.HTTP3Status(simOriginURL)
		if st.Failures != 1 || st.BrokenUntil.Sub(start) != 5*time.Second+5*time.Minute {
			t.Fatalf("status %+v %v, want broken for 5 min after the 5 s handshake timeout", st, st.BrokenUntil.Sub(start))
		}

		// UDP works again; until the broken time ends, new connections
		// still dial TCP alone.
		o.blocked.Store(false)
		time.Sleep(time.Until(st.BrokenUntil) - time.Second)
		tr.CloseIdleConnections()
		if p := simGet(t, tr); p != "HTTP/2.0" {
			t.Fatalf("request over %s while broken, want HTTP/2.0", p)
		}
		if s := o.sockets.Load(); s != 1 {
			t.Fatalf("%d QUIC dials while broken, want 1", s)
		}

		// Then QUIC is tried again and works: its failures are forgotten.
		time.Sleep(2 * time.Second)
		tr.CloseIdleConnections()
		if p := simGet(t, tr); p != "HTTP/3.0" {
			t.Fatalf("request over %s after the broken time, want HTTP/3.0", p)
		}
		synctest.Wait()
		if st, _ := tr.HTTP3Status(simOriginURL); st.Failures != 0 || !st.BrokenUntil.IsZero() {
			t.Errorf("status %+v, want HTTP/3 confirmed", st)
		}
		tr.Close()
		synctest.Wait()
	})
}
