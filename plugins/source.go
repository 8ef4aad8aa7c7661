package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/engine"
)

// SourceWindow is how many batches a source plugin may have in flight
// before it waits for the host's acknowledgements.
const SourceWindow = 4

// Source is one source instance in a plugin. It is an [engine.Source]
// whose events are [Event] values: stream.AddSource(src.Name(), src).
type Source struct {
	h      *Host
	proc   *process
	kind   string
	name   string
	config *structpb.Struct
	// taken counts the events emitted into the stream, across plugin
	// processes: a reopened instance is told it (Open.taken), so that a
	// count of events holds for the run, not for each process.
	taken atomic.Uint64
	// connected is true while a session with the plugin is open (the
	// instance opened in the process and not ended), for Connected.
	connected atomic.Bool
	// reads are the long reads the plugin reported in the open session,
	// for Reads: each session has its own, so that one lingering after it
	// ended (see linger) changes nothing.
	reads atomic.Pointer[readsInProgress]
}

// OpenSource validates config for a source kind and returns the instance,
// not yet started: Run starts it (launching the plugin if needed).
func (h *Host) OpenSource(ctx context.Context, kind, name string, config map[string]any) (*Source, error) {
	proc, kind, cfg, err := h.open(ctx, kind, camel.Source, config)
	if err != nil {
		return nil, err
	}
	return &Source{h: h, proc: proc, kind: kind, name: name, config: cfg}, nil
}

// Name returns the instance name.
func (s *Source) Name() string { return s.name }

// Kind returns the instance's connector kind.
func (s *Source) Kind() string { return s.kind }

// Connected reports whether the instance is open in a running plugin
// process: false before Run has reached the plugin, while a restarted
// process is reconnected, and once it ended.
func (s *Source) Connected() bool { return s.connected.Load() }

// Run streams events from the plugin into emit until ctx ends, the host
// closes or the source ends. Each event is emitted with its acknowledgement
// (engine.WithAck): the plugin learns of a batch's outcome only when every
// event of it is done end to end, so it may commit, delete or answer then.
// emit may block (backpressure), and the plugin stops after SourceWindow
// batches not yet done. If the plugin process dies, Run reconnects to a
// restarted one and reopens the instance, telling it how many events it
// took from the instance so far (sdk.Config's Taken).
func (s *Source) Run(ctx context.Context, emit func(context.Context, engine.Event) error) error {
	done, err := s.h.instances.add()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.h.ctx, cancel)()
	for {
		conn, gen, err := s.proc.connect(ctx)
		if err != nil {
			if ctx.Err() != nil || s.h.ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = s.session(ctx, conn, emit)
		switch {
		case err == nil || ctx.Err() != nil || s.h.ctx.Err() != nil:
			return nil // ended, stopped, or its host closed (the session's stream ends with the host)
		case s.proc.gone(gen, err):
			s.proc.broken(gen)
			continue
		default:
			return statusError(s.kind, err)
		}
	}
}

// statusError is the message of a gRPC status from the plugin, prefixed
// with the kind. An Internal status from a plugin that still answers
// (process.gone) is the protocol broken: gRPC's message says how, in its
// own words.
func statusError(kind string, err error) error {
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return err
	case st.Code() == codes.Internal:
		return kindError(kind, "the plugin broke the connector protocol: "+strings.TrimPrefix(st.Message(), "grpc: "))
	}
	return kindError(kind, st.Message())
}

// kindError is a plugin's message prefixed with the kind, unless the
// plugin named it already. (Reports name the stream and instance around it.)
func kindError(kind, msg string) error {
	if strings.HasPrefix(msg, kind+":") || strings.HasPrefix(msg, kind+" ") {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", kind, msg)
}

// recvError prefers the stream's real error over the send error that
// revealed it (gRPC reports the cause on Recv).
func recvError(recvErr, sendErr error) error {
	if recvErr != nil && !errors.Is(recvErr, io.EOF) {
		return recvErr
	}
	return sendErr
}
