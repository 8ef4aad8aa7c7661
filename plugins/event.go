package plugins

import "github.com/rayvens/rayvens/camel"

// Event is an event as connectors see it: a body, a content type and
// string headers. Sources emit Event values into their stream.
type Event = camel.Event
