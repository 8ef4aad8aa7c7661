package sdk

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Excerpt returns what a peer said, such as the body of an HTTP answer, fit
// to quote in an error or a log line: on one line (line breaks, tabs and
// other control characters become spaces, runs of spaces one space),
// trimmed, valid UTF-8 (a byte that is not is shown as U+FFFD), and at
// most limit bytes: longer, it is cut between characters and "..." is
// added. It redacts nothing: a connector replaces its secrets in
// what it quotes (a peer may echo a token or a URL back).
func Excerpt(text []byte, limit int) string {
	var b strings.Builder
	space := false
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		text = text[size:]
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		add := utf8.RuneLen(r)
		if space {
			add++
		}
		if b.Len()+add > limit {
			return strings.TrimRight(b.String(), " ") + "..."
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RetryAfter reads an HTTP Retry-After header, a number of seconds or an
// HTTP date, as the wait it asks for (0 for a date that has passed). It
// reports false when the header is absent or unreadable.
func RetryAfter(header string) (time.Duration, bool) {
	if header == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(header); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(header); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}
