package httppool

import (
	"net/http"
	"sync/atomic"
	"time"
)

// watchUploadMin is the request body size from which writing the body also
// watches for the server's response. A smaller body fits the sockets'
// buffers, so its write cannot block on a server that stopped reading, and
// it pays for no watcher goroutine.
const watchUploadMin = 64 << 10

// writeBody writes req's body. A large body (or one of unknown length) is
// written while a goroutine watches for a response: a server that answers
// early (a 413, say) and stops reading would otherwise leave the write
// blocked until the request's context ends. The response stops the upload;
// early reports that it arrived while the body was being written.
func (pc *h1Conn) writeBody(req *http.Request) (early bool, err error) {
	if n := outgoingLength(req); n >= 0 && n < watchUploadMin {
		return false, writeRequestBody(pc.bufs.bw, req)
	}
	w := pc.watchForResponse()
	err = writeRequestBody(pc.bufs.bw, req)
	return w.stop(), err
}

// responseWatch is a goroutine that waits, for the length of one upload, for
// the first byte of a response.
type responseWatch struct {
	pc      *h1Conn
	done    chan struct{}
	arrived atomic.Bool
}

func (pc *h1Conn) watchForResponse() *responseWatch {
	w := &responseWatch{pc: pc, done: make(chan struct{})}
	go w.run()
	return w
}

func (w *responseWatch) run() {
	defer close(w.done)
	if _, err := w.pc.bufs.br.Peek(1); err == nil {
		w.arrived.Store(true)
		w.pc.nc.SetWriteDeadline(aLongTimeAgo) // unblock the upload
	}
}

// stop ends the watch and restores the deadlines it spoiled, unless an
// abort spoiled them too; it reports whether a response arrived. What the
// watcher read stays buffered for readHead.
func (w *responseWatch) stop() bool {
	pc := w.pc
	select {
	case <-w.done:
	default:
		pc.nc.SetReadDeadline(aLongTimeAgo)
		<-w.done
		pc.setReadDeadline(time.Time{})
	}
	if !w.arrived.Load() {
		return false
	}
	pc.nc.SetWriteDeadline(time.Time{})
	if pc.aborted.Load() {
		pc.nc.SetDeadline(aLongTimeAgo)
	}
	return true
}
