// Command badplugin is a plugin that fails the handshake in the way its
// executable's name says, for the host's tests:
//
//	rayvens-plugin-stdout      prints to stdout before serving
//	rayvens-plugin-exits       exits at once
//	rayvens-plugin-badversion  speaks protocol version 99
//	rayvens-plugin-badcookie   expects another magic cookie
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-plugin"

	"github.com/rayvens/rayvens/plugins/internal/wire"
)

func main() {
	mode := strings.TrimPrefix(filepath.Base(os.Args[0]), "rayvens-plugin-")
	hs := wire.Handshake
	switch mode {
	case "stdout":
		fmt.Println("hello from a chatty plugin")
	case "exits":
		os.Exit(0)
	case "badversion":
		hs.ProtocolVersion = 99
	case "badcookie":
		hs.MagicCookieKey = "SOME_OTHER_COOKIE"
		hs.MagicCookieValue = "x"
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         wire.Plugins(nil),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
