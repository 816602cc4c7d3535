package httppool

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

func TestRequestBodies(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprintf(w, "%s %d %v %s trailer=%q", r.Method, r.ContentLength, r.TransferEncoding, b, r.Trailer.Get("X-Sum"))
	})
	srv := testserver.New(t, echo, nil)
	tr := newTransport(t, Config{})

	cases := []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"content-length", func() *http.Request {
			return mustRequest(t, "POST", srv.URL, strings.NewReader("abc"))
		}, `POST 3 [] abc trailer=""`},
		{"chunked", func() *http.Request {
			return mustRequest(t, "PUT", srv.URL, io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")))
		}, `PUT -1 [chunked] abcd trailer=""`},
		{"chunked with trailer", func() *http.Request {
			req := mustRequest(t, "POST", srv.URL, io.MultiReader(strings.NewReader("xy")))
			req.Trailer = http.Header{"X-Sum": {"42"}}
			return req
		}, `POST -1 [chunked] xy trailer="42"`},
		{"empty post", func() *http.Request {
			return mustRequest(t, "POST", srv.URL, nil)
		}, `POST 0 []  trailer=""`},
	}
	for _, tc := range cases {
		for i := 0; i < 2; i++ { // the second time on the pooled connection
			resp, err := tr.RoundTrip(tc.req())
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tc.want {
				t.Errorf("%s: server saw %q, want %q", tc.name, b, tc.want)
			}
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d, want 1", srv.Accepted())
	}
}

func TestRequestBodyLengthMismatchIsAnError(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	req := mustRequest(t, "POST", srv.URL, strings.NewReader("abc"))
	req.ContentLength = 10
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "ContentLength=10") {
		t.Errorf("err = %v, want a ContentLength mismatch", err)
	}
	get(t, tr, srv.URL) // the pool still serves
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestRequestBodyIsClosedOnEveryPath(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	for _, url := range []string{srv.URL, "http://127.0.0.1:1/", "ftp://x/"} {
		body := &closeRecorder{Reader: strings.NewReader("x")}
		req := mustRequest(t, "POST", url, body)
		if resp, err := tr.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
		if !body.closed {
			t.Errorf("%s: request body not closed", url)
		}
	}
}

func TestInvalidHeaderIsRejectedBeforeSending(t *testing.T) {
	srv := testserver.New(t, hello, nil)
	tr := newTransport(t, Config{})
	req := mustRequest(t, "GET", srv.URL, nil)
	req.Header["Bad Name"] = []string{"x"}
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "invalid header field name") {
		t.Errorf("err = %v", err)
	}
	req = mustRequest(t, "GET", srv.URL, nil)
	req.Header.Set("X-Injected", "a\r\nEvil: 1")
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "invalid header field value") {
		t.Errorf("err = %v", err)
	}
	if srv.Accepted() != 0 {
		t.Errorf("a connection was opened for an invalid request")
	}
}

func TestExpectContinue(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusExpectationFailed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	srv := testserver.New(t, h, nil)
	tr := newTransport(t, Config{})

	req := mustRequest(t, "POST", srv.URL+"/accept", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "payload" {
		t.Errorf("accepted: body %q", b)
	}

	body := &closeRecorder{Reader: strings.NewReader("never sent")}
	req = mustRequest(t, "POST", srv.URL+"/reject", body)
	req.Header.Set("Expect", "100-continue")
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusExpectationFailed || !body.closed {
		t.Errorf("rejected: status %d, body closed %v", resp.StatusCode, body.closed)
	}
	if n := tr.Stats().Closed[CloseBodyUnsent]; n != 1 {
		t.Errorf("connection of the rejected request: closed for %s = %d, want 1", CloseBodyUnsent, n)
	}
}

func TestExpectContinueTimeoutSendsBodyAnyway(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br) // a server that never sends 100 Continue
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
	})
	tr := newTransport(t, Config{ContinueTimeout: 20 * time.Millisecond})
	req := mustRequest(t, "POST", srv.URL, strings.NewReader("late"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "late" {
		t.Errorf("body %q", b)
	}
}

// rawOnce serves each connection by writing response for every request it reads.
// respondOnce answers one request with response, then closes the
// connection, which ends a close-delimited body or cuts a short one.
func respondOnce(response string) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, response)
		}
	}
}

func rawResponder(responses ...string) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for _, r := range responses {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, r); err != nil {
				return
			}
		}
		io.Copy(io.Discard, br) // keep the connection until the client closes it
	}
}

func TestCloseReasonSaysWhoClosed(t *testing.T) {
	cases := []struct{ response, reason string }{
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", CloseConnectionClose},
		{"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", CloseConnectionClose},
		{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", CloseHTTP10},
		{"HTTP/1.1 200 OK\r\n\r\nok", CloseConnectionClose}, // close-delimited
	}
	for _, tc := range cases {
		srv := testserver.NewRaw(t, respondOnce(tc.response))
		tr := newTransport(t, Config{})
		if got := get(t, tr, srv.URL); got != "ok" {
			t.Fatalf("body %q", got)
		}
		if st := tr.Stats(); st.Closed[tc.reason] != 1 || len(st.Closed) != 1 {
			t.Errorf("%q: closed %v, want 1 %s", tc.response, st.Closed, tc.reason)
		}
	}
}

func TestResponseFraming(t *testing.T) {
	cases := []struct {
		name     string
		method   string
		response string
		body     string
		reused   bool
		check    func(*http.Response) error
	}{
		{name: "content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", body: "abc", reused: true},
		{name: "chunked with trailers",
			response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: v\r\n\r\n",
			body:     "abcde", reused: true,
			check: func(r *http.Response) error {
				if r.Trailer.Get("X-T") != "v" {
					return fmt.Errorf("trailer %v", r.Trailer)
				}
				return nil
			}},
		{name: "head", method: "HEAD", response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", reused: true,
			check: func(r *http.Response) error {
				if r.ContentLength != 100 {
					return fmt.Errorf("ContentLength %d", r.ContentLength)
				}
				return nil
			}},
		{name: "204", response: "HTTP/1.1 204 No Content\r\n\r\n", reused: true},
		{name: "304", response: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", reused: true},
		{name: "1xx before final", response: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", body: "ok", reused: true},
		{name: "close-delimited", response: "HTTP/1.1 200 OK\r\n\r\nuntil close", body: "until close", reused: false},
		{name: "http/1.0", response: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", body: "ok", reused: false},
		{name: "http/1.0 keep-alive", response: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", body: "ok", reused: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			responder := rawResponder(tc.response, tc.response)
			if !tc.reused {
				responder = func(_ int, c net.Conn) { rawResponder(tc.response)(0, c) }
				if strings.Contains(tc.name, "close-delimited") || strings.Contains(tc.response, "HTTP/1.0") {
					responder = func(_ int, c net.Conn) {
						br := bufio.NewReader(c)
						if _, err := http.ReadRequest(br); err == nil {
							io.WriteString(c, tc.response)
						}
					}
				}
			}
			srv := testserver.NewRaw(t, responder)
			tr := newTransport(t, Config{})
			for i := 0; i < 2; i++ {
				method := tc.method
				if method == "" {
					method = "GET"
				}
				resp, err := tr.RoundTrip(mustRequest(t, method, srv.URL, nil))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != tc.body {
					t.Fatalf("request %d: body %q, %v; want %q", i, b, err, tc.body)
				}
				if tc.check != nil {
					if err := tc.check(resp); err != nil {
						t.Error(err)
					}
				}
			}
			want := 2
			if tc.reused {
				want = 1
			}
			if srv.Accepted() != want {
				t.Errorf("accepted %d connections, want %d", srv.Accepted(), want)
			}
		})
	}
}

func TestMalformedResponsesFailAndAreNotPooled(t *testing.T) {
	cases := []struct{ name, response, want string }{
		{"bad status line", "HTTP/1.1 OK\r\n\r\n", "status"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", ""},
		{"bad header line", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", ""},
		{"invalid content-length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "Content-Length"},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "Content-Length"},
		{"both framings", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", ""},
		{"header too large", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 2000) + "\r\n\r\n", ""},
		{"closed before response", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					io.WriteString(c, tc.response)
				}
			})
			tr := newTransport(t, Config{MaxResponseHeaderBytes: 1024})
			resp, err := tr.RoundTrip(mustRequest(t, "POST", srv.URL, strings.NewReader("x")))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("no error for %q", tc.response)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if st := tr.Stats(); st.Idle != 0 || st.Open != 0 {
				t.Errorf("stats = %+v: a failed connection stayed in the pool", st)
			}
		})
	}
}

func TestBytesAfterResponseAreNeverHandedToTheNextRequest(t *testing.T) {
	srv := testserver.NewRaw(t, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		// One response, then bytes that look like another response.
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!")
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nconn%d", n)
	})
	tr := newTransport(t, Config{})
	if got := get(t, tr, srv.URL); got != "first" {
		t.Fatalf("first body %q", got)
	}
	if got := get(t, tr, srv.URL); got == "EVIL!" || srv.Accepted() != 2 {
		t.Errorf("second request got %q on %d connections; want a new connection", got, srv.Accepted())
	}
}

func TestServerClosingMidBodyIsABodyError(t *testing.T) {
	srv := testserver.NewRaw(t, respondOnce("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"))
	tr := newTransport(t, Config{})
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "partial" {
		t.Errorf("body %q, err %v; want partial body and io.ErrUnexpectedEOF", b, err)
	}
	if st := tr.Stats(); st.Open != 0 {
		t.Errorf("stats = %+v: the broken connection stayed open", st)
	}
}

func TestTruncatedChunkedBodyIsABodyError(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
		}
	})
	tr := newTransport(t, Config{})
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestEarlyCloseDrainsSmallRemainder(t *testing.T) {
	small := strings.Repeat("s", 1000)
	large := strings.Repeat("L", 1<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/large" {
			io.WriteString(w, large)
			return
		}
		io.WriteString(w, small)
	})
	srv := testserver.New(t, h, nil)
	tr := newTransport(t, Config{})

	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/small", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // 1000 unread bytes: drained, connection reused
	get(t, tr, srv.URL+"/small")
	if srv.Accepted() != 1 {
		t.Errorf("small remainder: accepted %d, want 1", srv.Accepted())
	}
	resp, err = tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/large", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // about 1 MiB unread: closed
	if n, err := resp.Body.Read(make([]byte, 1)); n != 0 || !errors.Is(err, ErrBodyClosed) {
		t.Errorf("Read after Close = %d, %v; want ErrBodyClosed", n, err)
	}
	get(t, tr, srv.URL+"/small")
	if srv.Accepted() != 2 || tr.Stats().Closed["unread_body"] != 1 {
		t.Errorf("large remainder: accepted %d, closed %v; want a new connection", srv.Accepted(), tr.Stats().Closed)
	}
}

func TestGzipIsRequestedAndDecompressed(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			io.WriteString(w, "plain")
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, "unzipped")
		zw.Close()
	})
	srv := testserver.New(t, h, nil)
	tr := newTransport(t, Config{})
	resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "unzipped" || !resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("body %q, Uncompressed %v, Content-Encoding %q", b, resp.Uncompressed, resp.Header.Get("Content-Encoding"))
	}
	get(t, tr, srv.URL) // reused after a gzip body read to the end
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d, want 1", srv.Accepted())
	}

	off := newTransport(t, Config{DisableCompression: true})
	if got := get(t, off, srv.URL); got != "plain" {
		t.Errorf("DisableCompression: body %q", got)
	}
}

func TestSwitchingProtocolsHandsOverTheConnection(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhi ")
		io.Copy(c, br) // echo
	})
	tr := newTransport(t, Config{})
	req := mustRequest(t, "GET", srv.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != 101 || !ok {
		t.Fatalf("status %d, body %T", resp.StatusCode, resp.Body)
	}
	io.WriteString(rwc, "there")
	buf := make([]byte, 8)
	if _, err := io.ReadFull(rwc, buf); err != nil || string(buf) != "hi there" {
		t.Errorf("read %q, %v", buf, err)
	}
	rwc.Close()
	if st := tr.Stats(); st.Open != 0 || st.Closed["upgraded"] != 1 {
		t.Errorf("stats = %+v; the upgraded connection should have left the pool", st)
	}
}

func TestContextCancelWhileWaitingForHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		defer tr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := tr.RoundTrip(mustRequest(t, "GET", "http://example.test/", nil).WithContext(ctx))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		synctest.Wait()
		if srv.Open() != 0 || tr.Stats().Open != 0 {
			t.Error("the cancelled request's connection is still open")
		}
	})
}

func TestContextCancelMidBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		defer tr.Close()
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := tr.RoundTrip(mustRequest(t, "GET", "http://example.test/", nil).WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		io.ReadFull(resp.Body, buf)
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		_, err = resp.Body.Read(buf)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		resp.Body.Close()
		synctest.Wait()
		if tr.Stats().Open != 0 {
			t.Error("connection still open after cancellation")
		}
	})
}

func TestCloseUnblocksRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		defer tr.Close()
		resp, err := tr.RoundTrip(mustRequest(t, "GET", "http://example.test/", nil))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(time.Second)
			resp.Body.Close()
		}()
		if _, err := resp.Body.Read(make([]byte, 10)); err == nil {
			t.Error("Read returned no error after a concurrent Close")
		}
		synctest.Wait()
		if tr.Stats().Open != 0 {
			t.Error("connection still open after Close")
		}
	})
}

func TestResponseHeaderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Minute):
			case <-r.Context().Done():
			}
		})
		srv := testserver.NewPipe(h, nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial, ResponseHeaderTimeout: 2 * time.Second})
		defer tr.Close()
		start := time.Now()
		_, err := tr.RoundTrip(mustRequest(t, "GET", "http://example.test/", nil))
		var ne net.Error
		if !errors.Is(err, ErrResponseHeaderTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("err = %v, want ErrResponseHeaderTimeout", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("failed after %v, want 2s", d)
		}
	})
}

func TestEarlyResponseWhileBodyIsSent(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		c.(*net.TCPConn).CloseWrite()
		// Read what the client still sends until it closes: closing with
		// unread data sends an RST, which can destroy the response before
		// the client reads it.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
	})
	tr := newTransport(t, Config{})
	body := bytes.Repeat([]byte("x"), 8<<20)
	resp, err := tr.RoundTrip(mustRequest(t, "POST", srv.URL, bytes.NewReader(body)))
	if err != nil {
		t.Fatalf("POST with an early 413 response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestInformationalResponsesShareTheHeaderBudget: as in net/http, 1xx
// responses are bounded by the bytes of all heads of one exchange against
// MaxResponseHeaderBytes, not by their number.
func TestInformationalResponsesShareTheHeaderBudget(t *testing.T) {
	hint := "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
	big := "HTTP/1.1 103 Early Hints\r\nLink: " + strings.Repeat("a", 900<<10) + "\r\n\r\n"
	final := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	cases := []struct {
		name, response string
		ok             bool
	}{
		{"six hints", strings.Repeat(hint, 6) + final, true},
		{"five 900 KiB heads", strings.Repeat(big, 5) + final, false},
		{"a flood of hints", strings.Repeat("HTTP/1.1 103 x\r\n\r\n", 100000) + final, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.NewRaw(t, func(_ int, c net.Conn) { rawResponder(tc.response)(0, c) })
			tr := newTransport(t, Config{MaxResponseHeaderBytes: 1 << 20})
			hints := 0
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				Got1xxResponse: func(int, textproto.MIMEHeader) error { hints++; return nil },
			})
			resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil).WithContext(ctx))
			if !tc.ok {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error for 1xx heads over MaxResponseHeaderBytes")
				}
				if !strings.Contains(err.Error(), "header too large") {
					t.Errorf("err = %v, want the header-size error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || hints != 6 {
				t.Errorf("status %d after %d hints, want 200 after 6", resp.StatusCode, hints)
			}
		})
	}
}
