//go:build interop

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// h2o: http1-request-timeout and http2-idle-timeout are its keep-alive
// timeouts and http2-max-concurrent-requests-per-connection its stream
// limit; it has no limit on the requests of one connection. Started as
// root, it serves as nobody.
var h2o = flavor{
	name: "h2o", bin: "h2o", pkg: "h2o",
	start: startH2O,
}

const h2oConf = `
pid-file: %[1]s/h2o.pid
error-log: %[1]s/error.log
num-threads: 2
http1-request-timeout: %[2]d
http2-idle-timeout: %[2]d
http2-max-concurrent-requests-per-connection: %[3]d
access-log:
  path: %[1]s/access.log
  format: "%%{connection-id}x %%H %%s \"%%r\""
listen:
  host: 127.0.0.1
  port: %[4]d
listen:
  host: 127.0.0.1
  port: %[5]d
  ssl:
    certificate-file: %[6]s
    key-file: %[7]s
hosts:
  default:
    paths:
      /upload:
        proxy.reverse.url: http://%[8]s/upload
      /slow:
        proxy.reverse.url: http://%[8]s/slow
      /:
        file.dir: %[9]s
`

func startH2O(t *testing.T, e *env, bin, dir string, l limits) *instance {
	// Started as root, h2o serves as nobody, which writes its pid file.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 2)
	conf := filepath.Join(dir, "h2o.conf")
	writeFile(t, conf, fmt.Sprintf(h2oConf, dir, keepAliveTimeout, l.streams, ports[0], ports[1],
		e.certs.CertFile, e.certs.KeyFile, e.backend, e.www))
	startProc(t, "h2o", dir, ports, []string{filepath.Join(dir, "error.log")}, bin, "-c", conf)
	in := &instance{accessLog: filepath.Join(dir, "access.log")}
	in.h1, in.h2 = baseURLs(ports)
	return in
}
