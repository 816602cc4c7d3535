package httppool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// TestEarlyResponseStopsAnUpload: a server that answers a large upload
// early and stops reading it, keeping the connection open, gets its answer
// delivered at once instead of a write blocked until the context ends; the
// connection, out of step, is closed, and the next request dials.
func TestEarlyResponseStopsAnUpload(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			stop := make(chan struct{})
			srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.URL.Path == "/upload" {
					io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\n\r\nbig")
					<-stop // neither reads the body nor closes
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				io.Copy(io.Discard, br)
			})
			defer close(stop)
			tr := newTransport(t, Config{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // bounds a regression
			defer cancel()
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("x"), 64<<20))
			if chunked {
				body = io.MultiReader(body) // no length known
			}
			req := mustRequest(t, "POST", srv.URL+"/upload", body).WithContext(ctx)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("the early 413 was lost: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 413 || string(got) != "big" || err != nil {
				t.Errorf("status %d, body %q, %v; want 413 big", resp.StatusCode, got, err)
			}
			if n := tr.Stats().Closed[CloseBodyUnsent]; n != 1 {
				t.Errorf("closed %v; want the connection closed as %s", tr.Stats().Closed, CloseBodyUnsent)
			}
			if got := get(t, tr, srv.URL+"/next"); got != "ok" || srv.Accepted() != 2 {
				t.Errorf("next request: %q on %d connections; want ok on a new one", got, srv.Accepted())
			}
		})
	}
}

// TestResponseAfterAFullUploadKeepsTheConnection: an answer that comes
// while the last of a large body is going out leaves the connection in step
// once all of it went.
func TestResponseAfterAFullUploadKeepsTheConnection(t *testing.T) {
	srv := testserver.NewRaw(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(fmt.Sprint(n)), fmt.Sprint(n))
		}
	})
	tr := newTransport(t, Config{})
	for range 3 {
		resp, err := tr.RoundTrip(mustRequest(t, "POST", srv.URL, strings.NewReader(strings.Repeat("y", 1<<20))))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != fmt.Sprint(1<<20) {
			t.Fatalf("server read %q bytes", got)
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d connections, want 1", srv.Accepted())
	}
}
