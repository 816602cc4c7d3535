// Package benchserver is a minimal HTTP/1.1 server with fixed responses for
// httppool's benchmarks. It parses only what keep-alive needs, writes
// precomputed responses and does nothing else, so that in a benchmark the
// server is never the bottleneck and the client's cost is what is measured.
//
// It answers every path with a fixed body, except:
//
//   - /size/N answers with an N-byte body.
//   - /barrier/N holds its response until N requests on /barrier/N are in
//     flight at once, which forces a client to open N distinct connections.
//
// The server can run in a separate process (see Start and ChildMain) so that
// the client's CPU time is its own process's CPU time.
package benchserver

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultBodySize is the size of the body of paths other than /size/N when
// Options.BodySize is zero: "Hello, World!", as in the usual plaintext benchmark.
const DefaultBodySize = 13

// DefaultBarrierTimeout is how long a /barrier/N request waits for the others
// when Options.BarrierTimeout is zero.
const DefaultBarrierTimeout = time.Minute

// ioBufferSize is the size of each connection's read and write buffers; it
// also bounds the length of one request or header line.
const ioBufferSize = 4096

// Options configures Serve. The zero value is ready to use.
type Options struct {
	// BodySize is the size of the body of paths other than /size/N and
	// /barrier/N. Zero means DefaultBodySize.
	BodySize int

	// BarrierTimeout bounds how long a /barrier/N request waits for the other
	// N-1; one that waits longer is answered 504 and the connection is closed,
	// so that a client that gave up never leaves the server stuck.
	// Zero means DefaultBarrierTimeout.
	BarrierTimeout time.Duration
}

// server is the state of one Serve call.
type server struct {
	def            *response
	barrierTimeout time.Duration
	barriers       barriers

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	done  chan struct{} // closed when the listener is; releases barrier waiters
}

// Serve accepts connections on ln and serves each on its own goroutine until
// ln is closed. It then closes the connections still open, waits for their
// goroutines and returns nil; it returns the listener's error if accepting
// failed for another reason.
func Serve(ln net.Listener, opts Options) error {
	return newServer(opts).serve(ln)
}

func newServer(opts Options) *server {
	return &server{
		def:            newResponse(opts.bodySize()),
		barrierTimeout: opts.barrierTimeout(),
		conns:          make(map[net.Conn]struct{}),
		done:           make(chan struct{}),
	}
}

func (s *server) serve(ln net.Listener) error {
	defer s.shutdown()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors is temporary: back off as net/http
			// does instead of failing the whole benchmark.
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (o Options) bodySize() int {
	if o.BodySize <= 0 {
		return DefaultBodySize
	}
	return o.BodySize
}

func (o Options) barrierTimeout() time.Duration {
	if o.BarrierTimeout <= 0 {
		return DefaultBarrierTimeout
	}
	return o.BarrierTimeout
}

// shutdown closes every connection, releases barrier waiters and waits for
// the connections' goroutines, so that Serve leaves nothing running.
func (s *server) shutdown() {
	close(s.done)
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveConn answers the requests of one connection in order until the
// client closes it, asks to close it, or sends something unparsable.
func (s *server) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	br := bufio.NewReaderSize(c, ioBufferSize)
	bw := bufio.NewWriterSize(c, ioBufferSize)
	for {
		var req request
		if err := req.read(br); err != nil {
			if errors.Is(err, errBadRequest) {
				bw.Write(badRequest)
				bw.Flush()
			}
			return
		}
		if req.expectContinue {
			bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if bw.Flush() != nil {
				return
			}
		}
		if err := req.discardBody(br); err != nil {
			return
		}
		resp := s.respond(&req)
		if resp == nil {
			select {
			case <-s.done:
				return // shutting down: close without an answer
			default:
			}
			bw.Write(barrierTimedOut)
			bw.Flush()
			return
		}
		resp.write(bw, req.close, req.head)
		// Flush only when no pipelined request is waiting, so that a
		// pipelining client gets its responses in one write.
		if br.Buffered() == 0 || req.close {
			if bw.Flush() != nil {
				return
			}
		}
		if req.close {
			return
		}
	}
}

// respond returns the response to req, after waiting at its barrier if it
// has one; nil means the barrier timed out or the server is shutting down.
func (s *server) respond(req *request) *response {
	switch req.route {
	case routeSize:
		return sizedResponse(req.n)
	case routeBarrier:
		if !s.barriers.wait(req.n, s.barrierTimeout, s.done) {
			return nil
		}
	}
	return s.def
}
