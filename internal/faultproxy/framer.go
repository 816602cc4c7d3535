package faultproxy

import (
	"bytes"
	"strconv"
	"strings"
)

// httpPrefix starts every HTTP/1.x response.
const httpPrefix = "HTTP/"

// maxHeadBytes bounds the head bytes kept for parsing; a longer head is
// still followed, but its fields past the bound are not read.
const maxHeadBytes = 64 << 10

// bodyKind is how a response's body is delimited.
type bodyKind int

const (
	bodyNone bodyKind = iota
	bodyLength
	bodyChunked
	bodyUntilClose
)

// chunkState is where a chunked body's reader stands.
type chunkState int

const (
	chunkSize    chunkState = iota // reading a chunk-size line
	chunkData                      // inside a chunk's data
	chunkDataEnd                   // the CRLF after a chunk's data
	chunkTrailer                   // trailer lines after the last chunk
)

// position is a point in the server's byte stream: a response, a phase of
// it, and an offset into the phase.
type position struct {
	resp   int
	phase  Phase
	offset int64
}

// before reports whether p comes before q in the stream.
func (p position) before(q position) bool {
	if p.resp != q.resp {
		return p.resp < q.resp
	}
	if p.phase != q.phase {
		return p.phase < q.phase
	}
	return p.offset < q.offset
}

// framer follows the HTTP/1.1 responses in a server's byte stream.
type framer struct {
	pos    position
	opaque bool // the stream is not HTTP/1.1: all of it is the first head

	head []byte // the current head, up to maxHeadBytes
	tail uint32 // the last four bytes seen in the head, for its end

	kind      bodyKind
	remaining int64 // bodyLength: bytes left; bodyChunked: bytes left in the chunk
	chunk     chunkState
	line      []byte // the chunk-size or trailer line being read
}

// startNext moves past a finished response to the head of the next one. The
// proxy calls it when a byte of the next response is about to be consumed,
// so that a fault at the end of one response strikes before the next begins.
func (f *framer) startNext() {
	if f.pos.phase == End {
		f.pos = position{resp: f.pos.resp + 1, phase: Head}
		f.head, f.tail = f.head[:0], 0
	}
}

// limit returns how many bytes may be consumed before target is reached,
// or -1 when target is not within the current phase.
func (f *framer) limit(target position) int64 {
	if target.resp == f.pos.resp && target.phase == f.pos.phase && target.offset > f.pos.offset {
		return target.offset - f.pos.offset
	}
	return -1
}

// consume follows up to max bytes of b (all of b when max < 0), stopping at
// the end of a head or of a body, and returns how many it consumed. The
// phase must not be End: call startNext first.
func (f *framer) consume(b []byte, max int64) int {
	if max >= 0 && int64(len(b)) > max {
		b = b[:max]
	}
	switch f.pos.phase {
	case Head:
		return f.consumeHead(b)
	case Body:
		return f.consumeBody(b)
	}
	return 0
}

func (f *framer) consumeHead(b []byte) int {
	if f.opaque {
		f.pos.offset += int64(len(b))
		return len(b)
	}
	for i, c := range b {
		f.pos.offset++
		f.tail = f.tail<<8 | uint32(c)
		if len(f.head) < maxHeadBytes {
			f.head = append(f.head, c)
		}
		if n := len(f.head); n <= len(httpPrefix) && c != httpPrefix[n-1] {
			// Not a response: TLS, say. Count its bytes and look no further.
			f.opaque = true
			f.pos.offset += int64(len(b) - i - 1)
			return len(b)
		}
		if f.tail == 0x0d0a0d0a || f.tail&0xffff == 0x0a0a {
			f.endHead()
			return i + 1
		}
	}
	return len(b)
}

// endHead parses the head just read and enters its body, if it has one.
func (f *framer) endHead() {
	status, fields := parseHead(f.head)
	f.head, f.tail = f.head[:0], 0
	if status >= 100 && status < 200 && status != 101 {
		return // informational: the final head follows
	}
	te := strings.ToLower(fields["transfer-encoding"])
	cl, hasLength := fields["content-length"]
	switch {
	case status == 101:
		f.kind = bodyUntilClose // the connection is the upgraded protocol's now
	case status == 204 || status == 304:
		f.kind = bodyNone
	case strings.Contains(te, "chunked"):
		f.kind, f.chunk, f.remaining, f.line = bodyChunked, chunkSize, 0, f.line[:0]
	case hasLength:
		n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
		if err != nil || n < 0 {
			f.kind = bodyUntilClose
			break
		}
		f.kind, f.remaining = bodyLength, n
		if n == 0 {
			f.kind = bodyNone
		}
	default:
		f.kind = bodyUntilClose
	}
	if f.kind == bodyNone {
		f.pos = position{resp: f.pos.resp, phase: End}
		return
	}
	f.pos = position{resp: f.pos.resp, phase: Body}
}

func (f *framer) consumeBody(b []byte) int {
	switch f.kind {
	case bodyLength:
		n := min(int64(len(b)), f.remaining)
		f.remaining -= n
		f.pos.offset += n
		if f.remaining == 0 {
			f.pos = position{resp: f.pos.resp, phase: End}
		}
		return int(n)
	case bodyChunked:
		return f.consumeChunked(b)
	}
	f.pos.offset += int64(len(b))
	return len(b)
}

func (f *framer) consumeChunked(b []byte) int {
	i := 0
	for i < len(b) {
		switch f.chunk {
		case chunkData:
			n := min(int64(len(b)-i), f.remaining)
			f.remaining -= n
			i += int(n)
			if f.remaining == 0 {
				f.chunk = chunkDataEnd
				f.line = f.line[:0]
			}
			continue
		}
		c := b[i]
		i++
		if c != '\n' {
			if len(f.line) < 4096 {
				f.line = append(f.line, c)
			}
			continue
		}
		line := strings.TrimSpace(string(f.line))
		f.line = f.line[:0]
		switch f.chunk {
		case chunkSize:
			size, _, _ := strings.Cut(line, ";")
			n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
			switch {
			case err != nil || n < 0:
				f.kind = bodyUntilClose // malformed: follow it to the end
				f.pos.offset += int64(i)
				return i + f.consumeBody(b[i:])
			case n == 0:
				f.chunk = chunkTrailer
			default:
				f.chunk, f.remaining = chunkData, n
			}
		case chunkDataEnd:
			f.chunk = chunkSize
		case chunkTrailer:
			if line == "" {
				f.pos.offset += int64(i)
				f.pos = position{resp: f.pos.resp, phase: End}
				return i
			}
		}
	}
	f.pos.offset += int64(i)
	return i
}

// parseHead returns a response head's status code and its fields, keyed by
// lower-case name, repeated fields joined by commas. A malformed status line
// gives status 0.
func parseHead(head []byte) (int, map[string]string) {
	lines := bytes.Split(head, []byte("\n"))
	status := 0
	if len(lines) > 0 {
		parts := strings.Fields(string(lines[0]))
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "HTTP/") {
			status, _ = strconv.Atoi(parts[1])
		}
	}
	fields := make(map[string]string)
	for _, l := range lines[min(1, len(lines)):] {
		name, value, ok := strings.Cut(string(l), ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if old, ok := fields[name]; ok {
			value = old + ", " + value
		}
		fields[name] = value
	}
	return status, fields
}
