//go:build interop

package interop

import (
	"fmt"
	"path/filepath"
	"testing"
)

// nginx: keepalive_requests limits HTTP/1.1 keep-alive requests and, since
// 1.19.7, the streams of an HTTP/2 connection (then it sends GOAWAY);
// http2_max_concurrent_streams limits concurrent streams.
var nginx = flavor{
	name: "nginx", bin: "nginx", pkg: "nginx",
	h1Limit: true, h2Limit: true,
	start: startNginx,
}

const nginxConf = `
user root root;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
	log_format conn '$connection $server_protocol $status "$request"';
	access_log %[1]s/access.log conn;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	default_type application/octet-stream;
	keepalive_timeout %[2]ds;
	keepalive_requests %[3]d;
	http2_max_concurrent_streams %[4]d;
	client_max_body_size 64m;
	server {
		listen 127.0.0.1:%[5]d;
		listen 127.0.0.1:%[6]d ssl http2;
		ssl_certificate %[7]s;
		ssl_certificate_key %[8]s;
		root %[9]s;
		location /upload { proxy_pass http://%[10]s; }
		location /slow { proxy_pass http://%[10]s; }
		location /refuse { return 403; }
	}
}
`

func startNginx(t *testing.T, e *env, bin, dir string, l limits) *instance {
	ports := freePorts(t, 2)
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, fmt.Sprintf(nginxConf, dir, keepAliveTimeout, l.requests, l.streams,
		ports[0], ports[1], e.certs.CertFile, e.certs.KeyFile, e.www, e.backend))
	errorLog := filepath.Join(dir, "error.log")
	startProc(t, "nginx", dir, ports, []string{errorLog}, bin, "-p", dir, "-e", errorLog, "-c", conf, "-g", "daemon off;")
	in := &instance{accessLog: filepath.Join(dir, "access.log")}
	in.h1, in.h2 = baseURLs(ports)
	return in
}
