package plugins

import "context"

// pid returns the process id of the running plugin named name, or 0. For
// tests and diagnostics.
func (h *Host) pid(name string) int {
	h.mu.Lock()
	procs := []*process{h.builtin}
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	h.mu.Unlock()
	for _, p := range procs {
		if p == nil || p.name != name {
			continue
		}
		p.mu.Lock()
		c := p.client
		p.mu.Unlock()
		if c != nil && !c.Exited() {
			if rc := c.ReattachConfig(); rc != nil {
				return rc.Pid
			}
		}
	}
	return 0
}

// describe starts the plugin at path and describes it.
func (h *Host) describe(ctx context.Context, path string) *PluginInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.describeLocked(ctx, path)
}
