package httppool

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/httppool/httppool/internal/testserver"
)

// gzipped returns data compressed.
func gzipped(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// stallingGzip answers with the first half of a gzip stream, then waits for
// the client to go away: a Read of the body then blocks inside the
// decompressor.
func stallingGzip(payload []byte) http.Handler {
	z := gzipped(payload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(z[:len(z)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
}

func TestGzipCloseInterruptsABlockedRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
		srv := testserver.NewPipe(stallingGzip(payload), nil)
		defer srv.Close()
		tr := New(Config{DialContext: srv.Dial})
		defer tr.Close()
		resp, err := tr.RoundTrip(mustRequest(t, "GET", "http://example.test/", nil))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Uncompressed {
			t.Fatal("the body is not decompressed")
		}
		readErr := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, resp.Body)
			readErr <- err
		}()
		synctest.Wait() // the Read is blocked inside the decompressor
		resp.Body.Close()
		if err := <-readErr; !errors.Is(err, ErrBodyClosed) {
			t.Errorf("blocked Read returned %v, want ErrBodyClosed", err)
		}
		if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrBodyClosed) {
			t.Errorf("Read after Close returned %v, want ErrBodyClosed", err)
		}
		synctest.Wait()
		if st := tr.Stats(); st.Open != 0 {
			t.Errorf("connection still open after Close: %+v", st)
		}
	})
}

// TestGzipCloseRacingReadCorruptsNothing closes bodies while a Read is
// inside their decompressor, with healthy gzip responses decoding at the
// same time: the decompressors they share through a pool must never be
// handed out while a Read still uses them (run it with -race).
func TestGzipCloseRacingReadCorruptsNothing(t *testing.T) {
	payload := make([]byte, 256<<10)
	for i := range payload {
		payload[i] = byte(rand.IntN(16)) // compressible, not trivially
	}
	healthy := gzipped(payload)
	mux := http.NewServeMux()
	mux.Handle("/stall", stallingGzip(payload))
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(healthy)
	})
	srv := testserver.New(t, mux, nil)
	tr := newTransport(t, Config{})

	const racers, readers, rounds = 4, 2, 30
	var wg sync.WaitGroup
	errs := make(chan error, racers*rounds+readers*rounds)
	for range racers {
		wg.Go(func() {
			for range rounds {
				resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/stall", nil))
				if err != nil {
					errs <- err
					return
				}
				done := make(chan error, 1)
				go func() {
					_, err := io.Copy(io.Discard, resp.Body)
					done <- err
				}()
				time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
				resp.Body.Close()
				if err := <-done; !errors.Is(err, ErrBodyClosed) {
					errs <- errors.New("a Read interrupted by Close returned " + errString(err))
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range rounds {
				resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL+"/ok", nil))
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, payload) {
					errs <- errors.New("a healthy gzip body decoded wrong: " + errString(err))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestGzipEncodingAsNetHTTP: an empty gzip body is an empty body, and gzip
// listed twice is decoded once; a list with another coding is left alone.
func TestGzipEncodingAsNetHTTP(t *testing.T) {
	z := string(gzipped([]byte("unzipped")))
	cases := []struct {
		name, response, body, encoding string
		uncompressed                   bool
	}{
		{"empty chunked", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", "", true},
		{"empty close-delimited", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n", "", "", true},
		{"gzip listed twice", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\nContent-Length: " + strconv.Itoa(len(z)) + "\r\n\r\n" + z, "unzipped", "", true},
		{"gzip, gzip", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: " + strconv.Itoa(len(z)) + "\r\n\r\n" + z, "unzipped", "", true},
		{"gzip then br", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, br\r\nContent-Length: 3\r\n\r\nraw", "raw", "gzip, br", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.NewRaw(t, respondOnce(tc.response))
			tr := newTransport(t, Config{})
			resp, err := tr.RoundTrip(mustRequest(t, "GET", srv.URL, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(got) != tc.body {
				t.Errorf("body %q, %v; want %q", got, err, tc.body)
			}
			if resp.Uncompressed != tc.uncompressed || resp.Header.Get("Content-Encoding") != tc.encoding {
				t.Errorf("Uncompressed %v, Content-Encoding %q; want %v, %q",
					resp.Uncompressed, resp.Header.Get("Content-Encoding"), tc.uncompressed, tc.encoding)
			}
		})
	}
}
