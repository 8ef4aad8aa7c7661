package mqtt

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/stretchr/testify/require"

	"github.com/rayvens/rayvens/plugins/connectors/internal/testpeer"
)

// The brokers the tests run against: mochi-mqtt in the test's process,
// and Debian's mosquitto as a process of its own.

// credentials, when given to a broker, are the only ones it accepts; the
// user may not use the topic denied.
type credentials struct{ username, password, denied string }

// broker is a running broker.
type broker struct {
	url string // tcp://127.0.0.1:PORT
	// kill stops the broker at once; start starts it again on the same
	// port (with the same persistence).
	kill, start func(t testing.TB)
	// gone reports whether the broker has seen every connection of the
	// client id end, so that a new one does not take over a connection
	// whose last packets the broker has not read yet.
	gone func(clientID string) bool
	// persistent says whether sessions and queued messages survive a
	// restart (mosquitto's persistence file; mochi keeps them in memory).
	persistent bool
}

// restart kills the broker and starts it again.
func (b *broker) restart(t testing.TB) {
	b.kill(t)
	b.start(t)
}

// peer starts a kind of broker.
type peer struct {
	name  string
	start func(t testing.TB, creds *credentials) *broker
}

var peers = []peer{{"mochi", startMochi}, {"mosquitto", startMosquitto}}

// eachPeer runs test once per kind of broker.
func eachPeer(t *testing.T, test func(t *testing.T, p peer)) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) { test(t, p) })
	}
}

func startMochi(t testing.TB, creds *credentials) *broker { return mochiWith(t, creds) }

// mochiWith starts mochi with hooks of the test's besides its auth.
func mochiWith(t testing.TB, creds *credentials, hooks ...mochi.Hook) *broker {
	addr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	var srv *mochi.Server
	running := false
	stop := func(t testing.TB) {
		if running {
			running = false
			require.NoError(t, srv.Close())
		}
	}
	start := func(t testing.TB) {
		srv = mochi.New(&mochi.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if creds == nil {
			require.NoError(t, srv.AddHook(new(auth.AllowHook), nil))
		} else {
			ledger := &auth.Ledger{
				Auth: auth.AuthRules{{Username: auth.RString(creds.username), Password: auth.RString(creds.password), Allow: true}},
				ACL:  auth.ACLRules{{Username: auth.RString(creds.username), Filters: auth.Filters{auth.RString(creds.denied): auth.Deny}}},
			}
			require.NoError(t, srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger}))
		}
		for _, h := range hooks {
			require.NoError(t, srv.AddHook(h, nil))
		}
		require.NoError(t, srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})))
		require.NoError(t, srv.Serve())
		running = true
	}
	start(t)
	t.Cleanup(func() { stop(t) })
	return &broker{
		url: "tcp://" + addr,
		gone: func(id string) bool {
			cl, ok := srv.Clients.Get(id)
			return !ok || cl.Closed()
		},
		kill:  stop,
		start: start,
	}
}

func startMosquitto(t testing.TB, creds *credentials) *broker {
	bin := testpeer.Binary(t, "mosquitto", "mosquitto")
	dir := t.TempDir()
	port := testpeer.FreePort(t)
	conf := fmt.Sprintf("listener %d 127.0.0.1\npersistence true\npersistence_location %s/\nautosave_interval 1\nautosave_on_changes true\nmax_queued_messages 100000\nlog_dest stderr\n", port, dir)
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it runs as the user mosquitto, who cannot write dir
	}
	if creds == nil {
		conf += "allow_anonymous true\n"
	} else {
		passwd := filepath.Join(dir, "passwd")
		out, err := exec.Command(testpeer.Binary(t, "mosquitto_passwd", "mosquitto"), "-b", "-c", passwd, creds.username, creds.password).CombinedOutput()
		require.NoError(t, err, "mosquitto_passwd: %s", out)
		acl := filepath.Join(dir, "acl")
		require.NoError(t, os.WriteFile(acl, []byte("user "+creds.username+"\ntopic readwrite #\ntopic deny "+creds.denied+"\n"), 0o600))
		conf += "allow_anonymous false\npassword_file " + passwd + "\nacl_file " + acl + "\n"
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o600))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := testpeer.Start(t, addr, exec.Command(bin, "-c", confPath))
	return &broker{
		url:   "tcp://" + addr,
		kill:  func(testing.TB) { srv.Kill() },
		start: func(t testing.TB) { srv = testpeer.Start(t, addr, exec.Command(bin, "-c", confPath)) },
		gone: func(id string) bool {
			out := srv.Output()
			ends := strings.Count(out, "Client "+id+" disconnected") + strings.Count(out, "Client "+id+" closed its connection")
			return ends >= strings.Count(out, " as "+id+" (")
		},
		persistent: true,
	}
}

// client is a plain paho client of the test's own, to publish and
// subscribe beside the connectors.
func client(t testing.TB, b *broker, creds *credentials) paho.Client {
	opts := paho.NewClientOptions().AddBroker(b.url).SetClientID(fmt.Sprintf("test-%d", time.Now().UnixNano())).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectTimeout(2 * time.Second)
	if creds != nil {
		opts.SetUsername(creds.username).SetPassword(creds.password)
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second), "connect")
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish publishes the messages with QoS 1, waiting for each PUBACK.
func publish(t testing.TB, c paho.Client, topic string, payloads ...string) {
	t.Helper()
	// A clean-session client that is reconnecting forgets what it is given.
	require.Eventually(t, c.IsConnectionOpen, 10*time.Second, 10*time.Millisecond, "the test's client is not connected")
	for _, p := range payloads {
		tok := c.Publish(topic, 1, false, p)
		require.True(t, tok.WaitTimeout(10*time.Second), "publish")
		require.NoError(t, tok.Error())
	}
}

// subscribe subscribes c to topic and returns what comes, as "topic: payload".
func subscribe(t testing.TB, c paho.Client, topic string) <-chan string {
	t.Helper()
	got := make(chan string, 10000)
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + ": " + string(m.Payload()) })
	require.True(t, tok.WaitTimeout(10*time.Second), "subscribe")
	require.NoError(t, tok.Error())
	return got
}
