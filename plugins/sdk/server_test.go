package sdk

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// serveConnector serves p on a real gRPC server over a loopback listener
// and returns a client of it and the buffer its instances log to.
func serveConnector(t *testing.T, p Plugin) (proto.ConnectorClient, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	srv, err := newServer(p, logs)
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(wire.ServerOptions()...)
	proto.RegisterConnectorServer(gs, srv)
	var wg sync.WaitGroup
	wg.Go(func() { _ = gs.Serve(lis) })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		wg.Wait()
	})
	return proto.NewConnectorClient(conn), logs
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sourceFunc is a Source made of its Run function.
type sourceFunc func(ctx context.Context, emit Emit) error

func (f sourceFunc) Run(ctx context.Context, emit Emit) error { return f(ctx, emit) }

// testPlugin serves "test-source", whose instances run run, and
// "test-sink", whose instances are made by newSink (or record what they get).
func testPlugin(run sourceFunc, newSink func(Config, *slog.Logger) (Sink, error)) Plugin {
	if newSink == nil {
		newSink = func(Config, *slog.Logger) (Sink, error) { return &recorder{}, nil }
	}
	return Plugin{
		Name:    "test",
		Version: "v0.1.0",
		Sources: []SourceKind{{
			Name:        "test-source",
			Description: "Emits what the test says.",
			Params: []Param{
				{Name: "period", Type: Integer, Default: 1000, Description: "milliseconds"},
				{Name: "label", Type: String, Aliases: []string{"tag"}},
			},
			New: func(Config, *slog.Logger) (Source, error) { return run, nil },
		}},
		Sinks: []SinkKind{{
			Name:   "test-sink",
			Params: []Param{{Name: "path", Type: String, Required: true}},
			New:    newSink,
		}},
	}
}

// structOf converts a config for the wire.
func structOf(t *testing.T, config map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(config)
	require.NoError(t, err)
	return s
}

// requireStatus checks that err is a gRPC status with code and message.
func requireStatus(t *testing.T, err error, code codes.Code, message string) {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok, "not a gRPC status: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Equal(t, message, st.Message())
}

func TestDescribe(t *testing.T) {
	client, _ := serveConnector(t, testPlugin(nil, nil))
	resp, err := client.Describe(t.Context(), &proto.DescribeRequest{})
	require.NoError(t, err)
	require.Equal(t, "test", resp.GetPlugin())
	require.Equal(t, "v0.1.0", resp.GetVersion())
	require.Len(t, resp.GetKinds(), 2)

	src := resp.GetKinds()[0]
	require.Equal(t, "test-source", src.GetName())
	require.Equal(t, proto.Direction_SOURCE, src.GetDirection())
	require.Equal(t, "Emits what the test says.", src.GetDescription())
	require.Len(t, src.GetParameters(), 2)
	period := src.GetParameters()[0]
	require.Equal(t, "period", period.GetName())
	require.Equal(t, "integer", period.GetType())
	require.Equal(t, 1000.0, period.GetDefault().GetNumberValue())
	require.Equal(t, []string{"tag"}, src.GetParameters()[1].GetAliases())
	require.Nil(t, src.GetParameters()[1].GetDefault())

	sink := resp.GetKinds()[1]
	require.Equal(t, "test-sink", sink.GetName())
	require.Equal(t, proto.Direction_SINK, sink.GetDirection())
	require.True(t, sink.GetParameters()[0].GetRequired())
}

func TestPluginMistakes(t *testing.T) {
	newSource := func(Config, *slog.Logger) (Source, error) { return nil, nil }
	for _, tc := range []struct {
		plugin Plugin
		err    string
	}{
		{Plugin{}, "the plugin has no name"},
		{Plugin{Name: "p", Sources: []SourceKind{{New: newSource}}}, `plugin "p": a kind has no name`},
		{Plugin{Name: "p", Sources: []SourceKind{{Name: "a-source"}}}, `plugin "p": kind "a-source" has no New function`},
		{
			Plugin{Name: "p", Sources: []SourceKind{{Name: "a-source", New: newSource, Rewrite: func(map[string]any) (string, map[string]string, error) { return "", nil, nil }}}},
			`plugin "p": kind "a-source" has both New and Rewrite: it is opened or it stands for another, not both`,
		},
		{
			Plugin{Name: "p", Sources: []SourceKind{{Name: "a", New: newSource}, {Name: "a", New: newSource}}},
			`plugin "p": kind "a" is declared twice`,
		},
		{
			Plugin{Name: "p", Sources: []SourceKind{{Name: "a-source", New: newSource, Params: []Param{
				{Name: "period", Type: Integer, Default: "soon"},
			}}}},
			`plugin "p": a-source: default of parameter "period" must be an integer, got string`,
		},
		{
			Plugin{Name: "p", Sources: []SourceKind{{Name: "a-source", New: newSource, Params: []Param{
				{Name: "webhookUrl", Type: String}, {Name: "url", Type: String, Aliases: []string{"webhookUrl"}},
			}}}},
			`plugin "p": a-source: parameter name "webhookUrl" is declared twice`,
		},
	} {
		_, err := newServer(tc.plugin, &syncBuffer{})
		require.EqualError(t, err, tc.err)
	}
}

func TestOpenErrors(t *testing.T) {
	failing := testPlugin(nil, func(Config, *slog.Logger) (Sink, error) {
		return nil, errors.New("cannot open the file")
	})
	failing.Sources = append(failing.Sources, SourceKind{Name: "alias-source", Rewrite: func(map[string]any) (string, map[string]string, error) {
		return "test-source", nil, nil
	}})
	client, _ := serveConnector(t, failing)

	openSource := func(open *proto.Open) error {
		stream, err := client.Source(t.Context())
		require.NoError(t, err)
		require.NoError(t, stream.Send(&proto.SourceRequest{Msg: &proto.SourceRequest_Open{Open: open}}))
		_, err = stream.Recv()
		return err
	}
	openSink := func(open *proto.Open) error {
		stream, err := client.Sink(t.Context())
		require.NoError(t, err)
		require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}))
		_, err = stream.Recv()
		return err
	}

	err := openSource(&proto.Open{Kind: "test-source", Config: structOf(t, map[string]any{"period": "fast"})})
	requireStatus(t, err, codes.InvalidArgument, `test-source: parameter "period" must be an integer, got string`)
	err = openSource(&proto.Open{Kind: "test-source", Config: structOf(t, map[string]any{"perod": 5})})
	requireStatus(t, err, codes.InvalidArgument, `test-source: unknown parameter "perod" (did you mean "period"?)`)
	err = openSource(&proto.Open{Kind: "test-sink"})
	requireStatus(t, err, codes.NotFound, `plugin "test" has no source kind "test-sink"`)
	// A kind that stands for another is rewritten by the built-in plugin's
	// host; a host that asks a plugin to open one learns why it cannot.
	err = openSource(&proto.Open{Kind: "alias-source"})
	requireStatus(t, err, codes.FailedPrecondition, `alias-source stands for another kind (Rewrite), which only the built-in plugin's host applies; it has no instances of its own`)

	err = openSink(&proto.Open{Kind: "test-sink", Instance: "out"})
	requireStatus(t, err, codes.InvalidArgument, `test-sink: missing required parameter "path"`)
	err = openSink(&proto.Open{Kind: "test-sink", Config: structOf(t, map[string]any{"path": "/tmp/x"})})
	requireStatus(t, err, codes.FailedPrecondition, "cannot open the file")
	err = openSink(&proto.Open{Kind: "test-source"})
	requireStatus(t, err, codes.NotFound, `plugin "test" has no sink kind "test-source"`)

	stream, err := client.Sink(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Batch{Batch: &proto.Batch{Seq: 1}}}))
	_, err = stream.Recv()
	requireStatus(t, err, codes.InvalidArgument, "the first message of an instance must be an Open")
}
