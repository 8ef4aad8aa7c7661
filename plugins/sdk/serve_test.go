package sdk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
)

// envServe makes the test binary serve servedPlugin instead of running
// tests, so that the tests below can start it as a real plugin process.
const envServe = "RAYVENS_SDK_TEST_SERVE"

// envChatty makes the served plugin write to its stderr all the time.
const envChatty = "RAYVENS_SDK_TEST_CHATTY"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) != "" {
		if os.Getenv(envChatty) != "" {
			chatter(os.Stdout, os.Stderr) // the real ones: Serve replaces them
		}
		Serve(servedPlugin())
		return
	}
	goleak.VerifyTestMain(m)
}

// chatter writes a line to stderr every millisecond, as a plugin that logs
// a lot does, for as long as the process lives. When a write fails (nobody
// reads stderr any more) it says so once on stdout, after the handshake.
func chatter(stdout, stderr io.Writer) {
	go func() {
		said := false
		for {
			_, err := fmt.Fprintln(stderr, `{"@level":"debug","@message":"chat"}`)
			if err != nil && !said {
				_, _ = fmt.Fprintln(stdout, "stderr is gone")
				said = true
			}
			time.Sleep(time.Millisecond)
		}
	}()
}

// servedPlugin is the plugin the test binary serves: test-source emits
// one event, test-sink logs when it opens.
func servedPlugin() Plugin {
	one := sourceFunc(func(ctx context.Context, emit Emit) error {
		return emit(ctx, Event{Body: []byte("hello"), ContentType: "text/plain"})
	})
	return testPlugin(one, func(_ Config, log *slog.Logger) (Sink, error) {
		log.Info("sink ready")
		return &recorder{}, nil
	})
}

// pluginCommand returns a command that runs the test binary as a plugin.
func pluginCommand(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	// The race detector otherwise waits a second before a process exits.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envServe+"=1", "GORACE="+race)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func TestServeRunByHand(t *testing.T) {
	cmd := pluginCommand(wire.Handshake.MagicCookieKey + "=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
	require.Empty(t, stdout.String())
	require.Equal(t, "this is a Rayvens plugin (test) serving kinds test-source, test-sink; "+
		"it is started by rayvens, not by hand\n", stderr.String())
}

func TestServeThroughGoPlugin(t *testing.T) {
	var stderr syncBuffer
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          wire.Plugins(nil),
		Cmd:              pluginCommand(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           &stderr,
	})
	defer client.Kill()
	rpc, err := client.Client()
	require.NoError(t, err)
	raw, err := rpc.Dispense(wire.PluginName)
	require.NoError(t, err)
	connector := raw.(proto.ConnectorClient)

	desc, err := connector.Describe(t.Context(), &proto.DescribeRequest{})
	require.NoError(t, err)
	require.Equal(t, "test", desc.GetPlugin())

	source := openSource(t, connector, t.Context(), 0)
	b := receiveBatch(t, source, 1)
	require.Equal(t, "hello", string(b.GetEvents()[0].GetBody()))
	ackBatch(t, source, 1, "")
	_, err = source.Recv()
	require.ErrorIs(t, err, io.EOF)

	// Instance logs reach the host on the plugin's stderr as JSON lines.
	sink, err := connector.Sink(t.Context())
	require.NoError(t, err)
	open := &proto.Open{Kind: "test-sink", Instance: "out", Config: structOf(t, map[string]any{"path": "p"})}
	require.NoError(t, sink.Send(&proto.SinkRequest{Msg: &proto.SinkRequest_Open{Open: open}}))
	require.NoError(t, sink.CloseSend())
	_, err = sink.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Eventually(t, func() bool {
		return strings.Contains(stderr.String(),
			`{"@level":"info","@message":"sink ready","kind":"test-sink","instance":"out"}`)
	}, 10*time.Second, time.Millisecond)

	client.Kill()
	require.True(t, client.Exited())
}

func TestServeExitsWhenTheHostGoes(t *testing.T) {
	closeLifeline := func(t *testing.T, _ *exec.Cmd, lifeline *os.File) {
		require.NoError(t, lifeline.Close())
	}
	for _, tc := range []struct {
		name   string
		chatty bool // the plugin keeps writing to a stderr nobody reads any more
		hostGo func(t *testing.T, cmd *exec.Cmd, lifeline *os.File)
	}{
		{name: "the lifeline closes", hostGo: closeLifeline},
		{name: "the parent-death signal", hostGo: func(t *testing.T, cmd *exec.Cmd, _ *os.File) {
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		}},
		{name: "a plugin that logs after its host is gone", chatty: true, hostGo: closeLifeline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Not t.TempDir(): a socket path must be short.
			base, err := os.MkdirTemp("", "sdk")
			require.NoError(t, err)
			defer os.RemoveAll(base)
			runDir := filepath.Join(base, "run")
			socketDir := filepath.Join(runDir, "plugin-1")
			require.NoError(t, os.MkdirAll(socketDir, 0o700))
			r, w, err := os.Pipe()
			require.NoError(t, err)
			defer w.Close()
			cmd := pluginCommand(
				wire.Handshake.MagicCookieKey+"="+wire.Handshake.MagicCookieValue,
				wire.EnvLifelineFD+"=3",
				wire.EnvRunDir+"="+runDir,
				wire.EnvSocketDir+"="+socketDir,
			)
			cmd.ExtraFiles = []*os.File{r}
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr io.ReadCloser
			if tc.chatty {
				cmd.Env = append(cmd.Env, envChatty+"=1")
				stderr, err = cmd.StderrPipe()
				require.NoError(t, err)
			}
			require.NoError(t, cmd.Start())
			require.NoError(t, r.Close())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			// The handshake line says the plugin serves on a socket in its
			// socket directory.
			out := bufio.NewReader(stdout)
			line, err := out.ReadString('\n')
			require.NoError(t, err)
			fields := strings.Split(strings.TrimSpace(line), "|")
			require.GreaterOrEqual(t, len(fields), 5, line)
			require.Equal(t, strconv.Itoa(int(wire.Handshake.ProtocolVersion)), fields[1])
			require.Equal(t, "unix", fields[2])
			require.Equal(t, socketDir, filepath.Dir(fields[3]))

			if stderr != nil {
				// The host reads the plugin's stderr, then dies; the plugin
				// goes on logging, which must not kill it before it cleans up.
				_, err := bufio.NewReader(stderr).ReadString('\n')
				require.NoError(t, err)
				require.NoError(t, stderr.Close())
				line, err := out.ReadString('\n')
				require.NoError(t, err, "the plugin died writing to its stderr")
				require.Equal(t, "stderr is gone\n", line)
			}
			tc.hostGo(t, cmd, w)
			select {
			case err := <-exited:
				require.NoError(t, err, "the plugin exits with status 0")
			case <-time.After(time.Second):
				require.NoError(t, cmd.Process.Kill())
				<-exited
				t.Fatal("the plugin did not exit within a second of its host")
			}
			require.NoDirExists(t, runDir)
		})
	}
}

func TestServeRefusesABadLifeline(t *testing.T) {
	cmd := pluginCommand(
		wire.Handshake.MagicCookieKey+"="+wire.Handshake.MagicCookieValue,
		wire.EnvLifelineFD+"=three",
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v: %s", err, out)
	require.Equal(t, 1, exit.ExitCode())
	require.Equal(t, "rayvens plugin test: RAYVENS_LIFELINE_FD=\"three\" is not a file descriptor\n", string(out))
}
