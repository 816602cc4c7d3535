package memnet

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestStreamDelaysBytesAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const oneWay = 10 * time.Millisecond
		a, b := StreamPair(oneWay)
		start := time.Now()
		if _, err := a.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		a.Close()
		buf := make([]byte, 16)
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		if took := time.Since(start); took != oneWay {
			t.Errorf("bytes arrived after %v, want %v", took, oneWay)
		}
		if _, err := b.Read(buf); err != io.EOF {
			t.Errorf("after the bytes: %v, want EOF", err)
		}
	})
}

func TestStreamResetsBytesForAClosedEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const oneWay = 10 * time.Millisecond
		client, server := StreamPair(oneWay)
		server.Close()
		// Written before the close arrives: the write succeeds, and the
		// peer's reset fails the read a round trip later.
		if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatalf("write before the close arrived: %v", err)
		}
		start := time.Now()
		_, err := client.Read(make([]byte, 1))
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read = %v, want EOF or ECONNRESET", err)
		}
		if took := time.Since(start); took != oneWay {
			t.Errorf("the close arrived after %v, want %v", took, oneWay)
		}
		time.Sleep(2 * oneWay)
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after the reset = %v, want ECONNRESET", err)
		}
	})
}

func TestStreamReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := StreamPair(time.Millisecond)
		defer a.Close()
		defer b.Close()
		b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		start := time.Now()
		if _, err := b.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read = %v, want a timeout", err)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("timed out after %v", took)
		}
	})
}

func TestStreamDialTakesARoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewStreamListener(5 * time.Millisecond)
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Close()
			}
		}()
		start := time.Now()
		c, err := l.Dial(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if took := time.Since(start); took != 10*time.Millisecond {
			t.Errorf("dial took %v, want a round trip (10ms)", took)
		}
	})
}
