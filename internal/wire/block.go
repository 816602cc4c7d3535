package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// blockKind describes one kind of header block for readBlock.
type blockKind struct {
	status   bool   // the first line is a status line, which never ends the block
	what     string // names the block in errors
	tooLarge error  // returned when the block exceeds its limit
}

var (
	headBlock    = blockKind{status: true, what: "response header", tooLarge: ErrHeaderTooLarge}
	trailerBlock = blockKind{what: "chunked trailer", tooLarge: ErrTrailerTooLarge}
)

// errIncomplete is what the parsers return when their input ends before the
// header block does. It never leaves the package.
var errIncomplete = errors.New("httppool: incomplete header block")

// buffered returns the bytes buffered in br, first reading some if there are
// none. For a status block, io.EOF before any byte is returned as is: the
// server closed an idle connection. Any other EOF is a truncated block.
func buffered(br *bufio.Reader, k *blockKind) ([]byte, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF && !k.status {
			err = truncated(k.what)
		}
		return nil, err
	}
	return br.Peek(br.Buffered())
}

// readBlock reads a header block from br: every line up to and including the
// first empty one, where a line ends at "\n" and "\r\n" or "\n" alone is empty.
// Callers first try to parse what is buffered, which usually holds the whole
// block, and call readBlock when that is incomplete.
//
// When the block fits in br's buffer it is returned as a slice of that buffer
// (inBuf), still unread: the caller parses it, then discards it from br.
// Otherwise it is copied, which only blocks larger than br's buffer pay for.
// A block longer than max bytes fails with k.tooLarge as soon as that is
// known; max <= 0 means no limit. EOF is handled as by buffered.
func readBlock(br *bufio.Reader, max int, k *blockKind) (block []byte, inBuf bool, err error) {
	var s lineScanner
	s.status = k.status
	data, err := buffered(br, k)
	if err != nil {
		return nil, false, err
	}
	for {
		if end := s.scan(data); end >= 0 {
			if max > 0 && end > max {
				return nil, false, k.tooLarge
			}
			return data[:end], true, nil
		}
		if max > 0 && len(data) >= max {
			return nil, false, k.tooLarge
		}
		if len(data) == br.Size() {
			break
		}
		if _, err := br.Peek(len(data) + 1); err != nil {
			return nil, false, eofIsTruncation(err, k.what)
		}
		data, _ = br.Peek(br.Buffered())
	}

	acc := append(make([]byte, 0, 2*len(data)), data...)
	br.Discard(len(data))
	for {
		line, err := br.ReadSlice('\n')
		acc = append(acc, line...)
		if end := s.scan(acc); end >= 0 {
			if max > 0 && end > max {
				return nil, false, k.tooLarge
			}
			return acc, false, nil
		}
		if max > 0 && len(acc) >= max {
			return nil, false, k.tooLarge
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, false, eofIsTruncation(err, k.what)
		}
	}
}

func eofIsTruncation(err error, what string) error {
	if err == io.EOF {
		return truncated(what)
	}
	return err
}

// lineScanner finds the end of a header block across calls on a growing
// buffer, so that no byte is scanned twice.
type lineScanner struct {
	status    bool // the line at start is a status line
	lineStart int  // offset of the current line
	next      int  // offset where the search for '\n' resumes
}

// scan returns the length of the block in b, which must extend the b of the
// previous call, or -1 if b does not hold all of it yet.
func (s *lineScanner) scan(b []byte) int {
	for {
		i := bytes.IndexByte(b[s.next:], '\n')
		if i < 0 {
			s.next = len(b)
			return -1
		}
		end := s.next + i + 1
		n := end - s.lineStart
		if !s.status && (n == 1 || n == 2 && b[s.lineStart] == '\r') {
			return end
		}
		s.status = false
		s.lineStart, s.next = end, end
	}
}

// cutLine returns the content of the line starting at b[start:], without its
// "\r\n" or "\n", and the offset of the next line; ok is false if b holds no
// '\n' after start. Like bufio.Reader.ReadLine it strips one '\r' before the
// '\n' only.
func cutLine(b []byte, start int) (content []byte, next int, ok bool) {
	i := bytes.IndexByte(b[start:], '\n')
	if i < 0 {
		return nil, 0, false
	}
	end := start + i
	if end > start && b[end-1] == '\r' {
		end--
	}
	return b[start:end], start + i + 1, true
}
