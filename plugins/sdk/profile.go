package sdk

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// EnvProfileDir names a directory into which a plugin process writes its
// CPU profile and its allocation profile, for `go tool pprof`, when the
// variable is set: <plugin>-<pid>.cpu.pprof and <plugin>-<pid>.allocs.pprof,
// written when the host stops the process. The host passes its own
// environment to its plugins, so
//
//	RAYVENS_PLUGIN_PROFILE_DIR=/tmp/prof go test -run '^$' -bench SourceToSink ./plugins
//
// profiles the plugin side of a benchmark.
const EnvProfileDir = "RAYVENS_PLUGIN_PROFILE_DIR"

// startProfiling starts the CPU profile if EnvProfileDir asks for one, and
// returns what writes the profiles and stops it (a no-op otherwise). A
// profile that cannot be written is reported on log and the plugin serves
// on: profiling never stops a plugin.
func startProfiling(plugin string, log io.Writer) (stop func()) {
	dir := os.Getenv(EnvProfileDir)
	if dir == "" {
		return func() {}
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", plugin, os.Getpid()))
	cpu, err := os.Create(base + ".cpu.pprof")
	if err == nil {
		err = pprof.StartCPUProfile(cpu)
	}
	if err != nil {
		fmt.Fprintf(log, "rayvens plugin %s: cannot profile: %v\n", plugin, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := cpu.Close(); err != nil {
			fmt.Fprintf(log, "rayvens plugin %s: cannot write the CPU profile: %v\n", plugin, err)
		}
		if err := writeProfile("allocs", base+".allocs.pprof"); err != nil {
			fmt.Fprintf(log, "rayvens plugin %s: cannot write the allocation profile: %v\n", plugin, err)
		}
	}
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
