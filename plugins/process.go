package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rayvens/rayvens/engine"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// process is one plugin executable and, once launched, its running process.
// Instances call connect to get a client (launching or relaunching the
// process as needed) and broken when their stream died with the process.
type process struct {
	h    *Host
	name string   // the plugin's name, for messages
	cmd  []string // executable and arguments

	mu       sync.Mutex
	client   *plugin.Client
	conn     proto.ConnectorClient
	health   grpc_health_v1.HealthClient // of the process go-plugin serves, for gone
	gen      int                         // incremented at each launch
	crashes  []time.Time                 // recent crashes, for the restart limit
	backoff  *backoff.ExponentialBackOff
	fatal    error
	launches int
	restarts int // crashes after which the process is started again
}

func newProcess(h *Host, name string, cmd []string) *process {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = h.opts.RestartBackoff
	b.MaxInterval = 5 * time.Second
	return &process{h: h, name: name, cmd: cmd, backoff: b}
}

// connect returns a client of the running process, launching it first if it
// is not running. gen identifies the process for broken.
func (p *process) connect(ctx context.Context) (proto.ConnectorClient, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fatal != nil {
		return nil, 0, p.fatal
	}
	if p.client != nil && !p.client.Exited() {
		return p.conn, p.gen, nil
	}
	if p.client != nil { // it died without an instance noticing yet
		p.crashedLocked()
		if p.fatal != nil {
			return nil, 0, p.fatal
		}
	}
	for {
		if len(p.crashes) > 0 {
			// A relaunch after a crash waits, so a plugin that dies at once
			// does not spin.
			if err := engine.Sleep(ctx, p.backoff.NextBackOff()); err != nil {
				return nil, 0, err
			}
		}
		err := p.launchLocked()
		if err == nil {
			return p.conn, p.gen, nil
		}
		if p.launches == 0 || errors.Is(err, errHostClosed) {
			return nil, 0, err // a plugin that never started is broken, not crashed
		}
		// A restart that died before its handshake is a crash like any
		// other, counted against the limit, and tried again.
		p.h.log.log(LevelWarn, "host", fmt.Sprintf("plugin %s: a restart failed", p.name), "error", err.Error())
		p.crashedLocked()
		if p.fatal != nil {
			return nil, 0, p.fatal
		}
	}
}

// pingTimeout bounds how long a process has to answer when gone asks.
const pingTimeout = 2 * time.Second

// gone reports whether err, which ended an instance's stream with the
// process of generation gen, means that the process went away (as opposed
// to the plugin reporting an error). EOF and an Unavailable status do. An
// Internal status may mean either: a connection cut in the middle of a
// message, or a live plugin that broke the protocol (it sent a message the
// host cannot decode, or could not encode one: a string that is not valid
// UTF-8). So the process is asked whether it still answers: a plugin that
// does would break the protocol again after a restart, and five of those
// would fail the host and every instance of the plugin with it.
func (p *process) gone(gen int, err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.Internal:
		return !p.answers(gen)
	}
	return false
}

// answers reports whether the process of generation gen is running and
// answers a health check.
func (p *process) answers(gen int) bool {
	p.mu.Lock()
	health := p.health
	running := gen == p.gen && p.client != nil && !p.client.Exited()
	p.mu.Unlock()
	if !running {
		return false
	}
	ctx, cancel := context.WithTimeout(p.h.ctx, pingTimeout)
	defer cancel()
	_, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return err == nil
}

// broken reports that the process of generation gen stopped answering. The
// first report for a generation counts a crash and kills what is left of it.
func (p *process) broken(gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen || p.client == nil {
		return
	}
	p.crashedLocked()
}

func (p *process) crashedLocked() {
	if p.client != nil {
		p.client.Kill()
	}
	p.client, p.conn, p.health = nil, nil, nil
	now := time.Now()
	recent := p.crashes[:0]
	for _, t := range p.crashes {
		if now.Sub(t) < p.h.opts.RestartWindow {
			recent = append(recent, t)
		}
	}
	p.crashes = append(recent, now)
	if len(p.crashes) > p.h.opts.MaxRestarts {
		p.fatal = fmt.Errorf("plugin %s (%s) stopped %d times within %s; giving up",
			p.name, p.cmd[0], len(p.crashes), p.h.opts.RestartWindow)
		p.h.fail(p.fatal)
		return
	}
	p.restarts++
	p.h.log.log(LevelWarn, "host", fmt.Sprintf("plugin %s stopped unexpectedly; restarting it", p.name),
		"restart", len(p.crashes), "of_at_most", p.h.opts.MaxRestarts)
}

// launchLocked starts the process and completes the go-plugin handshake.
func (p *process) launchLocked() error {
	if p.h.closed() {
		return errHostClosed
	}
	runDir, lifeline, err := p.h.runDirectory()
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.name, err)
	}
	sockets, err := os.MkdirTemp(runDir, "plugin-")
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.name, err)
	}
	cmd := exec.Command(p.cmd[0], p.cmd[1:]...)
	// The host's environment first, so that ours wins (the last value of a
	// variable counts).
	cmd.Env = append(os.Environ(),
		wire.EnvLifelineFD+"=3",
		wire.EnvRunDir+"="+runDir,
		wire.EnvSocketDir+"="+sockets,
	)
	cmd.ExtraFiles = []*os.File{lifeline}
	dieWithParent(cmd)
	// No AutoMTLS: the plugin is this process's child, and they talk over
	// a unix socket in a run directory only this user can enter (0700), so
	// TLS would keep out no one who could not read this process's memory
	// anyway; it would cost each launch two key pairs and a TLS handshake,
	// some 30-40 ms (measured: the handshake 5-11 ms without it, 33-48 ms
	// with it), about as much as the rest of a plugin's start.
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          wire.Plugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           &pluginLog{l: p.h.log, plugin: p.name},
		StartTimeout:     p.h.opts.StartTimeout,
		SkipHostEnv:      true, // cmd.Env has it already
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(wire.MaxMessageSize), grpc.MaxCallSendMsgSize(wire.MaxMessageSize))},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		_ = os.RemoveAll(sockets)
		return handshakeError(p.cmd[0], err)
	}
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		client.Kill()
		return fmt.Errorf("plugin %s: %w", p.cmd[0], err)
	}
	p.client, p.conn = client, raw.(proto.ConnectorClient)
	p.health = grpc_health_v1.NewHealthClient(rpc.(*plugin.GRPCClient).Conn)
	p.gen++
	p.launches++
	p.h.log.log(LevelDebug, "host", "plugin started", "plugin", p.name, "pid", cmd.Process.Pid)
	return nil
}

// handshakeError explains why a plugin could not be started, naming it.
func handshakeError(path string, err error) error {
	msg := err.Error()
	lower := strings.ToLower(msg)
	first := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(msg, "\n", 2)[0], "Unrecognized remote plugin message:"))
	var why string
	switch {
	case strings.Contains(lower, "unrecognized remote plugin message") && first != "":
		why = fmt.Sprintf("it wrote %q to stdout instead of the plugin handshake (a plugin must not write to stdout)", first)
	case strings.Contains(lower, "incompatible api version"):
		why = fmt.Sprintf("it speaks another protocol version (%s); rebuild it with this version of the rayvens SDK", strings.TrimSpace(first))
	case strings.Contains(lower, "unrecognized remote plugin message"),
		strings.Contains(lower, "exited before we could connect"), strings.Contains(lower, "plugin exited"):
		why = "it exited before completing the handshake (is it a Rayvens plugin built with plugins/sdk?)"
	case strings.Contains(msg, "timeout while waiting"):
		why = "it did not complete the handshake in time"
	case errors.Is(err, os.ErrNotExist), strings.Contains(msg, "no such file"):
		why = "no such file"
	case strings.Contains(msg, "permission denied"):
		why = "it is not executable"
	default:
		why = msg
	}
	return fmt.Errorf("plugin %s could not be started: %s", path, why)
}

// kill stops the process for good.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		p.client.Kill()
		p.client, p.conn, p.health = nil, nil, nil
	}
	if p.fatal == nil {
		p.fatal = errHostClosed
	}
}

var errHostClosed = errors.New("the plugin host is closed")

// isPluginBinary reports whether name follows the external plugin naming
// convention.
func isPluginBinary(path string) bool {
	return strings.HasPrefix(filepath.Base(path), "rayvens-plugin-")
}

// path is the executable, or "built-in" for the built-in connectors.
func (p *process) path() string {
	if p == p.h.builtin {
		return "built-in"
	}
	return p.cmd[0]
}
