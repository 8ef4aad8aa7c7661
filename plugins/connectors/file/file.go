// Package file holds the file connectors: file-source and file-source-raw,
// which read the files that appear in a directory and then delete, move or
// keep them, and file-sink, which writes each event to a file atomically.
//
// The sources poll (source.go); a file leaves its directory only once the
// host's stream has accepted its event, so a crash or a full stream never
// loses one. The sink (sink.go) writes to a hidden temporary file, syncs it
// and renames it into place, so readers never see half a file.
package file

import (
	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// fileNameHeader is the header that names a file: set by file-source-raw,
// read by file-sink (scripts set it with OutputEvent), as in Camel.
const fileNameHeader = "CamelFileName"

// SourceKind is file-source: each file becomes a JSON object
// {"filename": ..., "body": ...}.
var SourceKind = sourceKind("file-source", false)

// RawSourceKind is file-source-raw: each file's content is the event, its
// name the CamelFileName header.
var RawSourceKind = sourceKind("file-source-raw", true)

// SinkKind is file-sink, declared as the catalog has it.
var SinkKind = sdk.SinkKind{
	Name:        sinkCatalog.Name,
	Description: sinkCatalog.Description,
	Params:      sinkCatalog.Params,
	New:         newSink,
}

var sinkCatalog = camel.MustLookup("file-sink")

func sourceKind(name string, raw bool) sdk.SourceKind {
	k := camel.MustLookup(name)
	return sdk.SourceKind{
		Name:        k.Name,
		Description: k.Description,
		Params:      k.Params,
		New:         newSource(k.Name, raw),
	}
}
