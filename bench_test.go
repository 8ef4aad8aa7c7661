package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkFirstEvent measures the time from starting `rayvens run` to the
// first event of a plugin source reaching the script: process start, script
// load, launch of the built-in connector plugin and its handshake, and the
// first timer-source event.
func BenchmarkFirstEvent(b *testing.B) {
	script := filepath.Join(b.TempDir(), "first.star")
	src := `s = Stream("t", source_config=dict(kind="timer-source", message="first", period=1))
s >> print
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(binary, "run", script)
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "first" {
			b.Fatalf("no first event: %q", lines.Text())
		}
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}
