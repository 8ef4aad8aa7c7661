// Package file holds the file connectors: file-source and file-source-raw,
// which read the files that appear in a directory and then delete, move or
// keep them, and file-sink, which writes each event to a file atomically,
// or appends it to one.
//
// The sources poll (source.go); a file leaves its directory only once the
// host's stream has accepted its event, so a crash or a full stream never
// loses one. The sink (sink.go) replaces a file by writing a hidden
// temporary file, syncing it and renaming it into place, so readers never
// see half a file; it appends (append.go) a whole batch with one write and
// one sync, recording the write in a journal first, so that a write a
// crash cut off is cut off again before its events are written again.
package file

import (
	"github.com/rayvens/rayvens/plugins/sdk"
)

// fileNameHeader is the header that names a file: set by file-source-raw,
// read by file-sink (scripts set it with OutputEvent), as in Camel.
const fileNameHeader = "CamelFileName"

// SourceKind declares file-source: each file becomes a JSON object
// {"filename": ..., "body": ...}.
var SourceKind = sdk.SourceKind{
	Name:        "file-source",
	Description: "Reads the files that appear in a directory (as Rayvens' file-source does). A file is moved or deleted only once its event is done end to end (every subscriber and sink write it reached); a file whose event failed stays in place and is read again only if it changes.",
	Events:      `a JSON object {"filename": ..., "body": ...} per file, as a string`,
	Params:      sourceParams,
	New:         opener("file-source", false),
}

// RawSourceKind declares file-source-raw: each file's content is the event,
// its name the CamelFileName header.
var RawSourceKind = sdk.SourceKind{
	Name:        "file-source-raw",
	Description: "Like file-source, but each event is the raw content of the file.",
	Events:      "the content of each file, as a string (its name relative to path is the CamelFileName header)",
	Params:      sourceParams,
	New:         opener("file-source-raw", true),
}

// SinkKind declares file-sink.
var SinkKind = sdk.SinkKind{
	Name:        "file-sink",
	Description: "Writes each event to a file in a directory, replacing the file atomically (a temporary file renamed into place), or appending to it (fileExist=Append: a batch with one write). The file name is the event's CamelFileName header (see OutputEvent), else fileName, else a unique generated name.",
	Events:      "each event is the content of one file, or is appended to its file (fileExist=Append)",
	Params: []sdk.Param{
		{Name: "path", Type: sdk.String, Required: true, Description: "The directory to write files to; it is created if needed."},
		{Name: "fileName", Type: sdk.String, Aliases: []string{"file_name"}, Description: "The file name to use when an event has no CamelFileName header."},
		{Name: "fileExist", Type: sdk.String, Default: override, Aliases: []string{"file_exist"}, Description: "What to do with a file that exists, as in Camel's file component: Override (each event replaces the file) or Append (each event is added at its end)."},
		{Name: "appendChars", Type: sdk.String, Aliases: []string{"append_chars"}, Description: "Characters written after each event, e.g. a newline to append one event per line."},
		{Name: "forceWrites", Type: sdk.Boolean, Default: true, Aliases: []string{"force_writes"}, Description: "Sync each write to disk before the event is acknowledged, so that it survives a power cut; false: acknowledged once the OS has it, which survives a crash of rayvens but not of the machine, and is faster."},
	},
	New: newSink,
}

var sourceParams = []sdk.Param{
	{Name: "path", Type: sdk.String, Required: true, Description: "The directory to read files from."},
	{Name: "keepFile", Type: sdk.Boolean, Default: false, Aliases: []string{"keep_file"}, Description: "Leave each file in place once read; it is remembered for the run by name, size and modification time, and read again only if it changes."},
	{Name: "moveAfterRead", Type: sdk.String, Aliases: []string{"move_after_read"}, Description: "A directory to move each file to once read, instead of deleting it (relative paths are inside path; it is created if needed and not read)."},
	{Name: "recursive", Type: sdk.Boolean, Default: false, Description: "Also read files in subdirectories."},
	{Name: "period", Type: sdk.Integer, Default: 500, Description: "How often to look for new files, in milliseconds."},
}
