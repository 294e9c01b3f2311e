//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqldb

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestPeek checks what peek tells of a socket, on a loopback TCP pair: idle
// while nothing arrives, pending once the peer writes (nothing consumed),
// closed once the peer has closed and what it sent is read.
func TestPeek(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer server.Close()

	// waitFor polls peek until it tells want (the peer's bytes or close
	// take a moment to arrive) or a generous deadline passes.
	waitFor := func(want sockState) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := peek(c)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("peek = %v, want %v", got, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := peek(c); got != sockIdle {
		t.Fatalf("peek of a quiet connection = %v, want idle", got)
	}
	if _, err := server.Write([]byte("E")); err != nil {
		t.Fatal(err)
	}
	waitFor(sockPending)
	if got := peek(c); got != sockPending {
		t.Fatalf("second peek = %v: the first consumed the byte", got)
	}
	server.Close()
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 'E' {
		t.Fatalf("read %q, %v: want the byte peek left in place", b, err)
	}
	waitFor(sockClosed)
}
