package faults_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when any test leaves a goroutine behind: the
// Transport's, the proxy's or the servers'.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
