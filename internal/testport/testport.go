// Package testport gives tests a loopback TCP port to hand to a server
// that binds it later (a nats-server's route port, rayvens' embedded
// server). A port the kernel picks with "127.0.0.1:0" comes from the
// ephemeral range, where any outgoing connection of the test may take it
// before the server binds it; Free picks below that range instead, where
// only listeners that ask for a port by number go.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// low and high bound the ports Free picks: below Linux's default
// ephemeral range (32768-60999) and above the registered services most
// machines run.
const low, high = 20000, 32767

// Free returns a port of 127.0.0.1 that nothing listened on a moment ago
// and that no outgoing connection is given.
func Free(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := low + rand.IntN(high-low+1)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			t.Fatalf("testport: %v", err)
		}
		return port
	}
	t.Fatalf("testport: no free port in %d-%d after 100 tries", low, high)
	return 0
}
