package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// telegramEcho is an echo bot: each message to it is answered, in its
// chat, through a slow operator.
const telegramEcho = `
base = argv[0]
inbox = Stream("inbox", source_config = dict(kind = "telegram-source", authorizationToken = "1:e2e", baseUri = base))

def answer(body):
    message = json.decode(body)
    sleep(0.002)
    return OutputEvent("re: " + message["text"], headers = {"CamelTelegramChatId": str(message["chat"]["id"])})

replies = Stream("replies", operator = answer,
    sink_config = dict(kind = "telegram-sink", authorizationToken = "1:e2e", baseUri = base))
inbox >> replies
`

// TestTelegramEchoSurvivesSIGKILL runs the echo bot through the real
// binary on a Bot API server with 300 messages waiting, SIGKILLs rayvens
// half way and starts it again: every message is answered (at least
// once: the duplicates are counted), and once the second run stops
// gracefully Telegram has had every update confirmed.
func TestTelegramEchoSurvivesSIGKILL(t *testing.T) {
	const n = 300
	bot := newEchoBot(t)
	for i := range n {
		bot.say(int64(100+i%3), fmt.Sprintf("m%d", i))
	}
	script := filepath.Join(t.TempDir(), "echo.star")
	require.NoError(t, os.WriteFile(script, []byte(telegramEcho), 0o644))

	run := func() (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(binary, "run", script, bot.srv.URL)
		stderr := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = stderr, stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, stderr
	}
	first, stderr := run()
	require.Eventually(t, func() bool { return bot.answered() >= n/3 }, 30*time.Second, 5*time.Millisecond, "rayvens: %s", stderr)
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()
	killedAt := bot.answered()
	require.Less(t, killedAt, n, "killed half way")

	second, stderr := run()
	require.Eventually(t, func() bool { return bot.distinct() == n }, 30*time.Second, 5*time.Millisecond, "rayvens: %s", stderr)
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitWithin(t, second, 15*time.Second), "rayvens: %s", stderr)

	replies, chats := bot.replies()
	for i := range n {
		text := fmt.Sprintf("re: m%d", i)
		require.NotZero(t, replies[text], "%s lost", text)
		require.Equal(t, fmt.Sprint(100+i%3), chats[text], "%s went to its chat", text)
	}
	t.Logf("%d messages, killed after %d answers; %d answers in all, so %d duplicates", n, killedAt, bot.answered(), bot.answered()-n)
	require.Equal(t, bot.lastID()+1, bot.offset(), "every update was confirmed once done")
}

// echoBot is the part of the Bot API the echo bot uses: getUpdates, with
// Telegram's offset semantics (an offset confirms every update before
// it), and sendMessage.
type echoBot struct {
	srv       *httptest.Server
	mu        sync.Mutex
	updates   []json.RawMessage // not confirmed, oldest first
	ids       []int64
	next      int64
	confirmed int64
	sent      []map[string]any
}

func newEchoBot(t *testing.T) *echoBot {
	b := &echoBot{next: 1000}
	b.srv = httptest.NewServer(http.HandlerFunc(b.handle))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *echoBot) say(chat int64, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	raw, _ := json.Marshal(map[string]any{"update_id": b.next, "message": map[string]any{
		"message_id": b.next, "date": 1700000000, "text": text,
		"chat": map[string]any{"id": chat, "type": "private"}}})
	b.updates, b.ids = append(b.updates, raw), append(b.ids, b.next)
}

func (b *echoBot) handle(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/bot1:e2e/") {
		http.Error(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var params map[string]any
	_ = json.NewDecoder(r.Body).Decode(&params)
	var result any
	switch strings.TrimPrefix(r.URL.Path, "/bot1:e2e/") {
	case "getUpdates":
		offset, _ := params["offset"].(float64)
		limit, _ := params["limit"].(float64)
		b.mu.Lock()
		if o := int64(offset); o > b.confirmed {
			b.confirmed = o
			for len(b.ids) > 0 && b.ids[0] < o {
				b.ids, b.updates = b.ids[1:], b.updates[1:]
			}
		}
		updates := append([]json.RawMessage{}, b.updates[:min(len(b.updates), int(limit))]...)
		b.mu.Unlock()
		if len(updates) == 0 && params["timeout"] != float64(0) {
			select { // a long poll, cut short: Telegram may answer early
			case <-r.Context().Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		result = updates
	case "sendMessage":
		b.mu.Lock()
		b.sent = append(b.sent, params)
		b.mu.Unlock()
		result = map[string]any{"message_id": 1, "date": 1700000001, "chat": map[string]any{"id": 1, "type": "private"}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func (b *echoBot) answered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sent)
}

// replies counts the answers by text, and says the chat of each.
func (b *echoBot) replies() (map[string]int, map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	count, chats := map[string]int{}, map[string]string{}
	for _, m := range b.sent {
		text := fmt.Sprint(m["text"])
		count[text]++
		chats[text] = fmt.Sprint(m["chat_id"])
	}
	return count, chats
}

func (b *echoBot) distinct() int {
	count, _ := b.replies()
	return len(count)
}

func (b *echoBot) offset() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.confirmed
}

func (b *echoBot) lastID() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.next
}
