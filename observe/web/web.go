// Package web is the admin server's page: the pipeline as a graph, with
// each stream's live rates, backlog and errors, and each sink's
// acknowledgements and retries. The page reads /api/graph and, every
// second, /api/stats; every asset is embedded in the binary, so the page
// works with no network (no CDN, no fonts, no external script).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Handler serves the page at / and its assets next to it. It answers GET
// and HEAD only (the admin server enforces it for every path).
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Only the page's own script and style run; nothing is framed.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
