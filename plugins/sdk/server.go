package sdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk/internal/guard"
)

// server serves a Plugin's kinds over the connector protocol. Each Source or
// Sink call of the protocol is one instance, served by source_stream.go or
// sink_stream.go.
type server struct {
	proto.UnimplementedConnectorServer
	plugin  Plugin
	sources map[string]*SourceKind
	sinks   map[string]*SinkKind
	log     *slog.Logger // instances log through it, with their kind and name added
}

// newServer checks p and returns its server; instances log to logOut.
func newServer(p Plugin, logOut io.Writer) (*server, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	s := &server{
		plugin:  p,
		sources: map[string]*SourceKind{},
		sinks:   map[string]*SinkKind{},
		log:     slog.New(wire.NewLogHandler(logOut)),
	}
	for i := range p.Sources {
		s.sources[p.Sources[i].Name] = &p.Sources[i]
	}
	for i := range p.Sinks {
		s.sinks[p.Sinks[i].Name] = &p.Sinks[i]
	}
	return s, nil
}

// check reports the mistakes in a plugin's description that would otherwise
// only show when the host opens an instance, or never.
func (p Plugin) check() error {
	if p.Name == "" {
		return fmt.Errorf("the plugin has no name")
	}
	news := map[string]bool{}
	for _, k := range p.Sources {
		news[k.Name] = k.New != nil
	}
	for _, k := range p.Sinks {
		news[k.Name] = k.New != nil
	}
	if _, err := camel.NewCatalog(p.Kinds()...); err != nil {
		return fmt.Errorf("plugin %q: %w", p.Name, err)
	}
	for _, k := range p.Kinds() {
		switch {
		case !news[k.Name] && k.Rewrite == nil:
			return fmt.Errorf("plugin %q: kind %q has no New function", p.Name, k.Name)
		case news[k.Name] && k.Rewrite != nil:
			return fmt.Errorf("plugin %q: kind %q has both New and Rewrite: it is opened or it stands for another, not both", p.Name, k.Name)
		}
	}
	return nil
}

// kindNames lists the kinds the plugin serves, sources first.
func (p Plugin) kindNames() []string {
	var names []string
	for _, k := range p.Sources {
		names = append(names, k.Name)
	}
	for _, k := range p.Sinks {
		names = append(names, k.Name)
	}
	return names
}

// Describe lists the plugin's kinds.
func (s *server) Describe(context.Context, *proto.DescribeRequest) (*proto.DescribeResponse, error) {
	resp := &proto.DescribeResponse{Plugin: s.plugin.Name, Version: s.plugin.Version}
	for _, k := range s.plugin.Kinds() {
		pk, err := wire.KindToProto(k)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "%s: %v", k.Name, err)
		}
		resp.Kinds = append(resp.Kinds, pk)
	}
	return resp, nil
}

// receiveOpen reads the first message of an instance's stream, which must
// be an Open.
func receiveOpen[Req interface{ GetOpen() *proto.Open }](recv func() (Req, error)) (*proto.Open, error) {
	req, err := recv()
	if err != nil {
		return nil, err
	}
	open := req.GetOpen()
	if open == nil {
		return nil, status.Error(codes.InvalidArgument, "the first message of an instance must be an Open")
	}
	return open, nil
}

// newInstance validates an instance's config against its kind's
// parameters and creates the instance with New. Validation errors name the
// kind and the parameter, never a value.
func newInstance[T any](s *server, open *proto.Open, kind camel.Kind, newFn func(Config, *slog.Logger) (T, error)) (T, *slog.Logger, error) {
	var inst T
	if newFn == nil {
		// A Rewrite kind: the host opens the kind it stands for, unless
		// it is not the host's built-in plugin.
		return inst, nil, status.Errorf(codes.FailedPrecondition, "%s stands for another kind (Rewrite), which only the built-in plugin's host applies; it has no instances of its own", kind.Name)
	}
	values, err := kind.Validate(open.GetConfig().AsMap())
	if err != nil {
		return inst, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	log := s.log.With(wire.LogKindKey, kind.Name, wire.LogInstanceKey, open.GetInstance())
	err = guard.Call(log, "New", func() (err error) {
		inst, err = newFn(NewConfig(values).WithTaken(open.GetTaken()), log)
		return err
	})
	if err != nil {
		return inst, nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return inst, log, nil
}
