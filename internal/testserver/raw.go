package testserver

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Raw is a TCP server on loopback whose connections are each handled by a
// script the test gives, for responses no well-behaved server would send.
type Raw struct {
	Addr string
	URL  string

	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// NewRaw starts a raw server; serve runs for each accepted connection, which
// is closed when serve returns. The server stops when the test ends.
func NewRaw(t testing.TB, serve func(n int, c net.Conn)) *Raw {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Raw{ln: ln, Addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	r.URL = "http://" + r.Addr
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(r.accepted.Add(1))
			r.mu.Lock()
			r.conns[c] = struct{}{}
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer func() {
					c.Close()
					r.mu.Lock()
					delete(r.conns, c)
					r.mu.Unlock()
				}()
				serve(n, c)
			}()
		}
	}()
	t.Cleanup(r.Close)
	return r
}

// Accepted returns how many connections the server accepted.
func (r *Raw) Accepted() int { return int(r.accepted.Load()) }

// Close stops the server, closes its connections and waits for the scripts.
func (r *Raw) Close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
