package camel

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validate checks config against the parameters ps of kind and returns it
// normalized: aliases replaced by canonical names, defaults filled in,
// values converted to string, int64, float64 or bool. Errors name the kind
// and the parameter and never include a value (it may be a secret).
func validate(kind string, ps []Param, config map[string]any) (map[string]any, error) {
	byName := map[string]*Param{}
	for i := range ps {
		byName[ps[i].Name] = &ps[i]
		for _, a := range ps[i].Aliases {
			byName[a] = &ps[i]
		}
	}
	out := map[string]any{}
	given := map[string]string{} // canonical name -> name used
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := byName[k]
		if p == nil {
			msg := fmt.Sprintf("%s: unknown parameter %s", kind, quote(k))
			if s := suggest(k, ps); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", quote(s))
			}
			return nil, errors.New(msg)
		}
		if prev, dup := given[p.Name]; dup {
			return nil, fmt.Errorf("%s: parameter %s given twice (as %s and %s)", kind, quote(p.Name), quote(prev), quote(k))
		}
		given[p.Name] = k
		v, err := convert(p.Type, config[k])
		if err == nil && p.Check != nil {
			err = p.Check(v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: parameter %s %w", kind, quote(k), err)
		}
		out[p.Name] = v
	}
	for _, p := range ps {
		if _, ok := out[p.Name]; ok {
			continue
		}
		// A required parameter with a default (as some Kamelets declare)
		// takes the default.
		if !p.Optional() {
			return nil, fmt.Errorf("%s: missing required parameter %s", kind, quote(p.Name))
		}
		if p.Default != nil {
			v, err := convert(p.Type, p.Default)
			if err != nil {
				return nil, fmt.Errorf("%s: default of parameter %s %w", kind, quote(p.Name), err)
			}
			out[p.Name] = v
		}
	}
	return out, nil
}

// convert checks that v has type t and returns it in its canonical Go type.
func convert(t Type, v any) (any, error) {
	switch t {
	case String:
		if s, ok := v.(string); ok {
			if !utf8.ValidString(s) {
				// The value is not shown: it may be a secret.
				return nil, errors.New("must be valid UTF-8 text")
			}
			return s, nil
		}
	case Integer:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case float64: // JSON and protobuf numbers
			if isInteger(n) {
				return int64(n), nil
			}
		}
	case Number:
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
	case Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	default:
		return nil, fmt.Errorf("has an unknown type %q", t)
	}
	return nil, fmt.Errorf("must be %s %s, got %s", article(string(t)), t, typeName(v))
}

// isInteger reports whether n is a whole number that a float64 holds
// exactly (JSON and protobuf have only float64 numbers).
func isInteger(n float64) bool {
	return n == math.Trunc(n) && math.Abs(n) < 1<<53
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func typeName(v any) string {
	switch n := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64:
		return "integer"
	case float64:
		if isInteger(n) {
			return "integer"
		}
		return "number"
	case nil:
		return "None"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the parameter name closest to k, if one is close enough
// to be a likely typo.
func suggest(k string, ps []Param) string {
	var names []string
	canonical := map[string]string{}
	for _, p := range ps {
		for _, name := range append([]string{p.Name}, p.Aliases...) {
			names = append(names, name)
			canonical[name] = p.Name
		}
	}
	return canonical[Closest(k, names)]
}

// Closest returns the candidate closest to name (ignoring case), if one is
// close enough to be a likely typo, or "".
func Closest(name string, candidates []string) string {
	if len(name) > maxQuoted {
		return "" // nobody mistypes that much; and distance is quadratic
	}
	sort.Strings(candidates)
	best, bestDist := "", len(name)/4+2
	for _, c := range candidates {
		if d := distance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// maxQuoted bounds the names an error quotes: a name given by a user, or
// declared by a plugin, may be of any size.
const maxQuoted = 64

// quote quotes a name given by a user for an error message, cut to
// maxQuoted bytes.
func quote(name string) string {
	if len(name) <= maxQuoted {
		return fmt.Sprintf("%q", name)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", name[:cut], len(name))
}

// ParseText reads parameters given as text, as a Camel URI's query gives
// them, as the types k declares: "2000" for an integer parameter is 2000,
// "true" or "false" for a boolean one is a bool. A name k does not declare
// stays text, for Validate to refuse. Errors name the parameter, never the
// value.
func (k Kind) ParseText(params map[string]string) (map[string]any, error) {
	types := map[string]Type{}
	for _, p := range k.Params {
		types[p.Name] = p.Type
		for _, a := range p.Aliases {
			types[a] = p.Type
		}
	}
	out := make(map[string]any, len(params))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		text := params[name]
		switch types[name] {
		case Integer:
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: parameter %s must be an integer", k.Name, quote(name))
			}
			out[name] = n
		case Number:
			x, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: parameter %s must be a number", k.Name, quote(name))
			}
			out[name] = x
		case Boolean:
			b, err := strconv.ParseBool(text)
			if err != nil {
				return nil, fmt.Errorf("%s: parameter %s must be true or false", k.Name, quote(name))
			}
			out[name] = b
		default:
			out[name] = text
		}
	}
	return out, nil
}
