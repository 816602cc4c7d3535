// Package interop holds httppool's interop suite, in tests built with the
// interop tag: each test starts a real server (nginx, Apache httpd, h2o) on
// loopback ports with a configuration and TLS certificates it writes itself,
// runs the pool against it over HTTP/1.1 and HTTPS with HTTP/2, and stops it.
// The scenarios: reuse, per-connection request limits, keep-alive timeouts,
// HTTP/2 concurrency and stream limits, large and chunked bodies and
// "Expect: 100-continue". A server that is not installed is skipped.
//
// Run it with .ci/interop.sh, which installs the servers from Debian's
// packages when they are missing, or with
//
//	go test -tags interop -count=1 -v ./internal/interop/
package interop
