package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// closeOnInterrupt closes c and exits should the harness get SIGINT or
// SIGTERM before release is called, so that an interrupted run still stops
// its external server and removes its directory. (Killed outright, the
// harness leaves that to the kernel's parent-death signal, and the
// directory behind.)
func closeOnInterrupt(c io.Closer) (release func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			c.Close()
			fmt.Fprintf(os.Stderr, "bench: %v: stopped\n", sig)
			os.Exit(1)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
