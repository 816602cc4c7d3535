package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal, where a live progress bar
// makes sense; a pipe, a file or a buffer is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is the live progress bar of a load run: requests done out of -n,
// or time elapsed out of -d, with the failures so far and the connections
// open now. It is cleared from the terminal when the run ends.
type progress struct {
	bar    *progressbar.ProgressBar
	label  string
	byTime bool // the bar measures time against -d rather than requests against -n
	max    int64
	start  time.Time
}

// newProgress draws an empty bar on w for a run of n requests or, when n is
// zero, of duration d.
func newProgress(w io.Writer, label string, n int64, d time.Duration) *progress {
	p := &progress{label: label, byTime: n == 0, max: n, start: time.Now()}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription(label),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	}
	if p.byTime {
		p.max = max(d.Milliseconds(), 1)
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("req"))
	}
	p.bar = progressbar.NewOptions64(p.max, opts...)
	return p
}

// update redraws the bar: done requests so far, failed of them, and the
// connections open now.
func (p *progress) update(done, failed int64, open int) {
	if p.byTime {
		// The bar reaches its end only in finish, which clears it.
		p.bar.Set64(min(time.Since(p.start).Milliseconds(), p.max-1))
		p.bar.Describe(fmt.Sprintf("%s: %d req, %d failed, %d open", p.label, done, failed, open))
		return
	}
	p.bar.Set64(min(done, p.max-1))
	p.bar.Describe(fmt.Sprintf("%s: %d failed, %d open", p.label, failed, open))
}

// finish clears the bar from the terminal.
func (p *progress) finish() {
	p.bar.Finish()
}
