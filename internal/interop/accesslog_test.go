//go:build interop

package interop

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// Every server logs each request as
//
//	<connection id> <protocol> <status> "<request line>"
//
// and each scenario tags its requests with a query parameter sc=<tag>, so
// that the connections the server saw can be counted per scenario.

// logEntry is one logged request.
type logEntry struct {
	conn string // the server's connection id
}

// readLog returns the entries of an access log tagged tag.
func readLog(t *testing.T, path, tag string) []logEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []logEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		_, req, _ := strings.Cut(line, `"`)
		_, query, _ := strings.Cut(req, "sc=")
		query, _, _ = strings.Cut(query, " ")
		query, _, _ = strings.Cut(query, "&")
		if query != tag {
			continue
		}
		entries = append(entries, logEntry{conn: fields[0]})
	}
	return entries
}

// waitLog waits, a bounded time, until the log holds want entries tagged
// tag (servers write an entry once the response is sent), and returns them.
func waitLog(t *testing.T, path, tag string, want int) []logEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries := readLog(t, path, tag)
		if len(entries) >= want || time.Now().After(deadline) {
			return entries
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connCounts returns how many connections served the entries, and the most
// and the mean number of requests per connection.
func connCounts(entries []logEntry) (conns, most int, mean float64) {
	per := make(map[string]int)
	for _, e := range entries {
		per[e.conn]++
	}
	for _, n := range per {
		most = max(most, n)
	}
	if len(per) > 0 {
		mean = float64(len(entries)) / float64(len(per))
	}
	return len(per), most, mean
}
