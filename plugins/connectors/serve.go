package connectors

import (
	"os"
	"runtime/debug"

	"github.com/rayvens/rayvens/plugins/sdk"
)

// ServeArg is the argument with which a plugin host starts a program to
// serve its built-in connectors: Command is the program and ServeArg, and
// ServeIfPlugin recognises it. The rayvens command serves them under this
// name as a hidden subcommand.
const ServeArg = "serve-connectors"

// ServeIfPlugin makes a Go program that embeds Rayvens its own plugin for
// the built-in connectors. Call it first thing in main: when a plugin host
// started the process for them (with Command), it serves them and exits;
// otherwise it returns at once. The host is configured to match with
//
//	plugins.Options{Builtin: connectors.Plugin(version), BuiltinCommand: connectors.Command()}
func ServeIfPlugin() {
	if len(os.Args) != 2 || os.Args[1] != ServeArg {
		return
	}
	sdk.Serve(Plugin(buildVersion()))
	os.Exit(0)
}

// Command returns how a plugin host starts this program for the built-in
// connectors: the running executable with ServeArg. The program's main must
// call ServeIfPlugin (the rayvens command has ServeArg as a subcommand
// instead).
func Command() []string {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0] // the name it was started with: still this program
	}
	return []string{self, ServeArg}
}

// buildVersion is the version of the main module, for the plugin
// description.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
