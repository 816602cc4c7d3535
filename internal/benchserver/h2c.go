package benchserver

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ServeH2C serves HTTP/2 with prior knowledge on ln until ln is closed,
// answering as Serve does (/ and /size/N) from precomputed header blocks,
// so that a benchmark measures the client: one goroutine per connection
// reads every frame a read brings, answers them within the client's
// flow-control windows, and writes once per read. Request bodies are
// discarded, their credit given back.
func ServeH2C(ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			newH2CConn(c).serve()
		}()
	}
}

var h2cDefault = newResponse(DefaultBodySize)

// h2cConn is one connection of ServeH2C.
type h2cConn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	dec      *hpack.Decoder
	path     string
	payload  []byte
	sendConn int64            // the client's connection window for responses
	initial  int64            // the client's initial stream window
	windows  map[uint32]int64 // streams whose response waits for window
	pending  []pendingBody
	blocks   map[int][]byte // header block per body size
}

type pendingBody struct {
	id   uint32
	body []byte
}

func newH2CConn(c net.Conn) *h2cConn {
	s := &h2cConn{
		c:        c,
		br:       bufio.NewReaderSize(c, 64<<10),
		bw:       bufio.NewWriterSize(c, 64<<10),
		payload:  make([]byte, 16<<10),
		sendConn: 65535,
		initial:  65535,
		windows:  make(map[uint32]int64),
		blocks:   make(map[int][]byte),
	}
	s.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":path" {
			s.path = f.Value
		}
	})
	return s
}

func (s *h2cConn) serve() {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(s.br, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	s.frame(http2.FrameSettings, 0, 0, []byte{0, 3, 0, 0, 0x03, 0xe8, 0, 4, 0x7f, 0xff, 0xff, 0xff}) // 1000 streams, 2^31-1 window
	s.windowUpdate(0, 1<<31-1-65535)
	s.bw.Flush()
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := http2.FrameType(hdr[3]), http2.Flags(hdr[4])
		id := binary.BigEndian.Uint32(hdr[5:]) & 0x7fffffff
		if n > len(s.payload) {
			s.payload = make([]byte, n)
		}
		p := s.payload[:n]
		if _, err := io.ReadFull(s.br, p); err != nil {
			return
		}
		if !s.handle(typ, flags, id, p) {
			return
		}
		if s.br.Buffered() == 0 {
			if s.bw.Flush() != nil {
				return
			}
		}
	}
}

// handle answers one frame; false ends the connection.
func (s *h2cConn) handle(typ http2.FrameType, flags http2.Flags, id uint32, p []byte) bool {
	switch typ {
	case http2.FrameSettings:
		if flags.Has(http2.FlagSettingsAck) {
			return true
		}
		for ; len(p) >= 6; p = p[6:] {
			if binary.BigEndian.Uint16(p) == uint16(http2.SettingInitialWindowSize) {
				s.initial = int64(binary.BigEndian.Uint32(p[2:]))
			}
		}
		s.frame(http2.FrameSettings, http2.FlagSettingsAck, 0, nil)
	case http2.FramePing:
		if !flags.Has(http2.FlagPingAck) {
			s.frame(http2.FramePing, http2.FlagPingAck, 0, p)
		}
	case http2.FrameHeaders, http2.FrameContinuation:
		if typ == http2.FrameHeaders && flags.Has(http2.FlagHeadersPadded|http2.FlagHeadersPriority) {
			p = stripHeaders(flags, p)
		}
		if _, err := s.dec.Write(p); err != nil {
			return false
		}
		if flags.Has(http2.FlagHeadersEndHeaders) {
			s.dec.Close()
			if flags.Has(http2.FlagHeadersEndStream) {
				s.respond(id)
			}
		}
	case http2.FrameData:
		if n := uint32(len(p)); n > 0 {
			s.windowUpdate(0, n)
			if !flags.Has(http2.FlagDataEndStream) {
				s.windowUpdate(id, n)
			}
		}
		if flags.Has(http2.FlagDataEndStream) {
			s.respond(id)
		}
	case http2.FrameWindowUpdate:
		if len(p) == 4 {
			n := int64(binary.BigEndian.Uint32(p) & 0x7fffffff)
			if id == 0 {
				s.sendConn += n
			} else if w, ok := s.windows[id]; ok {
				s.windows[id] = w + n
			}
			s.sendPending()
		}
	case http2.FrameRSTStream:
		delete(s.windows, id)
	case http2.FrameGoAway:
		return false
	}
	return true
}

// stripHeaders removes the padding and priority fields of a HEADERS payload.
func stripHeaders(flags http2.Flags, p []byte) []byte {
	pad := 0
	if flags.Has(http2.FlagHeadersPadded) && len(p) > 0 {
		pad, p = int(p[0]), p[1:]
	}
	if flags.Has(http2.FlagHeadersPriority) && len(p) >= 5 {
		p = p[5:]
	}
	if pad <= len(p) {
		p = p[:len(p)-pad]
	}
	return p
}

// respond queues the response to the request of stream id.
func (s *h2cConn) respond(id uint32) {
	body := h2cDefault.body
	var req request
	if err := req.parseTarget([]byte(s.path)); err == nil && req.route == routeSize {
		body = sizedResponse(req.n).body
	}
	s.path = ""
	s.frame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, id, s.block(len(body)))
	s.windows[id] = s.initial
	s.pending = append(s.pending, pendingBody{id, body})
	s.sendPending()
}

// sendPending sends the bodies waiting, as far as the windows allow.
func (s *h2cConn) sendPending() {
	done := 0
	for done < len(s.pending) {
		pb := &s.pending[done]
		w, ok := s.windows[pb.id]
		if !ok { // reset
			done++
			continue
		}
		n := min(int64(len(pb.body)), w, s.sendConn, 16<<10)
		if n <= 0 && len(pb.body) > 0 {
			break
		}
		var flags http2.Flags
		if int(n) == len(pb.body) {
			flags = http2.FlagDataEndStream
		}
		s.frame(http2.FrameData, flags, pb.id, pb.body[:n])
		s.windows[pb.id] = w - n
		s.sendConn -= n
		pb.body = pb.body[n:]
		if flags != 0 {
			delete(s.windows, pb.id)
			done++
		}
	}
	s.pending = s.pending[:copy(s.pending, s.pending[done:])]
}

// block returns the header block of a response with a body of size bytes:
// fields that reference HPACK's static table and index nothing, so that
// the same bytes serve every response.
func (s *h2cConn) block(size int) []byte {
	if b, ok := s.blocks[size]; ok {
		return b
	}
	b := []byte{0x88} // :status 200, static index 8
	// Literals without indexing whose names are static entries: 0x0f, then
	// the index less 15, then the value's length and bytes.
	for _, f := range []struct {
		index byte
		value string
	}{{28, strconv.Itoa(size)}, {31, "text/plain"}} { // content-length, content-type
		b = append(b, 0x0f, f.index-15, byte(len(f.value)))
		b = append(b, f.value...)
	}
	s.blocks[size] = b
	return b
}

func (s *h2cConn) frame(typ http2.FrameType, flags http2.Flags, id uint32, p []byte) {
	n := len(p)
	h := append(s.bw.AvailableBuffer(), byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	s.bw.Write(h)
	s.bw.Write(p)
}

func (s *h2cConn) windowUpdate(id, n uint32) {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], n)
	s.frame(http2.FrameWindowUpdate, 0, id, p[:])
}
