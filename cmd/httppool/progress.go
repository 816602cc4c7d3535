package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// isTerminal reports whether w is a terminal, where a live progress bar
// makes sense: a character device (a terminal, or a null device, where a
// bar does no harm) and TERM not "dumb". A pipe, a file or a buffer is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressWidth is the number of cells of the progress bar itself; the
// whole line stays within 80 columns for runs of up to a million requests,
// so that the carriage return that redraws it never meets a wrapped line.
const progressWidth = 20

// progress is the live progress bar of a load run on a terminal: requests
// done out of -n, or time elapsed out of -d, with the failures so far and
// the connections open now. Each update redraws the line in place with a
// carriage return; finish blanks it, so that the report starts on a clean
// line.
type progress struct {
	w      io.Writer
	label  string
	n      int64         // requests of the run; 0 when d bounds it
	d      time.Duration // the run's duration when n is 0
	start  time.Time
	drawn  int // columns of the line on the screen now
	filled int // cells filled so far; the bar never moves back
}

// newProgress draws an empty bar on w for a run of n requests or, when n is
// zero, of duration d.
func newProgress(w io.Writer, label string, n int64, d time.Duration) *progress {
	p := &progress{w: w, label: label, n: n, d: max(d, time.Millisecond), start: time.Now()}
	p.update(0, 0, 0)
	return p
}

// update redraws the bar: done requests so far, failed of them, and the
// connections open now. The bar shows 100% only once the run is over, which
// finish then clears.
func (p *progress) update(done, failed int64, open int) {
	var frac float64
	var text string
	if p.n > 0 {
		frac = float64(done) / float64(p.n)
		text = fmt.Sprintf("%s: %d/%d req, %d failed, %d open", p.label, done, p.n, failed, open)
	} else {
		frac = float64(time.Since(p.start)) / float64(p.d)
		text = fmt.Sprintf("%s: %d req, %d failed, %d open", p.label, done, failed, open)
	}
	frac = min(max(frac, 0), 0.99)
	p.filled = max(p.filled, int(frac*progressWidth))
	line := fmt.Sprintf("%s %3d%% |%s%s|", text, int(frac*100),
		strings.Repeat("█", p.filled), strings.Repeat(" ", progressWidth-p.filled))
	p.draw(line)
}

// draw replaces the line on the screen with line, blanking what is left of
// a longer one.
func (p *progress) draw(line string) {
	cols := utf8.RuneCountInString(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", max(p.drawn-cols, 0)))
	p.drawn = cols
}

// finish clears the bar from the terminal, leaving the cursor at the start
// of the blank line.
func (p *progress) finish() {
	p.draw("")
	io.WriteString(p.w, "\r")
}
