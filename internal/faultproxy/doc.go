// Package faultproxy is a TCP proxy for tests that breaks connections on
// purpose. It sits between an HTTP client and a server the test started,
// forwards bytes both ways, and follows the HTTP/1.1 responses in the
// server's byte stream so that a fault can strike at a precise point of a
// precise response: before its first byte, inside its header, inside its
// body, or after its last byte.
//
// A fault resets the connection (an RST, through SetLinger(0)), closes it
// (a FIN), stalls it (nothing more is forwarded to the client), or
// half-closes it (a FIN to the client while the client's bytes still reach
// the server). Latency and a bandwidth limit can be added to any connection.
//
// The proxy serves clients on a loopback TCP port (Listen) or in memory
// (DialContext, for a Config.DialContext), and reaches its server over TCP
// or through an in-memory PipeListener, so that tests can run inside a
// testing/synctest bubble. It records, for every connection, how many
// responses it carried and whether the client sent anything after the fault,
// which tells a test whether a broken connection was reused.
package faultproxy
