package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFileSinkFixedName measures file-sink appending to one file (a
// fixed fileName, fileExist=Append) through the real plugin: b.N events
// appended by the top level of one `rayvens run`, from the script's first
// line (the plugin is running by then: a first event was written) to the
// end of the run, which waits until the plugin has acknowledged every
// event. The file must then hold every event once, in order. forceWrites
// is left on (the default): each batch is synced before it is
// acknowledged.
func BenchmarkFileSinkFixedName(b *testing.B) {
	dir := b.TempDir()
	script := filepath.Join(dir, "file_sink.star")
	src := `n = int(argv[0])
config = dict(kind="file-sink", path=argv[1], fileName="events.txt", fileExist="Append", appendChars="\n")
warm = Stream("warm-up", sink_config=config)
warm << "warm-up"
warm.disconnect_all()  # waits until it is written: the plugin runs from here on
s = Stream("out", sink_config=config)
print("start")
for i in range(n):
    s << "event %d" % i
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(binary, "run", script, strconv.Itoa(b.N), out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b.ResetTimer()
	b.StopTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "start" {
		b.Fatalf("the script did not start: %q %s", lines.Text(), stderr.String())
	}
	start := time.Now()
	b.StartTimer()
	err = cmd.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("rayvens run: %v\n%s", err, stderr.String())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")

	got, err := os.ReadFile(filepath.Join(out, "events.txt"))
	if err != nil {
		b.Fatal(err)
	}
	want := make([]byte, 0, len(got))
	want = append(want, "warm-up\n"...)
	for i := 0; i < b.N; i++ {
		want = append(strconv.AppendInt(append(want, "event "...), int64(i), 10), '\n')
	}
	if !bytes.Equal(got, want) {
		b.Fatalf("the file does not hold every event once, in order: %d bytes, want %d", len(got), len(want))
	}
}
