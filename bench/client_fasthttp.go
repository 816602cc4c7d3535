package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
)

// fastIdleTimeout keeps fasthttp's idle connections for the whole benchmark;
// its default of 10 s would close them in the middle of the idle workload.
const fastIdleTimeout = 5 * time.Minute

// openFastHTTP returns a fasthttp.HostClient for one host, the tuned way to
// use fasthttp, or a fasthttp.Client for many hosts.
func openFastHTTP(w *workload, t *target, d *dialer) (client, error) {
	if w.proto.isH2() {
		return nil, notApplicable("n/a (no HTTP/2)")
	}
	if w.manyHosts {
		c := &fasthttp.Client{
			Dial:                d.dial,
			TLSConfig:           t.tls,
			MaxConnsPerHost:     w.concurrency,
			MaxIdleConnDuration: fastIdleTimeout,
		}
		return &fastClient{doer: c, closeFn: c.CloseIdleConnections}, nil
	}
	hc := &fasthttp.HostClient{
		Addr:                t.addrs[0],
		Dial:                d.dial,
		IsTLS:               t.scheme == "https",
		TLSConfig:           t.tls,
		MaxConns:            w.concurrency,
		MaxIdleConnDuration: fastIdleTimeout,
	}
	return &fastClient{doer: hc, closeFn: hc.CloseIdleConnections}, nil
}

// fastClient is a fasthttp.HostClient or fasthttp.Client.
type fastClient struct {
	doer interface {
		Do(*fasthttp.Request, *fasthttp.Response) error
	}
	closeFn func()
}

func (c *fastClient) close() { c.closeFn() }

func (c *fastClient) newWorker(w *workload, t *target) (worker, error) {
	fw := &fastWorker{doer: c.doer, uris: t.urls(w.path)}
	fw.req.Header.SetMethod(w.method)
	fw.req.SetRequestURI(fw.uris[0])
	if w.reqBody > 0 {
		fw.payload = bytes.Repeat([]byte("p"), w.reqBody)
	}
	return fw, nil
}

// fastWorker reuses one request and one response, as fasthttp intends; the
// response body is read whole into the response's buffer.
type fastWorker struct {
	doer interface {
		Do(*fasthttp.Request, *fasthttp.Response) error
	}
	uris    []string
	payload []byte
	req     fasthttp.Request
	resp    fasthttp.Response
}

func (fw *fastWorker) do(i int) error {
	if len(fw.uris) > 1 {
		fw.req.SetRequestURI(fw.uris[i%len(fw.uris)])
	}
	if fw.payload != nil {
		fw.req.SetBodyRaw(fw.payload)
	}
	if err := fw.doer.Do(&fw.req, &fw.resp); err != nil {
		return err
	}
	if code := fw.resp.StatusCode(); code != fasthttp.StatusOK {
		return fmt.Errorf("%s %s: status %d", fw.req.Header.Method(), fw.req.URI(), code)
	}
	return nil
}
