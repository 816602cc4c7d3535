//go:build interop

package interop

import (
	"crypto/tls"
	"net/url"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// noLimitStreams is what golang.org/x/net/http2 assumes of a server that
// announces no stream limit.
const noLimitStreams = 1000

// maxConcurrentStreams returns the SETTINGS_MAX_CONCURRENT_STREAMS a server
// announces on a new HTTP/2 connection: the limit a client must respect,
// which may differ from the server's configured limit (h2o announces 100
// whatever its configuration, and queues what it will not run at once).
func maxConcurrentStreams(t *testing.T, e *env, base string) int {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.tlsConfig()
	cfg.NextProtos = []string{http2.NextProtoTLS}
	conn, err := tls.Dial("tcp", u.Host, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		t.Fatalf("ALPN chose %q, want h2", p)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			continue
		}
		if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); ok {
			return int(v)
		}
		return noLimitStreams
	}
}
