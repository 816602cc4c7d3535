//go:build interop

package interop

import "testing"

func TestNginx(t *testing.T)  { runFlavor(t, nginx) }
func TestApache(t *testing.T) { runFlavor(t, apache) }
func TestH2O(t *testing.T)    { runFlavor(t, h2o) }

// runFlavor starts two servers of flavor f, one out of the way of the
// scenarios (roomy) and one with tight request and stream limits, and runs
// every scenario against them over HTTP/1.1 and HTTPS with HTTP/2.
func runFlavor(t *testing.T, f flavor) {
	bin := lookBin(t, f.bin, f.pkg)
	e := newEnv(t)
	main := e.startInstance(t, f, bin, "roomy", roomy)
	limited := e.startInstance(t, f, bin, "tight", tight)
	for _, proto := range []string{"h1", "h2"} {
		s := scenario{t: t, e: e, f: f, proto: proto}
		t.Run(proto, func(t *testing.T) {
			s.t = t
			t.Run("reuse", func(t *testing.T) { s.with(t).reuse(main) })
			t.Run("request-limit", func(t *testing.T) { s.with(t).requestLimit(limited) })
			t.Run("keep-alive-timeout", func(t *testing.T) { s.with(t).keepAliveTimeout(main) })
			t.Run("idle-learning", func(t *testing.T) { s.with(t).idleLearning(main) })
			if proto == "h2" {
				t.Run("concurrency", func(t *testing.T) { s.with(t).concurrency(main, false) })
				t.Run("stream-limit", func(t *testing.T) { s.with(t).concurrency(limited, true) })
			}
			t.Run("bodies", func(t *testing.T) { s.with(t).bodies(main) })
		})
	}
}
