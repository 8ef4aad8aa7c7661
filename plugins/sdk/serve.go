package sdk

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/rayvens/rayvens/plugins/internal/wire"
)

// Serve serves the plugin p to the rayvens host that started this process,
// and returns when the host stops it. It is the whole of a plugin's main:
// it must be called before anything is written to stdout, which carries
// the go-plugin handshake.
//
// Run by hand rather than by rayvens, it says what it is on stderr and
// exits with status 1. A mistake in p (a kind without a name or a New
// function, a kind declared twice, a default of the wrong type) is
// reported the same way.
func Serve(p Plugin) {
	// go-plugin points os.Stderr at its stdio stream once it serves; logs
	// go to the real stderr, which the host reads line by line.
	stderr := os.Stderr
	srv, err := newServer(p, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		os.Exit(1)
	}
	if os.Getenv(wire.Handshake.MagicCookieKey) != wire.Handshake.MagicCookieValue {
		fmt.Fprintf(stderr, "this is a Rayvens plugin (%s) serving kinds %s; it is started by rayvens, not by hand\n",
			p.Name, strings.Join(p.kindNames(), ", "))
		os.Exit(1)
	}
	life, err := lifelineFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "rayvens plugin %s: %v\n", p.Name, err)
		os.Exit(1)
	}
	stopProfiling := sync.OnceFunc(startProfiling(p.Name, stderr))
	defer stopProfiling()
	if life != nil {
		life.exitWithHost(stopProfiling)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         wire.Plugins(srv),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts, wire.ServerOptions()...))
		},
		// go-plugin logs every step at trace level by default; only its
		// problems are worth the host's attention.
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Warn,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
}
