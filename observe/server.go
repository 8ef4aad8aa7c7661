package observe

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/rayvens/rayvens/observe/web"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the admin HTTP server of a run: /metrics, /health, /ready,
// /api/stats and /api/graph, GET and HEAD only.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Serve binds addr (host:port; port 0 picks a free one) and serves o
// there until Close.
func Serve(addr string, o *Observer) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: Handler(o), ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ErrServerClosed once Close is called
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, lets requests in progress finish until ctx ends,
// and waits for the server's goroutine.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}

// Handler returns the admin server's routes for o.
func Handler(o *Observer) http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{})
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		st := o.Stats()
		if !st.Ready {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": st.Reason})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ready": true})
	})
	mux.HandleFunc("/api/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.Stats())
	})
	mux.HandleFunc("/api/graph", func(w http.ResponseWriter, r *http.Request) {
		var g any
		if o.cfg.Graph != nil {
			g = o.cfg.Graph()
		}
		if g == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the pipeline graph is not available yet"})
			return
		}
		writeJSON(w, http.StatusOK, g)
	})
	mux.Handle("/", web.Handler())
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD: the server changes
// nothing.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "only GET and HEAD are allowed"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"could not encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
