package benchserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxHeaderBytes bounds a request's head, so that a broken client cannot
// make the server read forever.
const maxHeaderBytes = 64 << 10

// maxChunkSize bounds one chunk of a chunked request body.
const maxChunkSize = 1 << 30

// errBadRequest is returned for a request the server cannot parse; it is
// answered 400 and the connection is closed.
var errBadRequest = errors.New("benchserver: bad request")

// route is what a request's path asks for.
type route uint8

const (
	routeDefault route = iota
	routeSize          // /size/N
	routeBarrier       // /barrier/N
)

// request is what the server keeps of a request: only what it needs to
// answer it and to find the next one on the connection.
type request struct {
	route          route
	n              int   // N of /size/N or /barrier/N
	contentLength  int64 // -1 when absent
	chunked        bool
	close          bool // close the connection after the response
	head           bool // HEAD: answer without a body
	expectContinue bool
}

// read parses a request line and header block from br. Every field is read
// from the bufio.Reader's own buffer, so parsing allocates nothing.
func (r *request) read(br *bufio.Reader) error {
	line, err := readLine(br)
	if err != nil {
		return err
	}
	if err := r.parseRequestLine(line); err != nil {
		return err
	}
	r.contentLength = -1
	total := len(line)
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if total += len(line); total > maxHeaderBytes {
			return errBadRequest
		}
		if err := r.parseHeader(line); err != nil {
			return err
		}
	}
}

// parseRequestLine reads the method, the route and the protocol version.
func (r *request) parseRequestLine(line []byte) error {
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return errBadRequest
	}
	target, proto, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return errBadRequest
	}
	r.head = bytes.Equal(method, []byte("HEAD"))
	switch {
	case bytes.Equal(proto, []byte("HTTP/1.1")):
	case bytes.Equal(proto, []byte("HTTP/1.0")):
		r.close = true // unless the header says keep-alive
	default:
		return errBadRequest
	}
	return r.parseTarget(target)
}

// parseTarget reads the route from a request target.
func (r *request) parseTarget(target []byte) error {
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	switch {
	case bytes.HasPrefix(target, []byte("/size/")):
		r.route = routeSize
		target = target[len("/size/"):]
	case bytes.HasPrefix(target, []byte("/barrier/")):
		r.route = routeBarrier
		target = target[len("/barrier/"):]
	default:
		r.route = routeDefault
		return nil
	}
	n, ok := parseDecimal(target, maxBodySize)
	if !ok || n <= 0 {
		return errBadRequest
	}
	r.n = int(n)
	return nil
}

// parseHeader notes the header fields that matter for framing and keep-alive.
func (r *request) parseHeader(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return errBadRequest
	}
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, ok := parseDecimal(value, 1<<62)
		if !ok {
			return errBadRequest
		}
		r.contentLength = n
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		if !bytes.EqualFold(value, []byte("chunked")) {
			return errBadRequest
		}
		r.chunked = true
	case bytes.EqualFold(name, []byte("Connection")):
		for tok := range bytes.SplitSeq(value, []byte(",")) {
			tok = bytes.TrimSpace(tok)
			switch {
			case bytes.EqualFold(tok, []byte("close")):
				r.close = true
			case bytes.EqualFold(tok, []byte("keep-alive")):
				r.close = false
			}
		}
	case bytes.EqualFold(name, []byte("Expect")):
		r.expectContinue = bytes.EqualFold(value, []byte("100-continue"))
	}
	return nil
}

// discardBody reads and drops the request's body, so that the next request
// on the connection starts where the server reads.
func (r *request) discardBody(br *bufio.Reader) error {
	if r.chunked {
		return discardChunked(br)
	}
	if r.contentLength > 0 {
		_, err := br.Discard(int(r.contentLength))
		return err
	}
	return nil
}

// discardChunked drops a chunked body: chunks, the last chunk and trailers.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		size, ok := parseHex(bytes.TrimSpace(line), maxChunkSize)
		if !ok {
			return errBadRequest
		}
		if size == 0 {
			break
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		if line, err := readLine(br); err != nil || len(line) != 0 {
			return errBadRequest
		}
	}
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine returns the next line of br without its CRLF or LF. The slice
// points into br's buffer and is valid until the next read. A line longer
// than the buffer is a bad request.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, errBadRequest
	case errors.Is(err, io.EOF) && len(line) > 0:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// parseDecimal parses a non-negative decimal number of at most limit.
func parseDecimal(b []byte, limit int64) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	return n, true
}

// parseHex parses a non-negative hexadecimal number of at most limit.
func parseHex(b []byte, limit int64) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n*16 + int64(d)
		if n > limit {
			return 0, false
		}
	}
	return n, true
}
