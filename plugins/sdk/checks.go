package sdk

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// The checks below are for Param.Check: a value's mistakes beyond its type
// are then found when a config is validated (by `rayvens check` too, for
// the built-in kinds), before anything is opened. Their errors follow the
// parameter's name and show no value: `webhook-source: parameter "port"
// must be between 0 and 65535`.

// Between checks that an integer is between lo and hi, both included.
func Between(lo, hi int64) func(any) error {
	return func(v any) error {
		if n, ok := v.(int64); ok && (n < lo || n > hi) {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		return nil
	}
}

// AtLeast checks that an integer is lo or more.
func AtLeast(lo int64) func(any) error {
	return func(v any) error {
		if n, ok := v.(int64); ok && n < lo {
			if lo == 0 {
				return errors.New("must not be negative")
			}
			return fmt.Errorf("must be at least %d", lo)
		}
		return nil
	}
}

// OneOf checks that a string is one of values (as a Kamelet's enum).
func OneOf(values ...string) func(any) error {
	return func(v any) error {
		if s, ok := v.(string); ok && !slices.Contains(values, s) {
			return fmt.Errorf("must be one of %s", strings.Join(values, ", ")) // unquoted: errors quote names only
		}
		return nil
	}
}

// URL checks that a string is an absolute URL with a host and one of the
// schemes given, e.g. URL("http", "https"). The URL is not shown: it may
// carry credentials.
func URL(schemes ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || !slices.Contains(schemes, u.Scheme) || u.Hostname() == "" {
			return fmt.Errorf("must be a URL starting with %s", strings.Join(suffixAll(schemes, "://"), " or "))
		}
		return nil
	}
}

func suffixAll(values []string, suffix string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v + suffix
	}
	return out
}
