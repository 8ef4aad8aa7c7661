package plugins

// PluginHealth is the state of one plugin process the host has started,
// for metrics and readiness.
type PluginHealth struct {
	Name     string // the plugin's name ("rayvens" for the built-in one)
	Restarts int    // times it stopped unexpectedly and was started again
	// Up is true while its process runs and answers; false between a crash
	// and the restart, and for good once it failed too often.
	Up bool
}

// Health returns the state of every plugin process started so far (a
// plugin known but never started is not listed), the built-in one first.
func (h *Host) Health() []PluginHealth {
	procs := h.processes()
	out := make([]PluginHealth, 0, len(procs))
	for _, p := range procs {
		if ph, ok := p.state(); ok {
			out = append(out, ph)
		}
	}
	return out
}

// state returns p's state, and false if it was never started.
func (p *process) state() (PluginHealth, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.launches == 0 {
		return PluginHealth{}, false
	}
	up := p.fatal == nil && p.client != nil && !p.client.Exited()
	return PluginHealth{Name: p.name, Restarts: p.restarts, Up: up}, true
}

// processes returns the plugin processes started so far, the built-in
// one first.
func (h *Host) processes() []*process {
	h.mu.Lock()
	defer h.mu.Unlock()
	procs := make([]*process, 0, len(h.procs)+1)
	if h.builtin != nil {
		procs = append(procs, h.builtin)
	}
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	return procs
}
