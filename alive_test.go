package httppool

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// eventually polls cond for up to a second: the kernel delivers a FIN or a byte
// to the other end a moment after it was sent.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

func TestLivenessProbe(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no non-blocking peek on windows")
	}
	client, server := tcpPair(t)
	if r := newLivenessProbe(client).check(); r != closeReasonNone {
		t.Fatalf("a live idle connection looks unusable: %v", r)
	}
	server.Close()
	p := newLivenessProbe(client)
	if !eventually(func() bool { return p.check() == closeReasonServerClosed }) {
		t.Errorf("a connection closed by the peer: %v, want %v", p.check(), closeReasonServerClosed)
	}

	client, server = tcpPair(t)
	server.Write([]byte("x"))
	p = newLivenessProbe(client)
	if !eventually(func() bool { return p.check() == closeReasonUnsolicited }) {
		t.Errorf("a connection with unsolicited data: %v, want %v", p.check(), closeReasonUnsolicited)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if r := newLivenessProbe(a).check(); r != closeReasonNone {
		t.Errorf("an in-memory connection looks unusable: %v", r)
	}
}

// BenchmarkLivenessProbe measures the liveness check made on every
// connection taken from the pool.
func BenchmarkLivenessProbe(b *testing.B) {
	client, _ := tcpPair(b)
	p := newLivenessProbe(client)
	b.ReportAllocs()
	for b.Loop() {
		if p.check() != closeReasonNone {
			b.Fatal("unusable")
		}
	}
}
