// Package wire holds what the plugin host and the plugin SDK must agree on
// beyond connector.proto: the go-plugin handshake, the plugin's registered
// name, the environment variables the host passes to a plugin process, and
// the logging format. Neither connector authors nor script authors see it.
package wire

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/rayvens/rayvens/plugins/proto"
)

// Handshake is checked by go-plugin before anything else: a process without
// the magic cookie refuses to run as a plugin, and a plugin built for
// another protocol version is refused by the host.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  proto.ProtocolVersion,
	MagicCookieKey:   "RAYVENS_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "8a1b7c0d-rayvens-connectors",
}

// MaxMessageSize is the largest gRPC message either side accepts: a batch
// is cut at MaxBatchBytes, but one event alone may be larger.
const MaxMessageSize = 64 << 20

// MaxBatchBytes is where a batch is cut, well below gRPC's default 4 MiB.
const MaxBatchBytes = 1 << 20

// PluginName is the name the connector service is registered under.
const PluginName = "connector"

// Environment variables set by the host for a plugin process.
const (
	// EnvLifelineFD names the file descriptor of the lifeline: the read end
	// of a pipe whose write end only the host holds. When it reads EOF, the
	// host is gone and the plugin must exit.
	EnvLifelineFD = "RAYVENS_LIFELINE_FD"
	// EnvRunDir is the host's private run directory; the plugin's socket
	// directory (go-plugin's PLUGIN_UNIX_SOCKET_DIR) is inside it. A plugin
	// that outlives its host removes its socket directory, and the run
	// directory when it is the last one out.
	EnvRunDir = "RAYVENS_RUN_DIR"
	// EnvSocketDir is go-plugin's variable for where the plugin puts its
	// socket.
	EnvSocketDir = "PLUGIN_UNIX_SOCKET_DIR"
)

// GRPCPlugin adapts the Connector service to go-plugin. On the plugin side
// Impl is set; on the host side GRPCClient returns a proto.ConnectorClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl proto.ConnectorServer
}

// GRPCServer registers the connector service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterConnectorServer(s, p.Impl)
	return nil
}

// GRPCClient returns the client of the connector service.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return proto.NewConnectorClient(c), nil
}

// Plugins is the plugin set both sides register.
func Plugins(server proto.ConnectorServer) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: server}}
}

// ServerOptions are the gRPC options of a plugin's server: the batches'
// codec, and the largest message it accepts.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ForceServerCodecV2(Codec{}), grpc.MaxRecvMsgSize(MaxMessageSize)}
}

// CallOptions are the gRPC options of the host's Source and Sink calls:
// the batches' codec.
func CallOptions() []grpc.CallOption {
	return []grpc.CallOption{grpc.ForceCodecV2(Codec{})}
}
