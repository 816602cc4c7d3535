// Package wire parses HTTP/1.1 responses off a *bufio.Reader: the status
// line and header block (ReadHead), and chunked bodies (ChunkedReader). It
// runs on the caller's goroutine and is built for a connection pool's hot
// path: parsing allocates nothing of its own, and a head costs no allocation
// per field (up to 64 fields), only its header map, one string holding the
// keys and values that are not interned, and one array of all the values.
// Read through a HeadCache, a head made of the same bytes as the previous
// one is not parsed again and costs only the map and the array.
//
// http.ReadResponse, with its Body read to the end, is the reference: for
// any input, ReadHead and ChunkedReader accept what it accepts, with the
// same results, and reject what it rejects. They are stricter in these
// cases only, each of which could otherwise leave a pooled connection in a
// doubtful state:
//
//   - A response that has a body and both Transfer-Encoding and
//     Content-Length headers is an error (RFC 9112 section 6.3 allows
//     either); net/http ignores Content-Length.
//   - A field name holding a space whose name trimmed is Content-Length or
//     Transfer-Encoding, as in "Content-Length : 5", is an error; net/http
//     keeps it as an unrelated field, though the server may have meant it
//     for framing.
//   - A status code must be three ASCII digits; net/http also takes a sign,
//     as in "+99" or "-00".
//   - Every line of a chunked body's trailer section must end in CRLF, as
//     chunk lines must; net/http requires a CRLF CRLF to find the end of
//     the section but then parses bare-LF lines, so it can disagree with
//     itself about where the body ends.
//
// Like net/http, the parser accepts bare LF line endings and obsolete line
// folding in the header block, keeps field names that hold a space as they
// are (without canonicalizing them), and limits a trailer section to the
// reader's buffer size.
package wire
