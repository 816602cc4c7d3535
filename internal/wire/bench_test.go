package wire

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"testing"
)

// benchHeads are response heads, with their bodies, that ReadHead and
// http.ReadResponse parse in the benchmarks.
var benchHeads = []struct{ name, resp string }{
	{"typical", "HTTP/1.1 200 OK\r\n" +
		"Server: nginx/1.25.3\r\n" +
		"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 13\r\n" +
		"Connection: keep-alive\r\n" +
		"Cache-Control: no-cache\r\n" +
		"\r\n" +
		`{"ok": true}` + "\n"},
	{"lowercase", "HTTP/1.1 200 OK\r\n" +
		"server: envoy\r\n" +
		"date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"content-type: application/json\r\n" +
		"content-length: 13\r\n" +
		"x-envoy-upstream-service-time: 3\r\n" +
		"x-request-id: 7f1c2a9e-45b1-4c8e-9a51-0d1f1f1f1f1f\r\n" +
		"\r\n" +
		`{"ok": true}` + "\n"},
	{"large", "HTTP/1.1 200 OK\r\n" +
		"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Transfer-Encoding: chunked\r\n" +
		"Connection: keep-alive\r\n" +
		"Cache-Control: private, max-age=0\r\n" +
		"Expires: -1\r\n" +
		"Vary: Accept-Encoding\r\n" +
		"Set-Cookie: a=1; Path=/; HttpOnly\r\n" +
		"Set-Cookie: b=2; Path=/; Secure\r\n" +
		"Set-Cookie: c=3; Path=/; SameSite=Lax\r\n" +
		"Strict-Transport-Security: max-age=31536000\r\n" +
		"X-Frame-Options: SAMEORIGIN\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Content-Security-Policy: default-src 'self'\r\n" +
		"Server: cloudflare\r\n" +
		"Cf-Ray: 84a1b2c3d4e5f6a7-AMS\r\n" +
		"Alt-Svc: h3=\":443\"; ma=86400\r\n" +
		"\r\n" +
		"0\r\n\r\n"},
}

func BenchmarkReadHead(b *testing.B) {
	for _, bh := range benchHeads {
		b.Run(bh.name, func(b *testing.B) {
			src := []byte(bh.resp)
			rd := bytes.NewReader(src)
			br := bufio.NewReader(rd)
			var resp http.Response
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(src)
				br.Reset(rd)
				resp = http.Response{}
				if _, err := ReadHead(br, "GET", 1<<20, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStdReadResponse(b *testing.B) {
	for _, bh := range benchHeads {
		b.Run(bh.name, func(b *testing.B) {
			src := []byte(bh.resp)
			rd := bytes.NewReader(src)
			br := bufio.NewReader(rd)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(src)
				br.Reset(rd)
				if _, err := http.ReadResponse(br, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// chunkedBody returns a chunked body of n chunks of size bytes each.
func chunkedBody(n, size int) []byte {
	var b []byte
	chunk := bytes.Repeat([]byte("x"), size)
	for range n {
		b = strconv.AppendInt(b, int64(size), 16)
		b = append(b, "\r\n"...)
		b = append(b, chunk...)
		b = append(b, "\r\n"...)
	}
	return append(b, "0\r\n\r\n"...)
}

// benchChunked reads 16 chunks of 1 KiB with newReader's reader.
func benchChunked(b *testing.B, newReader func(br *bufio.Reader) io.Reader) {
	src := chunkedBody(16, 1024)
	rd := bytes.NewReader(src)
	br := bufio.NewReader(rd)
	buf := make([]byte, 32<<10)
	b.SetBytes(16 * 1024)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(src)
		br.Reset(rd)
		r := newReader(br)
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChunkedReader(b *testing.B) {
	var cr ChunkedReader
	var trailer http.Header
	benchChunked(b, func(br *bufio.Reader) io.Reader {
		cr.Reset(br, &trailer, 0)
		return &cr
	})
}

// BenchmarkStdChunkedReader measures net/http's chunked reader, without the
// trailer handling that http.ReadResponse's body adds.
func BenchmarkStdChunkedReader(b *testing.B) {
	benchChunked(b, func(br *bufio.Reader) io.Reader { return httputil.NewChunkedReader(br) })
}
