package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// botServer is a Bot API server on loopback for the tests: getUpdates and
// sendMessage as https://core.telegram.org/bots/api describes them, with
// the same JSON shapes. It keeps a bot's updates until a getUpdates call
// gives an offset past them, as Telegram does, and keeps them and the
// messages sent across a stop and a start on the same address.
type botServer struct {
	t     testing.TB
	token string

	mu        sync.Mutex
	updates   []json.RawMessage // not confirmed yet, oldest first
	ids       []int64           // their update_ids
	nextID    int64
	confirmed int64    // the largest offset a getUpdates gave
	sent      []sent   // the messages sendMessage took
	calls     []string // "method" of each call, in order
	refuse    func(method string, params map[string]any) (status int, answer string, ok bool)
	changed   chan struct{} // closed, and replaced, when updates are added

	addr    string
	srv     *http.Server
	serving sync.WaitGroup // the Serve goroutine and the handlers
	closing chan struct{}  // closed by stop: long polls answer at once
}

// sent is one message sendMessage took.
type sent struct{ ChatID, Text, ParseMode string }

// newBotServer starts a Bot API server for the bot with token; it is
// stopped when the test ends.
func newBotServer(t testing.TB, token string) *botServer {
	b := &botServer{t: t, token: token, nextID: 500, changed: make(chan struct{}), addr: "127.0.0.1:0"}
	b.start()
	t.Cleanup(b.stop)
	return b
}

// url is the baseUri of the server.
func (b *botServer) url() string { return "http://" + b.addr }

// start serves on the server's address (a new one the first time).
func (b *botServer) start() {
	var ln net.Listener
	var err error
	require.Eventually(b.t, func() bool {
		ln, err = net.Listen("tcp", b.addr)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "listen on %s: %v", b.addr, err)
	b.addr = ln.Addr().String()
	b.closing = make(chan struct{})
	b.srv = &http.Server{Handler: http.HandlerFunc(b.handle)}
	b.serving.Go(func() {
		if err := b.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			b.t.Errorf("bot server: %v", err)
		}
	})
}

// stop closes the server and its connections, and waits for its handlers.
// Stopping a stopped server does nothing.
func (b *botServer) stop() {
	if b.srv == nil {
		return
	}
	close(b.closing)
	_ = b.srv.Close()
	b.serving.Wait()
	b.srv = nil
}

// say adds a message from a user in chat, as Telegram does when the user
// writes to the bot, and returns its update_id.
func (b *botServer) say(chat int64, text string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := b.nextID
	msg := map[string]any{
		"message_id": id,
		"from":       map[string]any{"id": 7, "is_bot": false, "first_name": "Ada"},
		"chat":       map[string]any{"id": chat, "type": "private", "first_name": "Ada"},
		"date":       1700000000,
		"text":       text,
	}
	raw, err := json.Marshal(map[string]any{"update_id": id, "message": msg})
	require.NoError(b.t, err)
	b.updates = append(b.updates, raw)
	b.ids = append(b.ids, id)
	close(b.changed)
	b.changed = make(chan struct{})
	return id
}

// offset returns the largest offset a getUpdates call gave.
func (b *botServer) offset() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.confirmed
}

// messages returns the messages sent so far.
func (b *botServer) messages() []sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sent(nil), b.sent...)
}

// count returns how many calls of method came.
func (b *botServer) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		if c == method {
			n++
		}
	}
	return n
}

// refuseWith makes the server answer calls as f says, when f's ok is true.
func (b *botServer) refuseWith(f func(method string, params map[string]any) (int, string, bool)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refuse = f
}

func (b *botServer) handle(w http.ResponseWriter, r *http.Request) {
	b.serving.Add(1)
	defer b.serving.Done()
	path, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(path, "/")
	if !ok || !ok2 || token != b.token {
		reply(w, http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	var params map[string]any
	if err := json.NewDecoder(r.Body).Decode(&params); err != nil {
		reply(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: invalid JSON"}`)
		return
	}
	b.mu.Lock()
	b.calls = append(b.calls, method)
	refuse := b.refuse
	b.mu.Unlock()
	if refuse != nil {
		if status, body, ok := refuse(method, params); ok {
			if status == 0 { // drop the connection without an answer
				conn, _, err := http.NewResponseController(w).Hijack()
				require.NoError(b.t, err)
				_ = conn.Close()
				return
			}
			reply(w, status, body)
			return
		}
	}
	switch method {
	case "getUpdates":
		b.getUpdates(w, r, params)
	case "sendMessage":
		b.sendMessage(w, params)
	default:
		reply(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

func (b *botServer) getUpdates(w http.ResponseWriter, r *http.Request, params map[string]any) {
	offset, _ := params["offset"].(float64)
	limit, _ := params["limit"].(float64)
	timeout, _ := params["timeout"].(float64)
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		if o := int64(offset); o > b.confirmed {
			b.confirmed = o
			for len(b.ids) > 0 && b.ids[0] < o {
				b.ids, b.updates = b.ids[1:], b.updates[1:]
			}
		}
		var result []json.RawMessage
		for i := range b.ids {
			if len(result) < int(limit) {
				result = append(result, b.updates[i])
			}
		}
		changed := b.changed
		b.mu.Unlock()
		if len(result) > 0 || timeout <= 0 {
			body, err := json.Marshal(map[string]any{"ok": true, "result": append([]json.RawMessage{}, result...)})
			require.NoError(b.t, err)
			reply(w, http.StatusOK, string(body))
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			timeout = 0
		case <-b.closing:
			panic(http.ErrAbortHandler) // the connection drops, unanswered, as when a server goes away
		case <-r.Context().Done():
			return
		}
	}
}

func (b *botServer) sendMessage(w http.ResponseWriter, params map[string]any) {
	chat := fmt.Sprint(params["chat_id"])
	text, _ := params["text"].(string)
	mode, _ := params["parse_mode"].(string)
	if text == "" {
		reply(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}`)
		return
	}
	b.mu.Lock()
	b.sent = append(b.sent, sent{ChatID: chat, Text: text, ParseMode: mode})
	id := len(b.sent)
	b.mu.Unlock()
	result := map[string]any{"message_id": id, "date": 1700000001, "text": text,
		"from": map[string]any{"id": 1, "is_bot": true, "first_name": "rayvens"},
		"chat": map[string]any{"id": chatNumber(chat), "type": "private"}}
	body, err := json.Marshal(map[string]any{"ok": true, "result": result})
	require.NoError(b.t, err)
	reply(w, http.StatusOK, string(body))
}

// chatNumber is chat as the number Telegram answers with, when it is one.
func chatNumber(chat string) any {
	if n, err := strconv.ParseInt(chat, 10, 64); err == nil {
		return n
	}
	return chat
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
