// Package faults holds httppool's fault-injection suite, in its tests: a
// Transport talks to a server through internal/faultproxy, which resets,
// closes, stalls, half-closes, slows down and throttles connections at
// chosen points of the responses. For each fault the suite checks that the
// caller gets a clear error within its deadline, that no goroutine leaks,
// that the pool's statistics stay consistent, that the broken connection is
// never reused and that the next requests succeed.
//
// Tests that depend on the kernel (an RST is not a FIN) run over loopback
// TCP; tests that depend on time run in a testing/synctest bubble over
// in-memory connections, so that their timeouts fire at once and exactly.
//
// A soak test, skipped unless -soak is given (or HTTPPOOL_SOAK=1 is set),
// runs a sustained mixed load against a server that randomly closes and
// resets connections and checks that memory and open connections stay flat.
package faults
