package http3_test

import (
	"fmt"
	"io"

	"github.com/httppool/httppool"
	"github.com/httppool/httppool/http3"
)

// A Transport with HTTP/3: the first request to an origin goes over TCP;
// when its response offers h3 through Alt-Svc, the next ones go over QUIC.
func ExampleDialer() {
	t := httppool.New(httppool.Config{
		HTTP3: httppool.HTTP3Config{Dialer: &http3.Dialer{}},
	})
	defer t.Close()
	client := t.Client()
	for range 2 {
		resp, err := client.Get("https://example.com/")
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Proto)
	}
	fmt.Println(t.Stats().HTTP3, "HTTP/3 connection")
}
