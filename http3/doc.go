// Package http3 gives an httppool.Transport HTTP/3, with quic-go.
//
// It lives in a module of its own so that programs that do not use
// HTTP/3 do not download quic-go. Set a Dialer as Config.HTTP3.Dialer:
//
//	t := httppool.New(httppool.Config{
//		HTTP3: httppool.HTTP3Config{Dialer: &http3.Dialer{}},
//	})
//	defer t.Close()
//	client := t.Client()
//	resp, err := client.Get("https://example.com/")
//	// Over TCP; if its Alt-Svc header offers "h3", the Transport dials
//	// QUIC in the background and the next requests go over HTTP/3.
//
// The Transport does the rest, the same for every protocol: it learns from
// Alt-Svc response headers which origins offer HTTP/3, races QUIC against
// TCP when it dials, pools the HTTP/3 connections beside the origin's
// HTTP/1.1 and HTTP/2 ones under the same limits (IdleTimeout, MaxLifetime,
// MaxConnsPerHost and the others), counts them in Stats.HTTP3, and falls back
// to TCP when QUIC fails, marking HTTP/3 to the origin broken for a while.
// See httppool.HTTP3Config.
//
// Each connection has a UDP socket of its own, closed with it, as Chrome
// and Envoy do: a connection never outlives its socket and no socket
// outlives the pool's connections; each gets its own port, so a NAT
// mapping dropped or a firewall rule met affects one connection and
// connections to different origins cannot be linked by their port; and
// one busy connection's datagrams do not queue behind another's on a
// shared socket and its one reading goroutine. It costs a file descriptor
// and a goroutine per connection, and the pool keeps few: requests to an
// origin share its HTTP/3 connection.
//
// Requests run on quic-go's http3.ClientConn, on a quic.Conn that the
// Dialer dials itself.
package http3
