package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runTimeout bounds one run of a workload, so that a hung benchmark fails
// its workload instead of the whole table.
const runTimeout = 10 * time.Minute

// A builder makes the binaries the workloads run, each once, into its
// directory: a package's test binary, a peer, rayvens, a hello-world Go
// program.
type builder struct {
	root  string // the main module's directory
	dir   string
	built map[string]built
}

type built struct {
	path string
	err  error
}

func newBuilder(root, dir string) *builder {
	return &builder{root: root, dir: dir, built: map[string]built{}}
}

// binary is the program w runs, built the first time it is asked for.
func (b *builder) binary(ctx context.Context, w workload) (string, error) {
	key := string(w.Kind) + " " + w.Where
	if bb, ok := b.built[key]; ok {
		return bb.path, bb.err
	}
	out := filepath.Join(b.dir, strings.NewReplacer("/", "_", ".", "_", " ", "_").Replace(key))
	var err error
	switch {
	case w.Kind == goBench:
		err = goCommand(ctx, b.root, "building the tests of "+w.Where, "test", "-c", "-o", out, w.Where)
	case w.Kind == peer:
		err = goCommand(ctx, filepath.Join(b.root, w.Where), "building the peer "+w.Where, "build", "-o", out, ".")
	case w.Kind == process && w.Where == "rayvens":
		err = goCommand(ctx, b.root, "building rayvens", "build", "-o", out, ".")
	case w.Kind == process && w.Where == "hello":
		err = buildHello(ctx, filepath.Join(b.dir, "hello-src"), out)
	default:
		err = fmt.Errorf("no way to build %s %q", w.Kind, w.Where)
	}
	b.built[key] = built{out, err}
	return out, err
}

// helloSource is the whole-process baseline: the least a Go program does.
const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

func buildHello(ctx context.Context, src, out string) error {
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	files := map[string]string{"main.go": helloSource, "go.mod": "module hello\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return goCommand(ctx, src, "building hello", "build", "-o", out, ".")
}

func goCommand(ctx context.Context, dir, what string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", what, err, lastLines(string(b), 5))
	}
	return nil
}

// A reported is what one workload reported in one run, or why it did not.
type reported struct {
	m   metrics
	err error
}

// runOnce makes one run of the job's workloads with its binary bin and
// returns what each reported, in the job's order, and the peak RSS of the
// processes it started.
func runOnce(ctx context.Context, root, bin string, j job) ([]reported, int64) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	w := j[0]
	fail := func(err error) ([]reported, int64) {
		rs := make([]reported, len(j))
		for i := range rs {
			rs[i].err = err
		}
		return rs, 0
	}
	switch w.Kind {
	case goBench:
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^Benchmark("+strings.Join(j.ids(), "|")+")$",
			"-test.benchtime", w.BenchTime, "-test.count", "1", "-test.benchmem")
		cmd.Dir = filepath.Join(root, w.Where) // as go test runs it
		out, runErr := cmd.CombinedOutput()
		if cmd.ProcessState == nil {
			return fail(runErr)
		}
		// A benchmark that failed does not stop the others: each
		// workload's result line is read whatever the exit status.
		rs := make([]reported, len(j))
		for i, w := range j {
			rs[i].m, rs[i].err = benchMetrics(bytes.NewReader(out), w.ID)
			if rs[i].err != nil && runErr != nil {
				rs[i].err = fmt.Errorf("%v: %s", runErr, lastLines(string(out), 5))
			}
		}
		return rs, peakRSS(cmd)
	case peer:
		cmd := exec.CommandContext(ctx, bin, w.Args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fail(fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5)))
		}
		m, err := peerMetrics(string(out))
		return []reported{{m, err}}, peakRSS(cmd)
	case process:
		m, rss, err := timeProcess(ctx, root, bin, w.Args)
		return []reported{{m, err}}, rss
	}
	return fail(fmt.Errorf("unknown kind of workload %q", w.Kind))
}

// timeProcess starts bin processRepeats times in dir, one after the other,
// and reports the median and the least of their wall times, from start to
// exit (ns/run, min-ns/run).
func timeProcess(ctx context.Context, dir, bin string, args []string) (metrics, int64, error) {
	var times []float64
	var rss int64
	for range processRepeats {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, lastLines(out.String(), 5))
		}
		times = append(times, float64(elapsed.Nanoseconds()))
		rss = max(rss, peakRSS(cmd))
	}
	return metrics{"ns/run": median(times), "min-ns/run": slices.Min(times)}, rss, nil
}

// peakRSS is the peak RSS of a finished command's process (or of one of
// the processes it waited for, such as a plugin, whichever is larger: that
// is what wait4 reports on Linux).
func peakRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	return 0
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
