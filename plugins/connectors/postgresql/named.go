package postgresql

import (
	"fmt"
	"strconv"
	"strings"
)

// A query's named parameters are written as in Camel's sql component,
// :#name, and become PostgreSQL's positional ones, $1, $2, ..., the same
// name the same number. What is in a string literal ('...'), a quoted
// identifier ("...") or a comment (-- ..., /* ... */) is left alone, so
// ':#x' in a literal stays text.

// namedQuery is a query whose named parameters were made positional.
type namedQuery struct {
	sql   string   // the query with $1, $2, ...
	names []string // the name of each position
}

// parseNamed turns the named parameters of query into positional ones.
func parseNamed(query string) (namedQuery, error) {
	var b strings.Builder
	var q namedQuery
	position := map[string]int{}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := closing(query, i+1, c)
			b.WriteString(query[i:end])
			i = end
		case strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end
		case strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				b.WriteString(query[i:])
				i = len(query)
				break
			}
			b.WriteString(query[i : i+2+end+2])
			i += 2 + end + 2
		case strings.HasPrefix(query[i:], ":#"):
			j := i + 2
			for j < len(query) && isNameByte(query[j]) {
				j++
			}
			if j == i+2 {
				return namedQuery{}, fmt.Errorf(`":#" at byte %d is not followed by a parameter name (letters, digits, _)`, i)
			}
			name := query[i+2 : j]
			n, ok := position[name]
			if !ok {
				q.names = append(q.names, name)
				n = len(q.names)
				position[name] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	q.sql = b.String()
	return q, nil
}

// closing returns the index just past the quote that closes the literal or
// identifier opened before from ("" or ” inside stand for the quote).
func closing(s string, from int, quote byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == quote {
			if i+1 < len(s) && s[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
