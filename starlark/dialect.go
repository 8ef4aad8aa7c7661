package starlark

import "go.starlark.net/syntax"

// FileOptions is the Rayvens dialect: scripts are programs, not
// configuration, so sets, while loops, top-level control flow, global
// reassignment and recursion are all on.
var FileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}
