package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestProgressRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "httppool", 200, 0)
	p.update(100, 3, 16)
	p.update(200, 3, 2) // done, yet 99% until finish
	p.finish()
	frames := strings.Split(b.String(), "\r")
	if len(frames) != 6 || frames[0] != "" || frames[5] != "" {
		t.Fatalf("frames %q; want each draw to start with a carriage return and the cursor left at the start", frames)
	}
	for i, want := range []string{
		"httppool: 0/200 req, 0 failed, 0 open   0% |                    |",
		"httppool: 100/200 req, 3 failed, 16 open  50% |██████████          |",
		"httppool: 200/200 req, 3 failed, 2 open  99% |███████████████████ |",
	} {
		if got := strings.TrimRight(frames[i+1], " "); got != want {
			t.Errorf("frame %d: %q, want %q", i+1, got, want)
		}
		if n := utf8.RuneCountInString(frames[i+1]); n > 79 {
			t.Errorf("frame %d is %d columns, more than a terminal of 80 holds", i+1, n)
		}
	}
	// A shorter line blanks what is left of the longer one before it.
	if n, longest := utf8.RuneCountInString(frames[3]), utf8.RuneCountInString(frames[2]); n != longest {
		t.Errorf("frame 3 is %d columns after one of %d: the rest is not blanked", n, longest)
	}
	if last := strings.TrimRight(frames[3], " "); strings.TrimLeft(frames[4], " ") != "" ||
		len(frames[4]) < utf8.RuneCountInString(last) {
		t.Errorf("finish drew %q after %q; want the bar blanked", frames[4], last)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"a buffer": &bytes.Buffer{}, "a file": f, "a pipe": w} {
		if isTerminal(out) {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
}
