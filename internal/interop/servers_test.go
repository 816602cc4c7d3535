//go:build interop

package interop

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const (
	// keepAliveTimeout is every server's keep-alive timeout, in seconds.
	keepAliveTimeout = 1
	// requestLimit is the limited servers' requests per connection.
	requestLimit = 100
	// streamLimit is the limited servers' concurrent HTTP/2 streams.
	streamLimit = 10
	// bigSize is the size of the large bodies, both ways.
	bigSize = 10 << 20
)

// limits configure one server process.
type limits struct {
	requests int // keep-alive requests per connection (HTTP/1.1 and, where the server can, HTTP/2)
	streams  int // concurrent HTTP/2 streams per connection
}

var (
	// roomy is the configuration of the main scenarios: the limits are
	// out of their way.
	roomy = limits{requests: 100000, streams: 256}
	// tight is the configuration of the limit scenarios.
	tight = limits{requests: requestLimit, streams: streamLimit}
)

// instance is a running server: base URLs for HTTP/1.1 and for HTTPS with
// HTTP/2, and its access log.
type instance struct {
	h1, h2    string
	accessLog string
}

// url returns the base URL for proto, "h1" or "h2".
func (in *instance) url(proto string) string {
	if proto == "h2" {
		return in.h2
	}
	return in.h1
}

// flavor is one server program: how to start it and what it can do.
type flavor struct {
	name string
	bin  string // the executable, looked up at run time
	pkg  string // its Debian package
	// h1Limit and h2Limit report whether the server can limit the requests
	// of one HTTP/1.1 connection, or the streams of one HTTP/2 connection.
	h1Limit, h2Limit bool
	// keepAliveHeader reports that it sends "Keep-Alive: timeout=N".
	keepAliveHeader bool
	// limitPlusOne reports that a connection serves one request more than
	// the configured limit, which counts the requests after the first.
	limitPlusOne bool
	// start starts a server process configured by l in dir.
	start func(t *testing.T, e *env, bin, dir string, l limits) *instance
}

// env is what every server of a test shares: a directory the servers can
// read after dropping root privileges, a document root, certificates and
// the Go backend.
type env struct {
	dir     string
	www     string
	certs   certs
	backend string
	bigSum  string // SHA-256 of www/big.bin, in hex
}

// newEnv prepares the test's directory: the document root holds small.txt
// ("hello") and big.bin (bigSize random bytes). Every server refuses
// requests to /refuse (a 403, or a 404 or 405 for POST to a missing file).
func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	// Servers running as www-data or nobody must reach their files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{dir: dir, www: filepath.Join(dir, "www")}
	if err := os.Mkdir(e.www, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(e.www, "small.txt"), "hello")
	big := make([]byte, bigSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	writeFile(t, filepath.Join(e.www, "big.bin"), string(big))
	sum := sha256.Sum256(big)
	e.bigSum = hex.EncodeToString(sum[:])
	e.certs = makeCerts(t, dir)
	e.backend = startBackend(t)
	return e
}

// startInstance starts a server process of flavor f, configured by l, in a
// directory of its own.
func (e *env) startInstance(t *testing.T, f flavor, bin, name string, l limits) *instance {
	t.Helper()
	dir := filepath.Join(e.dir, f.name+"-"+name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return f.start(t, e, bin, dir, l)
}

// baseURLs returns the HTTP and HTTPS base URLs of two ports.
func baseURLs(ports []int) (h1, h2 string) {
	return "http://127.0.0.1:" + strconv.Itoa(ports[0]), "https://127.0.0.1:" + strconv.Itoa(ports[1])
}

// tlsConfig trusts the test's certificate authority.
func (e *env) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: e.certs.Roots}
}
