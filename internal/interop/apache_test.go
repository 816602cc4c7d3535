//go:build interop

package interop

import (
	"fmt"
	"path/filepath"
	"testing"
)

// Apache httpd with mpm_event: MaxKeepAliveRequests limits the keep-alive
// requests that follow a connection's first (so a connection serves one
// more) but not the streams of an HTTP/2 connection; H2MaxSessionStreams
// limits concurrent HTTP/2 streams. Apache 2.4 sends
// "Keep-Alive: timeout=N, max=M" to HTTP/1.0 keep-alive clients only; the
// roomy server announces its timeout to every client with mod_headers, as
// a front end often does, so that the pool's handling of the header meets
// a real server's timeout. Its modules are loaded explicitly; it serves as
// www-data.
var apache = flavor{
	name: "apache", bin: "apache2", pkg: "apache2",
	h1Limit: true, keepAliveHeader: true, limitPlusOne: true,
	start: startApache,
}

const apacheModules = "/usr/lib/apache2/modules"

const apacheConf = `
ServerRoot %[1]s
ServerName 127.0.0.1
DefaultRuntimeDir %[1]s/run
PidFile %[1]s/apache.pid
Mutex file:%[1]s/run default
ErrorLog %[1]s/error.log
LogLevel warn

LoadModule mpm_event_module %[2]s/mod_mpm_event.so
LoadModule authz_core_module %[2]s/mod_authz_core.so
LoadModule ssl_module %[2]s/mod_ssl.so
LoadModule socache_shmcb_module %[2]s/mod_socache_shmcb.so
LoadModule http2_module %[2]s/mod_http2.so
LoadModule proxy_module %[2]s/mod_proxy.so
LoadModule proxy_http_module %[2]s/mod_proxy_http.so
LoadModule headers_module %[2]s/mod_headers.so

User www-data
Group www-data

StartServers 2
ServerLimit 4
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 256
MaxConnectionsPerChild 0

KeepAlive On
KeepAliveTimeout %[3]d
MaxKeepAliveRequests %[4]d
H2MaxSessionStreams %[5]d

LogFormat "%%P-%%{remote}p %%H %%>s \"%%r\"" conn
CustomLog %[1]s/access.log conn

DocumentRoot %[6]s
<Directory %[6]s>
	Require all granted
</Directory>
ProxyPass /upload http://%[7]s/upload
ProxyPass /slow http://%[7]s/slow
<Location /refuse>
	Require all denied
</Location>
%[12]s

SSLSessionCache shmcb:%[1]s/run/ssl_scache(512000)
Listen 127.0.0.1:%[8]d
Listen 127.0.0.1:%[9]d
Protocols http/1.1
<VirtualHost 127.0.0.1:%[9]d>
	SSLEngine on
	SSLCertificateFile %[10]s
	SSLCertificateKeyFile %[11]s
	Protocols h2 http/1.1
</VirtualHost>
`

func startApache(t *testing.T, e *env, bin, dir string, l limits) *instance {
	ports := freePorts(t, 2)
	mkdirAll(t, filepath.Join(dir, "run"))
	conf := filepath.Join(dir, "apache2.conf")
	announce := ""
	if l == roomy {
		announce = fmt.Sprintf(`Header always set Keep-Alive "timeout=%d" "expr=%%{SERVER_PROTOCOL} == 'HTTP/1.1'"`, keepAliveTimeout)
	}
	writeFile(t, conf, fmt.Sprintf(apacheConf, dir, apacheModules, keepAliveTimeout, l.requests, l.streams,
		e.www, e.backend, ports[0], ports[1], e.certs.CertFile, e.certs.KeyFile, announce))
	startProc(t, "apache2", dir, ports, []string{filepath.Join(dir, "error.log")}, bin, "-f", conf, "-DFOREGROUND")
	in := &instance{accessLog: filepath.Join(dir, "access.log")}
	in.h1, in.h2 = baseURLs(ports)
	return in
}
