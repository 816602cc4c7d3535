package wire

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"strings"
)

// maxChunkLine bounds a chunk-size line, extensions included, as net/http does.
const maxChunkLine = 4096

// ChunkedReader reads a chunked body from br; at the terminating chunk it
// reads the trailer section and merges it into *trailer (allocating the map
// if nil), then returns io.EOF. It reads exactly the bytes of the body, never
// past the final CRLF, so the caller can tell whether anything extra is
// buffered afterwards.
//
// It follows net/http's chunked reader: chunk lines must end in CRLF, a chunk
// size has at most 16 hex digits, extensions after ';' are ignored, and a body
// whose chunk lines carry much more overhead than data is rejected.
//
// Stricter than net/http: every trailer line must end in CRLF.
//
// The zero value is not usable; call Reset first. Read errors are sticky.
type ChunkedReader struct {
	br         *bufio.Reader
	trailer    *http.Header
	maxTrailer int
	n          uint64 // unread data bytes of the current chunk
	excess     int64  // chunk-line overhead not paid for by data
	checkEnd   bool   // the CRLF after the current chunk's data is unread
	err        error  // io.EOF after the trailer, or the first failure
}

// Reset makes r read a new body from br. Trailer fields are merged into
// *trailer, or dropped if trailer is nil. The trailer section, line
// terminators included, may be at most maxTrailerBytes long and must fit in
// br's buffer, as net/http requires; maxTrailerBytes <= 0 means br's buffer
// size. A longer trailer fails with ErrTrailerTooLarge.
func (r *ChunkedReader) Reset(br *bufio.Reader, trailer *http.Header, maxTrailerBytes int) {
	if maxTrailerBytes <= 0 || maxTrailerBytes > br.Size() {
		maxTrailerBytes = br.Size()
	}
	*r = ChunkedReader{br: br, trailer: trailer, maxTrailer: maxTrailerBytes}
}

// Read reads body data into p. It returns io.EOF once the terminating chunk
// and the trailer section are read, and an error wrapping
// io.ErrUnexpectedEOF if br ends before that. To avoid blocking, it returns
// early with the data it has rather than wait for the next chunk line.
func (r *ChunkedReader) Read(p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, r.err
	}
	for r.err == nil {
		if r.checkEnd {
			if n > 0 && r.br.Buffered() < 2 {
				break
			}
			r.readChunkEnd()
			if r.err != nil {
				break
			}
		}
		if r.n == 0 {
			if n > 0 && !r.lineBuffered() {
				break
			}
			r.beginChunk()
			continue
		}
		if len(p) == 0 {
			break
		}
		q := p
		if uint64(len(q)) > r.n {
			q = q[:r.n]
		}
		m, err := r.br.Read(q)
		n += m
		p = p[m:]
		r.n -= uint64(m)
		if err != nil {
			r.err = eofIsTruncation(err, "chunked body")
		} else if r.n == 0 {
			r.checkEnd = true
		}
	}
	return n, r.err
}

// readChunkEnd reads the CRLF that follows a chunk's data.
func (r *ChunkedReader) readChunkEnd() {
	b, err := r.br.Peek(2)
	if len(b) < 2 {
		r.err = eofIsTruncation(err, "chunked body")
		return
	}
	if b[0] != '\r' || b[1] != '\n' {
		r.err = protoErr("missing CRLF after chunk data, got %q", b)
		return
	}
	r.br.Discard(2)
	r.checkEnd = false
}

// lineBuffered reports whether a whole chunk line is buffered.
func (r *ChunkedReader) lineBuffered() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// beginChunk reads a chunk-size line, and the trailer after the last chunk.
func (r *ChunkedReader) beginChunk() {
	line, err := r.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		r.err = &ProtocolError{Msg: "chunk-size line too long"}
		return
	case err != nil:
		r.err = eofIsTruncation(err, "chunked body")
		return
	}
	// Unlike field lines, chunk lines must end in CRLF (RFC 9112 erratum 7633).
	if len(line) < 2 || bytes.IndexByte(line, '\r') != len(line)-2 {
		r.err = protoErr("malformed chunk-size line %q", line)
		return
	}
	line = line[:len(line)-2]
	if len(line) >= maxChunkLine {
		r.err = &ProtocolError{Msg: "chunk-size line too long"}
		return
	}
	// Allow 16 bytes of overhead per chunk plus twice its data before
	// deciding that a peer pads chunk lines to waste our time, exactly as
	// net/http does.
	r.excess += int64(len(line)) + 2
	sizeB := bytes.TrimRight(line, " \t")
	sizeB, _, _ = bytes.Cut(sizeB, []byte(";"))
	size, ok := parseChunkSize(sizeB)
	if !ok {
		r.err = protoErr("malformed chunk size %q", line)
		return
	}
	r.excess -= 16 + 2*int64(size)
	r.excess = max(r.excess, 0)
	r.n = size
	if size == 0 {
		r.readTrailer()
		return
	}
	if r.excess > 16*1024 {
		r.err = &ProtocolError{Msg: "chunked body has too much non-data"}
	}
}

// parseChunkSize parses 1 to 16 hex digits.
func parseChunkSize(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, true
}

// readTrailer reads the trailer section after the last chunk and sets r.err
// to io.EOF, or to why the section is bad.
func (r *ChunkedReader) readTrailer() {
	data, err := buffered(r.br, &trailerBlock)
	if err != nil {
		r.err = err
		return
	}
	// Ending the section at an empty line is only as safe as finding that
	// line, so all its lines must end in CRLF.
	var stack [stackFields]field
	fields, n, err := parseFields(data, stack[:0], true)
	if err == errIncomplete {
		// r.maxTrailer is at most br's buffer size, so readBlock never
		// returns a copy.
		data, _, err = readBlock(r.br, r.maxTrailer, &trailerBlock)
		if err != nil {
			r.err = err
			return
		}
		fields, n, err = parseFields(data, stack[:0], true)
	} else if err == nil && n > r.maxTrailer {
		err = ErrTrailerTooLarge
	}
	if err != nil {
		r.err = err
		return
	}
	if len(fields) > 0 && r.trailer != nil {
		var sb strings.Builder
		sb.Grow(fieldsSize(fields))
		writeFields(&sb, data, fields)
		h, _ := makeHeader(sb.String(), fields, 0)
		if *r.trailer == nil {
			*r.trailer = h
		} else {
			maps.Copy(*r.trailer, h)
		}
	}
	r.br.Discard(n)
	r.err = io.EOF
}
