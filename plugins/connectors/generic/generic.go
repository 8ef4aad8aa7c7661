// Package generic is generic-source, generic-periodic-source and
// generic-sink, the kinds of the Python Rayvens that take any Camel
// endpoint URI. Here a URI stands for the native connector of its scheme:
// `kafka:orders?brokers=host:9092` is kafka-source (or kafka-sink) with
// topic "orders" and bootstrapServers "host:9092". The kinds have no
// instances of their own: the host rewrites their config into the native
// kind's (camel.Kind.Rewrite), so `rayvens check` validates that config
// too, and the instance is the native kind's.
package generic

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// SourceKind is generic-source.
var SourceKind = sdk.SourceKind{
	Name:        "generic-source",
	Description: "Receives events from a Camel endpoint URI, through the native connector of its scheme (kafka:, paho:, nats:, aws2-s3:, file:, http:, timer:, cron:, ...).",
	Events:      "those of the native source the URI stands for",
	Params:      endpointParams,
	Rewrite:     func(cfg map[string]any) (string, map[string]string, error) { return rewrite(cfg, source) },
}

// PeriodicSourceKind is generic-periodic-source.
var PeriodicSourceKind = sdk.SourceKind{
	Name:        "generic-periodic-source",
	Description: "Polls a Camel endpoint URI every period milliseconds, through the native connector of its scheme: http: and https: (http-source), aws2-s3: (aws-s3-source), file: (file-source).",
	Events:      "those of the native source the URI stands for: for http, the body of each response",
	Params: append(slices.Clone(endpointParams),
		sdk.Param{Name: "period", Type: sdk.Integer, Default: 1000, Description: "Milliseconds between polls."}),
	Rewrite: func(cfg map[string]any) (string, map[string]string, error) { return rewrite(cfg, periodic) },
}

// SinkKind is generic-sink.
var SinkKind = sdk.SinkKind{
	Name:        "generic-sink",
	Description: "Sends events to a Camel endpoint URI, through the native connector of its scheme (kafka:, paho:, nats:, aws2-s3:, file:, http:, slack:, log:, ...).",
	Events:      "as the native sink the URI stands for writes them",
	Params:      endpointParams,
	Rewrite:     func(cfg map[string]any) (string, map[string]string, error) { return rewrite(cfg, sink) },
}

var endpointParams = []sdk.Param{
	{Name: "uri", Type: sdk.String, Secret: true, Description: "The Camel endpoint URI, e.g. \"kafka:orders?brokers=localhost:9092\". Options take the Camel component's names; a value may be RAW(...) to be taken as it is. It is never shown: a URI may hold a password or a token."},
	{Name: "spec", Type: sdk.String, Secret: true, Description: "Instead of uri, a Camel YAML route holding the URI: `from: {uri: ...}` for a source, `to: ...` for a sink (one route, no steps)."},
}

type role int

const (
	source role = iota
	periodic
	sink
)

// scheme is how the URIs of one Camel component become a native kind's
// parameters.
type scheme struct {
	source, sink string // the native kinds; "" for none
	poll         string // the parameter that generic-periodic-source's period sets, "" if it cannot poll
	// endpoint sets the parameters that the URI's path gives; nil takes
	// the path as the parameter named path. whole gets the URI itself.
	endpoint func(path, whole string, params map[string]string) error
	path     string
	// options renames the Camel component's options that the native kind
	// names otherwise; any other option is passed under its own name.
	options map[string]string
	// fixed holds parameters that a Camel endpoint has no option for, set
	// from the path when the URI does not give them.
	fixed func(path string, params map[string]string)
}

var schemes = map[string]scheme{
	"kafka": {source: "kafka-source", sink: "kafka-sink", path: "topic",
		options: map[string]string{"brokers": "bootstrapServers", "groupId": "consumerGroup"}},
	"paho": {source: "mqtt-source", sink: "mqtt-sink", path: "topic",
		options: map[string]string{"userName": "username"}},
	"paho-mqtt5": {source: "mqtt-source", sink: "mqtt-sink", path: "topic",
		options: map[string]string{"userName": "username"}},
	"nats":    {source: "nats-source", sink: "nats-sink", path: "topic"},
	"aws2-s3": {source: "aws-s3-source", sink: "aws-s3-sink", path: "bucketNameOrArn", poll: "delay"},
	"telegram": {source: "telegram-source", sink: "telegram-sink", endpoint: func(path, _ string, _ map[string]string) error {
		if path != "bots" {
			return errors.New(`a telegram URI is telegram:bots?authorizationToken=...`)
		}
		return nil
	}},
	"file": {source: "file-source", sink: "file-sink", path: "path", poll: "period",
		options: map[string]string{"noop": "keepFile", "move": "moveAfterRead", "delay": "period"}},
	"http":  {source: "http-source", sink: "http-sink", poll: "period", endpoint: wholeURL},
	"https": {source: "http-source", sink: "http-sink", poll: "period", endpoint: wholeURL},
	"slack": {sink: "slack-sink", path: "channel"},
	"log":   {sink: "log-sink", path: "loggerName"},
	"timer": {source: "timer-source", fixed: messageIsName,
		endpoint: func(string, string, map[string]string) error { return nil }},
	"cron": {source: "cron-source", fixed: messageIsName,
		endpoint: func(string, string, map[string]string) error { return nil }},
	"spring-redis": {source: "redis-source", sink: "redis-sink", endpoint: func(path, _ string, params map[string]string) error {
		host, port, ok := strings.Cut(path, ":")
		if !ok || host == "" || port == "" {
			return errors.New(`a spring-redis URI is spring-redis://HOST:PORT?command=...&channels=...`)
		}
		params["redisHost"], params["redisPort"] = host, port
		return nil
	}},
}

// wholeURL gives http-source and http-sink the URI itself, query included.
func wholeURL(_, whole string, params map[string]string) error {
	params["url"] = whole
	return nil
}

// messageIsName makes a timer's or cron's events its name, unless the URI
// has a message option: Camel's have no body, and the native kinds need a
// message.
func messageIsName(path string, params map[string]string) {
	if _, ok := params["message"]; !ok {
		params["message"] = path
	}
}

// rewrite makes the native kind and parameters of a generic config.
func rewrite(cfg map[string]any, r role) (string, map[string]string, error) {
	uri, err := endpointURI(cfg, r)
	if err != nil {
		return "", nil, err
	}
	name, rest, ok := strings.Cut(uri, ":")
	sc, known := schemes[name]
	kind := sc.source
	if r == sink {
		kind = sc.sink
	}
	if !ok || !known || kind == "" {
		return "", nil, fmt.Errorf("the URI's scheme %s has no native %s here; the schemes served are %s", quoteScheme(name, ok), roleName(r), strings.Join(served(r), ", "))
	}
	if r == periodic && sc.poll == "" {
		return "", nil, fmt.Errorf("generic-periodic-source polls an endpoint, which %s: cannot be; use generic-source, or one of %s", name, strings.Join(served(periodic), ", "))
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
	params := map[string]string{}
	if sc.endpoint == nil || name != "http" && name != "https" {
		if err := options(query, sc.options, params); err != nil {
			return "", nil, err
		}
	}
	switch {
	case sc.endpoint != nil:
		if err := sc.endpoint(path, uri, params); err != nil {
			return "", nil, err
		}
	case path == "":
		return "", nil, fmt.Errorf("a %s URI names its %s after the scheme, e.g. %s:NAME", name, sc.path, name)
	default:
		p, err := url.PathUnescape(path)
		if err != nil {
			return "", nil, fmt.Errorf("the URI's path is not valid: %v", errWithoutValue(err))
		}
		params[sc.path] = p
	}
	if sc.fixed != nil {
		sc.fixed(path, params)
	}
	if r == periodic {
		params[sc.poll] = fmt.Sprint(cfg["period"])
	}
	return kind, params, nil
}

// endpointURI returns the URI of a config: uri, or the one in spec.
func endpointURI(cfg map[string]any, r role) (string, error) {
	uri, _ := cfg["uri"].(string)
	spec, _ := cfg["spec"].(string)
	switch {
	case uri != "" && spec != "":
		return "", errors.New(`give "uri" or "spec", not both`)
	case uri != "":
		return uri, nil
	case spec == "":
		return "", errors.New(`missing required parameter "uri" (or "spec")`)
	}
	return specURI(spec, r)
}

// specURI finds the URI in a Camel YAML route: `from: {uri: U}` (or
// `from: U`) for a source, `to: U` (or `to: {uri: U}`) for a sink, at the
// top, in a one-element list, or under route:.
func specURI(spec string, r role) (string, error) {
	var doc any
	if err := yaml.Unmarshal([]byte(spec), &doc); err != nil {
		return "", errors.New(`parameter "spec" is not valid YAML`)
	}
	if list, ok := doc.([]any); ok && len(list) == 1 {
		doc = list[0]
	}
	m, ok := doc.(map[string]any)
	if route, isRoute := m["route"].(map[string]any); ok && isRoute {
		m = route
	}
	key := "from"
	if r == sink {
		key = "to"
	}
	if !ok || m[key] == nil {
		return "", fmt.Errorf(`parameter "spec" must be a route with %s: and its uri, e.g. %s: {uri: kafka:orders?brokers=localhost:9092}`, key, key)
	}
	ep := m[key]
	if e, isMap := ep.(map[string]any); isMap {
		if steps, has := e["steps"]; has && steps != nil {
			return "", errors.New(`parameter "spec" has steps: a generic connector takes one endpoint; do the steps in the script`)
		}
		ep = e["uri"]
	}
	u, ok := ep.(string)
	if !ok || u == "" {
		return "", fmt.Errorf(`parameter "spec" has no uri in its %s:`, key)
	}
	return u, nil
}

// options reads a URI's query into params, renaming Camel's option names
// that the native kind names otherwise. A value in RAW(...) is taken as it
// is; any other is %-decoded.
func options(query string, rename map[string]string, params map[string]string) error {
	if query == "" {
		return nil
	}
	for _, pair := range splitQuery(query) {
		name, value, _ := strings.Cut(pair, "=")
		if raw, ok := strings.CutPrefix(value, "RAW("); ok && strings.HasSuffix(raw, ")") {
			value = strings.TrimSuffix(raw, ")")
		} else {
			v, err := url.QueryUnescape(strings.ReplaceAll(value, "+", "%2B")) // Camel keeps "+", as in cron's "0+0/5+*+*+*+?"
			if err != nil {
				return fmt.Errorf("the value of the URI's option %s is not validly %%-encoded", name)
			}
			value = v
		}
		if to, ok := rename[name]; ok {
			name = to
		}
		if _, dup := params[name]; dup {
			return fmt.Errorf("the URI gives option %s twice", name)
		}
		params[name] = value
	}
	return nil
}

// splitQuery splits a query on "&", except inside RAW(...), where a
// password may have one.
func splitQuery(q string) []string {
	var out []string
	start, depth := 0, 0
	for i := 0; i < len(q); i++ {
		switch {
		case strings.HasPrefix(q[i:], "RAW("):
			depth++
			i += len("RAW(") - 1
		case q[i] == ')' && depth > 0:
			depth--
		case q[i] == '&' && depth == 0:
			out = append(out, q[start:i])
			start = i + 1
		}
	}
	return append(out, q[start:])
}

// served lists the schemes with a native connector for r.
func served(r role) []string {
	var out []string
	for name, sc := range schemes {
		switch {
		case r == source && sc.source != "", r == sink && sc.sink != "", r == periodic && sc.poll != "":
			out = append(out, name+":")
		}
	}
	slices.Sort(out)
	return out
}

func roleName(r role) string {
	if r == sink {
		return "sink"
	}
	return "source"
}

// quoteScheme shows a URI's scheme in an error: it is no secret, but a
// URI without a scheme may be anything, so it is not shown then. Only
// parameter names are in double quotes in errors.
func quoteScheme(name string, ok bool) string {
	if !ok || len(name) > 32 || strings.ContainsAny(name, "\"/?&=@ ") {
		return "(none: a URI is scheme:...)"
	}
	return name + ":"
}

// errWithoutValue keeps the kind of a parse error, not the text it quotes.
func errWithoutValue(err error) string {
	var e url.EscapeError
	if errors.As(err, &e) {
		return "a bad %-escape"
	}
	return "it cannot be decoded"
}
