package wire

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// BodyKind says how a response body is delimited.
type BodyKind uint8

const (
	NoBody      BodyKind = iota // no body: HEAD request, 1xx, 204, 304, or Content-Length: 0
	LengthBody                  // exactly resp.ContentLength bytes follow
	ChunkedBody                 // Transfer-Encoding: chunked
	CloseBody                   // body runs until the server closes the connection
)

// String returns the constant's name.
func (k BodyKind) String() string {
	switch k {
	case NoBody:
		return "NoBody"
	case LengthBody:
		return "LengthBody"
	case ChunkedBody:
		return "ChunkedBody"
	case CloseBody:
		return "CloseBody"
	}
	return "BodyKind(" + strconv.Itoa(int(k)) + ")"
}

// Interned protocol versions.
const (
	proto11 = "HTTP/1.1"
	proto10 = "HTTP/1.0"
)

// ReadHead reads one response's status line and header block from br for a
// request with the given method (e.g. "GET", "HEAD"), filling resp: Status,
// StatusCode, Proto, ProtoMajor, ProtoMinor, Header, ContentLength (-1 when
// unknown), TransferEncoding, Close, and Trailer (keys declared by a
// "Trailer" header, with nil values, as net/http does). It does not read the
// body and does not set resp.Body or resp.Request; it returns how the body
// is delimited. A 1xx response is returned as it is, with NoBody: the caller
// loops. It consumes exactly the head from br, so what follows it stays
// buffered.
//
// A status line plus header block (line terminators and the final empty line
// included) longer than maxHeaderBytes fails with ErrHeaderTooLarge;
// maxHeaderBytes <= 0 means no limit. If br is at EOF before the first byte,
// ReadHead returns io.EOF itself; EOF later fails with an error that wraps
// io.ErrUnexpectedEOF. Read errors from br are returned as they are; any
// other error is a *ProtocolError. On error, resp's contents are unspecified.
//
// ReadHead accepts what http.ReadResponse accepts, with the same results,
// except for the stricter rules listed in the package documentation.
func ReadHead(br *bufio.Reader, method string, maxHeaderBytes int, resp *http.Response) (BodyKind, error) {
	return readHead(br, method, maxHeaderBytes, resp, nil)
}

// readHead is ReadHead with an optional cache.
func readHead(br *bufio.Reader, method string, maxHeaderBytes int, resp *http.Response, c *HeadCache) (BodyKind, error) {
	data, err := buffered(br, &headBlock)
	if err != nil {
		return NoBody, err
	}
	if c != nil {
		if n, te := c.hit(data, resp); n > 0 {
			if maxHeaderBytes > 0 && n > maxHeaderBytes {
				return NoBody, ErrHeaderTooLarge
			}
			br.Discard(n)
			return frame(resp, method, te, c.present)
		}
	}
	// The whole head is usually buffered already; if not, wait for it.
	n, te, present, err := parseHead(data, resp, c)
	if err == errIncomplete {
		block, inBuf, rerr := readBlock(br, maxHeaderBytes, &headBlock)
		if rerr != nil {
			return NoBody, rerr
		}
		n, te, present, err = parseHead(block, resp, c)
		if !inBuf {
			n = 0 // readBlock consumed it
		}
	} else if err == nil && maxHeaderBytes > 0 && n > maxHeaderBytes {
		return NoBody, ErrHeaderTooLarge
	}
	br.Discard(n)
	if err != nil {
		return NoBody, err
	}
	return frame(resp, method, te, present)
}

// parseHead parses the status line and header fields at the start of b into
// resp, and returns the length of the head, or errIncomplete if b ends first.
// It also returns a slice of length 1, for resp.TransferEncoding, that shares
// the header's backing array, and which framing headers are present. A
// head parsed without error is remembered in c, when c is not nil.
func parseHead(b []byte, resp *http.Response, c *HeadCache) (n int, te []string, present framingKeys, err error) {
	line, off, ok := cutLine(b, 0)
	if !ok {
		return 0, nil, 0, errIncomplete
	}
	// As in http.ReadResponse: the version ends at the first space, the
	// status is the rest with leading spaces removed, and its first word must
	// be a three-digit code.
	protoB, statusB, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return 0, nil, 0, protoErr("malformed status line %q", line)
	}
	statusB = bytes.TrimLeft(statusB, " ")
	codeB, _, _ := bytes.Cut(statusB, []byte(" "))
	code, ok := parseStatusCode(codeB)
	if !ok {
		return 0, nil, 0, protoErr("malformed status code %q", codeB)
	}
	major, minor, ok := parseVersion(protoB)
	if !ok {
		return 0, nil, 0, protoErr("malformed HTTP version %q", protoB)
	}

	var stack [stackFields]field
	fields, end, err := parseFields(b[off:], stack[:0], false)
	if err != nil {
		return 0, nil, 0, err
	}
	for i := range fields {
		present |= framingKey(fields[i].key)
	}

	status := commonStatus.lookup(statusB)
	internedStatus := status != ""
	proto := ""
	switch string(protoB) {
	case proto11:
		proto = proto11
	case proto10:
		proto = proto10
	}
	size := fieldsSize(fields)
	if !internedStatus {
		size += len(statusB)
	}
	if proto == "" {
		size += len(protoB)
	}
	var sb strings.Builder
	sb.Grow(size)
	if !internedStatus {
		sb.Write(statusB)
	}
	if proto == "" {
		sb.Write(protoB)
	}
	writeFields(&sb, b[off:], fields)
	s := sb.String()
	at := 0
	if !internedStatus {
		status, at = s[:len(statusB)], len(statusB)
	}
	if proto == "" {
		proto = s[at : at+len(protoB)]
	}

	resp.Status = status
	resp.StatusCode = code
	resp.Proto = proto
	resp.ProtoMajor, resp.ProtoMinor = major, minor
	resp.Header, te = makeHeader(s, fields, 1)
	if c != nil {
		c.remember(b[:off+end], resp, s, fields, present)
	}
	return off + end, te, present, nil
}
