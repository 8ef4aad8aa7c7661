// Command gendocs writes what is generated from the built-in connectors'
// declarations: docs/connectors.md, and the parameter tables in the README
// of each connector folder. Run it with `go generate ./plugins/connectors`,
// which runs `gendocs ../../docs/connectors.md .` in plugins/connectors.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rayvens/rayvens/plugins/connectors"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DOCS.md CONNECTORS-DIR")
		os.Exit(2)
	}
	if err := generate(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// generate writes docs and rewrites the README of every folder of dir.
func generate(docs, dir string) error {
	if err := write(docs, connectors.Markdown()); err != nil {
		return err
	}
	readmes, err := filepath.Glob(filepath.Join(dir, "*", "README.md"))
	if err != nil {
		return err
	}
	for _, path := range readmes {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text, err := connectors.Readme(string(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := write(path, text); err != nil {
			return err
		}
	}
	return nil
}

// write writes text to path, unless path holds it already: a run that
// changes nothing touches nothing.
func write(path, text string) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == text {
		return nil
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
