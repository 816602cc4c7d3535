package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/httppool/httppool"
)

// httppool and net/http are both http.RoundTrippers and share this code, so
// that any difference measured is the transports'.

func openHTTPPool(w *workload, t *target, d *dialer) (client, error) {
	// The default Config negotiates HTTP/2 through ALPN where the server
	// offers it: only the h2 workloads' listeners do.
	cfg := httppool.Config{DialContext: d.DialContext, TLSClientConfig: t.tls}
	if w.proto.isH2() {
		// One connection, as with h2load -c 1: requests over the server's
		// MAX_CONCURRENT_STREAMS wait for a stream rather than dial.
		cfg.HTTP2.StrictMaxConcurrentRequests = true
		cfg.HTTP2.H2C = w.proto == protoH2C
	}
	tr := httppool.New(cfg)
	return &stdClient{rt: tr, closeFn: func() { tr.Close() }}, nil
}

func openNetHTTP(w *workload, t *target, d *dialer) (client, error) {
	tr := &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     t.tls,
		MaxIdleConnsPerHost: w.concurrency,
	}
	switch w.proto {
	case protoH2:
		// A custom dialer and TLS config turn HTTP/2 off unless forced.
		tr.ForceAttemptHTTP2 = true
	case protoH2C:
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	if w.proto.isH2() {
		// Otherwise net/http dials for every request that comes before the
		// first connection is up. It still dials again when every stream
		// of its connection is in use: HTTP2Config.StrictMaxConcurrentRequests
		// would stop that, but in Go 1.26 it stalls requests that outnumber
		// the server's streams until the server closes the connection, so
		// the report shows net/http's connections instead.
		tr.MaxConnsPerHost = 1
	}
	return &stdClient{rt: tr, closeFn: tr.CloseIdleConnections}, nil
}

// stdClient is a client built on an http.RoundTripper.
type stdClient struct {
	rt      http.RoundTripper
	closeFn func()
}

func (c *stdClient) close() { c.closeFn() }

func (c *stdClient) newWorker(w *workload, t *target) (worker, error) {
	sw := &stdWorker{rt: c.rt, buf: make([]byte, readBufferSize(w))}
	if w.proto.isH2() {
		sw.wantProtoMajor = 2
	} else {
		sw.wantProtoMajor = 1
	}
	if w.reqBody > 0 {
		sw.payload = bytes.Repeat([]byte("p"), w.reqBody)
		sw.getBody = func() (io.ReadCloser, error) {
			sw.body.Reset(sw.payload)
			return &sw.body, nil
		}
	}
	for _, u := range t.urls(w.path) {
		req, err := http.NewRequest(w.method, u, nil)
		if err != nil {
			return nil, err
		}
		if sw.payload != nil {
			req.ContentLength = int64(len(sw.payload))
			req.GetBody = sw.getBody
		}
		sw.reqs = append(sw.reqs, req)
	}
	return sw, nil
}

// readBufferSize is the buffer a worker reads bodies into: io.Copy's 32 KiB
// for large bodies, so that transports may read straight into it, and a
// small one otherwise, so that thousands of workers stay cheap.
func readBufferSize(w *workload) int {
	if w.respBody > 4<<10 {
		return 32 << 10
	}
	return 4 << 10
}

// stdWorker reuses one *http.Request per host and its body reader.
type stdWorker struct {
	rt             http.RoundTripper
	reqs           []*http.Request
	buf            []byte
	payload        []byte
	body           replayBody
	getBody        func() (io.ReadCloser, error)
	wantProtoMajor int
}

// replayBody is a request body that can be sent again without allocating.
type replayBody struct{ bytes.Reader }

func (*replayBody) Close() error { return nil }

func (sw *stdWorker) do(i int) error {
	req := sw.reqs[i%len(sw.reqs)]
	if sw.payload != nil {
		req.Body, _ = sw.getBody()
	}
	resp, err := sw.rt.RoundTrip(req)
	if err != nil {
		return err
	}
	for err == nil {
		_, err = resp.Body.Read(sw.buf)
	}
	resp.Body.Close()
	if err != io.EOF {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %s", req.Method, req.URL, resp.Status)
	}
	if resp.ProtoMajor != sw.wantProtoMajor {
		return fmt.Errorf("%s %s: answered in %s, want HTTP/%d", req.Method, req.URL, resp.Proto, sw.wantProtoMajor)
	}
	return nil
}
