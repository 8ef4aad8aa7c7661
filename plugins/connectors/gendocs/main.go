// Command gendocs writes docs/connectors.md from the built-in connectors'
// declarations. Run it with `go generate ./plugins/connectors`.
package main

import (
	"fmt"
	"os"

	"github.com/rayvens/rayvens/plugins/connectors"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs OUTPUT.md")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(connectors.Markdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
