package main

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The architecture, as arrows that must not go the wrong way (STYLE.md).
// Each rule names the packages it applies to (a path, or a path ending in
// "/..." for those below it) and what they must not reach, directly or
// through others.
var architecture = []struct {
	packages string
	rule     string
	// allowed reports whether package p may depend on dep (both import
	// paths; std tells whether dep is in the standard library).
	allowed func(dep string, std bool) bool
	// direct: the rule is about direct imports only.
	direct bool
	// testsAllowed, when set, is the rule for the imports of the
	// packages' tests.
	testsAllowed func(dep string) bool
}{
	{
		packages: "engine/...",
		rule:     "the engine imports the standard library only",
		allowed:  func(dep string, std bool) bool { return std || under(dep, "engine") },
	},
	{
		packages: "camel/...",
		rule:     "the catalog imports no other project package and no gRPC or protobuf",
		allowed: func(dep string, std bool) bool {
			return std || under(dep, "camel") || (!project(dep) && !rpc(dep))
		},
	},
	{
		packages: "builtins",
		rule:     "the script stack links no plugin host, go-plugin, gRPC or NATS",
		allowed:  noPlugins,
	},
	{
		packages: "starlark",
		rule:     "the script stack links no plugin host, go-plugin, gRPC or NATS",
		allowed:  noPlugins,
	},
	{
		packages: "plugins/connectors/*",
		rule:     "a connector imports only plugins/sdk, the catalog types and the NATS dialing it shares with cluster",
		direct:   true,
		allowed: func(dep string, std bool) bool {
			return !project(dep) || dep == module+"/plugins/sdk" || dep == module+"/camel" || dep == module+"/internal/natsdial"
		},
		testsAllowed: func(dep string) bool {
			return !project(dep) || dep == module+"/plugins/sdk" || dep == module+"/plugins/sdk/sdktest" || dep == module+"/camel" ||
				dep == module+"/plugins/connectors/internal/testpeer"
		},
	},
	{
		packages: "cluster",
		rule:     "the cluster streams import the catalog types and the NATS dialing, no other project package",
		allowed: func(dep string, std bool) bool {
			return !project(dep) || dep == module+"/camel" || dep == module+"/internal/natsdial"
		},
	},
	{
		// observe sits beside the rayvens command, above the engine: what
		// it watches outside the engine (connectors, plugin processes, the
		// graph) comes through its Config, filled in by the command.
		packages: "observe",
		rule:     "the observer imports the engine and Prometheus, no other project package, no gRPC, go-plugin or NATS",
		allowed: func(dep string, std bool) bool {
			if project(dep) {
				return under(dep, "engine") || under(dep, "observe")
			}
			return !strings.HasPrefix(dep, "google.golang.org/grpc") && !strings.HasPrefix(dep, "github.com/hashicorp/") &&
				!strings.HasPrefix(dep, "github.com/nats-io/")
		},
	},
	{
		packages: "plugins/sdk/...",
		rule:     "the SDK imports neither the engine nor the builtins",
		allowed: func(dep string, std bool) bool {
			return !under(dep, "engine") && !under(dep, "builtins") && !under(dep, "starlark")
		},
	},
}

const module = "github.com/rayvens/rayvens"

func project(p string) bool { return p == module || strings.HasPrefix(p, module+"/") }

// under reports whether p is the project package dir or below it.
func under(p, dir string) bool {
	return p == module+"/"+dir || strings.HasPrefix(p, module+"/"+dir+"/")
}

func rpc(p string) bool {
	for _, prefix := range []string{"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/golang/protobuf", "github.com/hashicorp/go-plugin", "github.com/hashicorp/yamux"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// noPlugins is the rule of the script stack: no plugin host, go-plugin or
// gRPC, and no NATS (cluster streams come through builtins.Cluster, which
// the rayvens command adapts from package cluster).
func noPlugins(dep string, std bool) bool {
	return !under(dep, "plugins") && !rpc(dep) && !under(dep, "cluster") && !strings.HasPrefix(dep, "github.com/nats-io/")
}

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	Name       string
	Standard   bool
	Imports    []string
	Deps       []string
	// TestImports and XTestImports are the imports of its tests.
	TestImports, XTestImports []string
}

// TestArchitecture fails when an import goes the wrong way. It reads the
// import graph of the module's non-test code with `go list`.
func TestArchitecture(t *testing.T) {
	all := map[string]goPackage{} // the module's packages and every dependency
	for _, p := range listPackages(t, "-deps", "./...") {
		all[p.ImportPath] = p
	}
	for _, rule := range architecture {
		matched := 0
		for _, p := range all {
			if !project(p.ImportPath) || !matches(p.ImportPath, rule.packages) || p.Name == "main" {
				continue // commands (such as a generator) are not libraries
			}
			matched++
			bad := func(d string) bool { return !rule.allowed(d, all[d].Standard) }
			// Name the imports of p that break the rule, themselves or
			// through what they import.
			var wrong []string
			for _, imp := range p.Imports {
				switch {
				case bad(imp):
					wrong = append(wrong, imp)
				case !rule.direct && slices.ContainsFunc(all[imp].Deps, bad):
					first := all[imp].Deps[slices.IndexFunc(all[imp].Deps, bad)]
					wrong = append(wrong, imp+" (which brings in "+first+")")
				}
			}
			sort.Strings(wrong)
			require.Empty(t, wrong, "%s: %s, but it imports these", p.ImportPath, rule.rule)
			if rule.testsAllowed != nil {
				var wrongInTests []string
				for _, imp := range append(p.TestImports, p.XTestImports...) {
					if imp != p.ImportPath && !rule.testsAllowed(imp) {
						wrongInTests = append(wrongInTests, imp)
					}
				}
				require.Empty(t, wrongInTests, "%s: the tests of %s, but they import these", p.ImportPath, rule.rule)
			}
		}
		require.NotZero(t, matched, "no package matches %s", rule.packages)
	}
}

// matches reports whether import path p is named by pattern: a path
// relative to the module, ending in "/..." (it and below), "/*" (the
// packages right below it) or nothing (it alone).
func matches(p, pattern string) bool {
	switch {
	case strings.HasSuffix(pattern, "/..."):
		return under(p, strings.TrimSuffix(pattern, "/..."))
	case strings.HasSuffix(pattern, "/*"):
		dir := module + "/" + strings.TrimSuffix(pattern, "/*") + "/"
		rest, ok := strings.CutPrefix(p, dir)
		return ok && rest != "" && !strings.Contains(rest, "/")
	}
	return p == module+"/"+pattern
}

func listPackages(t *testing.T, args ...string) []goPackage {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json=ImportPath,Name,Standard,Imports,Deps,TestImports,XTestImports"}, args...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
	}
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return pkgs
		}
		require.NoError(t, err)
		pkgs = append(pkgs, p)
	}
}

// TestArchitectureRulesCatch checks the rules against imports they must
// refuse, so that a rule cannot silently allow everything.
func TestArchitectureRulesCatch(t *testing.T) {
	refused := map[string][]string{
		"engine/...":           {module + "/camel", "go.starlark.net/starlark"},
		"camel/...":            {module + "/plugins/proto", module + "/engine", "google.golang.org/protobuf/types/known/structpb"},
		"builtins":             {module + "/plugins", "github.com/hashicorp/go-plugin", "google.golang.org/grpc", module + "/cluster", "github.com/nats-io/nats.go"},
		"starlark":             {module + "/plugins/sdk", module + "/cluster"},
		"plugins/connectors/*": {module + "/engine", module + "/plugins", module + "/plugins/internal/wire"},
		"plugins/sdk/...":      {module + "/engine", module + "/builtins"},
		"cluster":              {module + "/engine", module + "/builtins", module + "/starlark", module + "/plugins/sdk", module + "/plugins"},
	}
	for _, rule := range architecture {
		for _, dep := range refused[rule.packages] {
			require.False(t, rule.allowed(dep, false), "%s must refuse %s", rule.packages, dep)
		}
	}
}
