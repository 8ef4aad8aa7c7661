// Package browser runs a headless Chromium for the tests of the admin
// page: it loads a page, lets its scripts run, and returns the rendered
// DOM or a screenshot. Debian's package is chromium.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Find returns the path of a Chromium or Chrome binary, or an error naming
// the Debian package to install.
func Find() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found: install Debian's package chromium")
}

// Browser is a headless Chromium with its own profile folder.
type Browser struct {
	Path    string // the binary
	Profile string // its user data folder (the caller removes it)
}

// args are the flags of every run: headless, no sandbox (tests run as
// root in CI), no first-run work, and virtual time so the page's timers
// run without waiting for them (budget in milliseconds).
func (b Browser) args(budgetMS int) []string {
	return []string{
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir=" + b.Profile,
		fmt.Sprintf("--virtual-time-budget=%d", budgetMS),
	}
}

// DumpDOM loads url, lets its scripts run for budgetMS milliseconds of
// virtual time, and returns the serialized DOM.
func (b Browser) DumpDOM(ctx context.Context, url string, budgetMS int) (string, error) {
	cmd := exec.CommandContext(ctx, b.Path, append(b.args(budgetMS), "--dump-dom", url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("chromium --dump-dom %s: %w: %s", url, err, lastLine(stderr.String()))
	}
	return string(out), nil
}

// Screenshot loads url like DumpDOM and writes a PNG of the window
// (width x height) to file.
func (b Browser) Screenshot(ctx context.Context, url string, budgetMS int, file string, width, height int) error {
	args := append(b.args(budgetMS), "--screenshot="+file, fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", url)
	cmd := exec.CommandContext(ctx, b.Path, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("chromium --screenshot %s: %w: %s", url, err, lastLine(string(out)))
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("chromium wrote no screenshot: %s", lastLine(string(out)))
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
