package camel

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets of this file read their declarations and configs from
// text, so that the seeds in testdata/fuzz read as what they test:
//
//	declaration: a first line "KIND|DIRECTION", then a line per parameter,
//	  "NAME|TYPE|FLAGS|DEFAULT|ALIAS,ALIAS" (FLAGS: r required, s secret;
//	  DEFAULT empty for none, otherwise a value as below)
//	config: a line per entry, "KEY=VALUE"; a KEY "#N" is the N-th name
//	  the declaration declares (aliases included), so that the fuzzer
//	  finds them
//	value: a type letter and its text: s string, i int, I int64, f
//	  float64, b bool (b1 is true), n nil, l a list of a string, d a dict
//	  of a string, S a huge string (SCOUNT:TEXT, TEXT repeated COUNT
//	  times, at most 1 MiB); a number that does not parse is a string

// maxHuge bounds a huge string of the fuzz inputs.
const maxHuge = 1 << 20

// fuzzValue decodes a value of a fuzz input.
func fuzzValue(s string) any {
	if s == "" {
		return ""
	}
	text := s[1:]
	switch s[0] {
	case 'i':
		if n, err := strconv.Atoi(text); err == nil {
			return n
		}
	case 'I':
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	case 'f':
		if x, err := strconv.ParseFloat(text, 64); err == nil {
			return x
		}
	case 'b':
		return text == "1"
	case 'n':
		return nil
	case 'l':
		return []any{text}
	case 'd':
		return map[string]any{"k": text}
	case 'S':
		count, rest, ok := strings.Cut(text, ":")
		n, err := strconv.Atoi(count)
		if ok && err == nil && n > 0 && rest != "" {
			return strings.Repeat(rest, min(n, maxHuge/len(rest)))
		}
	}
	return text
}

// fuzzKind decodes a declaration.
func fuzzKind(decl string) Kind {
	lines := strings.Split(decl, "\n")
	name, dir, _ := strings.Cut(lines[0], "|")
	k := Kind{Name: name, Direction: Direction(dir)}
	for _, line := range lines[1:] {
		f := strings.SplitN(line, "|", 5)
		for len(f) < 5 {
			f = append(f, "")
		}
		p := Param{Name: f[0], Type: Type(f[1]), Required: strings.Contains(f[2], "r"), Secret: strings.Contains(f[2], "s")}
		if f[3] != "" {
			p.Default = fuzzValue(f[3])
		}
		if f[4] != "" {
			p.Aliases = strings.Split(f[4], ",")
		}
		k.Params = append(k.Params, p)
	}
	return k
}

// fuzzConfig decodes a config for k.
func fuzzConfig(k Kind, config string) map[string]any {
	var declared []string
	for _, p := range k.Params {
		declared = append(declared, p.Name)
		declared = append(declared, p.Aliases...)
	}
	out := map[string]any{}
	for _, line := range strings.Split(config, "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(key, "#")); err == nil && strings.HasPrefix(key, "#") && n >= 0 && n < len(declared) {
			key = declared[n]
		}
		out[key] = fuzzValue(value)
	}
	return out
}

// FuzzValidate declares a kind and validates a config for it, both from
// the fuzz input: Check and Validate never panic; an error names the kind
// and a parameter and never shows a value; a config that validates comes
// back normalized, and validates again to itself.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, decl, config string) {
		k := fuzzKind(decl)
		if err := k.Check(); err != nil {
			if k.Name != "" && kindNameError(k.Name) == "" {
				require.True(t, strings.HasPrefix(err.Error(), k.Name+": "), "a declaration's error names its kind: %v", err)
			}
			return
		}
		_ = KindMarkdown(k)
		cfg := fuzzConfig(k, config)
		out, err := k.Validate(cfg)
		if err != nil {
			requireNamesAParameter(t, k, cfg, err)
			return
		}
		requireNormalized(t, k, out)
		again, err := k.Validate(out)
		require.NoError(t, err, "a normalized config validates again")
		require.True(t, sameConfig(out, again), "validating a normalized config changes it: %v, then %v", out, again)

		// Through a catalog: the same result, an unknown kind suggests
		// this one or none, the other direction is refused.
		c, err := NewCatalog(k)
		require.NoError(t, err)
		viaCatalog, err := c.Validate(k.Name, k.Direction, cfg)
		require.NoError(t, err)
		require.True(t, sameConfig(out, viaCatalog))
		other := Source
		if k.Direction == Source {
			other = Sink
		}
		_, err = c.Validate(k.Name, other, cfg)
		require.EqualError(t, err, k.Name+" is a "+string(k.Direction)+", not a "+string(other))
		_, err = c.Validate(k.Name+"x", k.Direction, cfg)
		var u *UnknownKindError
		require.ErrorAs(t, err, &u)
		require.Contains(t, []string{"", k.Name}, u.Suggestion)
	})
}

// requireNamesAParameter checks a validation error: it starts with the
// kind, then quotes at least one name, and everything it quotes is a name
// the config or the declaration has, never a value.
func requireNamesAParameter(t *testing.T, k Kind, cfg map[string]any, err error) {
	t.Helper()
	msg, ok := strings.CutPrefix(err.Error(), k.Name+": ")
	require.True(t, ok, "the error names the kind: %v", err)
	names := map[string]bool{}
	for key := range cfg {
		names[key] = true
	}
	for _, p := range k.Params {
		names[p.Name] = true
		for _, a := range p.Aliases {
			names[a] = true
		}
	}
	quoted := quotedIn(t, msg)
	require.NotEmpty(t, quoted, "the error names a parameter: %v", err)
	for _, q := range quoted {
		require.True(t, names[q] || isPrefixOfAName(q, names), "the error quotes %q, which is no parameter's name: %v", q, err)
	}
	require.Less(t, len(err.Error()), 1024, "a huge name is cut short: %.200s", err)
}

// isPrefixOfAName reports whether q is the first maxQuoted bytes (or
// fewer, cut on a character boundary) of one of names: a long name is
// quoted cut short.
func isPrefixOfAName(q string, names map[string]bool) bool {
	if len(q) > maxQuoted {
		return false
	}
	for n := range names {
		if len(n) > maxQuoted && strings.HasPrefix(n, q) {
			return true
		}
	}
	return false
}

// quotedIn returns the strings msg quotes (as %q does), unquoted.
func quotedIn(t *testing.T, msg string) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(msg); i++ {
		if msg[i] != '"' {
			continue
		}
		q, err := strconv.QuotedPrefix(msg[i:])
		require.NoError(t, err, "an unbalanced quote in %s", msg)
		s, err := strconv.Unquote(q)
		require.NoError(t, err)
		out = append(out, s)
		i += len(q) - 1
	}
	return out
}

// requireNormalized checks a validated config: canonical names only, each
// with its declared type's Go type, and every parameter that a config may
// not leave out.
func requireNormalized(t *testing.T, k Kind, out map[string]any) {
	t.Helper()
	for _, p := range k.Params {
		v, ok := out[p.Name]
		if !ok {
			require.True(t, p.Optional(), "required parameter %q is missing", p.Name)
			continue
		}
		var want reflect.Kind
		switch p.Type {
		case String:
			want = reflect.String
		case Integer:
			want = reflect.Int64
		case Number:
			want = reflect.Float64
		case Boolean:
			want = reflect.Bool
		}
		require.Equal(t, want, reflect.TypeOf(v).Kind(), "parameter %q", p.Name)
	}
	require.LessOrEqual(t, len(out), len(k.Params), "only declared names")
}

// sameConfig compares normalized configs, a NaN equal to itself.
func sameConfig(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		x, xf := v.(float64)
		y, yf := w.(float64)
		if xf && yf && math.IsNaN(x) && math.IsNaN(y) {
			continue
		}
		if v != w {
			return false
		}
	}
	return true
}

// FuzzEncode encodes Go values as a sink receives them: a string or
// []byte body arrives unchanged with its content type; anything else is
// JSON or an error, never a panic.
func FuzzEncode(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, asBytes bool) {
		var v any = value
		want := "text/plain"
		if asBytes {
			v, want = []byte(value), "application/octet-stream"
		}
		ev, err := Encode(v)
		require.NoError(t, err)
		require.Equal(t, value, string(ev.Body))
		require.Equal(t, want, ev.ContentType)
		again, err := Encode(ev)
		require.NoError(t, err)
		require.Equal(t, ev, again, "an Event encodes as itself")

		decoded := fuzzValue(value)
		ev, err = Encode(decoded)
		if err != nil {
			require.Contains(t, err.Error(), "cannot send a", "the error says what cannot be sent")
			return
		}
		if _, isString := decoded.(string); !isString {
			require.Equal(t, "application/json", ev.ContentType)
		}
	})
}
