package httppool

import (
	"encoding/binary"
	"net"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/http2"
)

// The ORIGIN frame (RFC 8336) lets a server say which origins a connection
// may serve. Before the first one arrives, any origin the rules of
// coalescing allow may share the connection; once one arrived, only the
// origins listed in ORIGIN frames, besides the one the connection was made
// for. The frame narrows coalescing; it never widens it: the certificate and
// DNS checks apply to listed origins too.

// frameOrigin is the ORIGIN frame's type.
const frameOrigin http2.FrameType = 0xc

// maxOrigins bounds the origins a connection remembers from ORIGIN frames;
// a server listing more has the rest ignored.
const maxOrigins = 1024

// originSet is a connection's Origin Set as ORIGIN frames built it.
type originSet struct {
	mu     sync.Mutex
	listed bool                // an ORIGIN frame arrived: only listed origins may share the connection
	addrs  map[string]struct{} // "host:port" of https origins, host in lower case
}

// allows reports whether an origin ("host:port") may share the connection
// as far as the server's ORIGIN frames say.
func (o *originSet) allows(addr string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.listed {
		return true
	}
	_, ok := o.addrs[addr]
	return ok
}

// add records the origins of an ORIGIN frame's payload and reports how
// many it had not listed before. Entries that are not https origins, or are
// malformed, are skipped; a payload cut short ends the list, as the frame
// is advisory and never fails the connection.
func (o *originSet) add(payload []byte) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.listed = true
	added := 0
	for len(payload) >= 2 {
		n := int(binary.BigEndian.Uint16(payload))
		if len(payload) < 2+n {
			break
		}
		addr, ok := originAddr(string(payload[2 : 2+n]))
		payload = payload[2+n:]
		if !ok {
			continue
		}
		if _, dup := o.addrs[addr]; dup || len(o.addrs) >= maxOrigins {
			continue
		}
		if o.addrs == nil {
			o.addrs = make(map[string]struct{})
		}
		o.addrs[addr] = struct{}{}
		added++
	}
	return added
}

// originAddr turns an https origin's ASCII serialization ("https://host" or
// "https://host:port") into the "host:port" of a pool key.
func originAddr(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// onOrigin handles an ORIGIN frame: on stream 0 it adds to the connection's
// Origin Set; elsewhere it is ignored, as RFC 8336 says. A frame that adds
// nothing counts against the flood budget, as other frames that do no work.
func (cc *h2Conn) onOrigin(f *http2.UnknownFrame) error {
	if f.StreamID != 0 || cc.origins.add(f.Payload()) == 0 {
		return cc.noteJunk()
	}
	return nil
}
