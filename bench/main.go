// Command bench runs the performance workloads of Rayvens for Go and prints
// one table: each workload's figure (the median of several runs), its
// target, and the peak memory of the process that ran it.
//
//	go run ./bench                 # every workload, 5 runs each
//	go run ./bench -runs 3 -only Lambda -json results.json
//
// Each workload is a `go test` benchmark of the package whose hot path it
// measures (usable with benchstat too); bench builds each package's test
// binary once and runs it once per run, so that a run's peak RSS is its
// own. The machine this runs on is shared and noisy: compare figures taken
// in the same run.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
)

// A workload is one benchmark and the figure it is judged by.
type workload struct {
	Name      string `json:"name"`
	Pkg       string `json:"package"`   // the package of the benchmark, as ./path
	Bench     string `json:"benchmark"` // its name, without "Benchmark"
	BenchTime string `json:"benchtime"` // -benchtime, e.g. 200000x
	Metric    string `json:"metric"`    // the reported unit it is judged by
	Target    string `json:"target"`
}

// workloads are those of docs/performance.md, with the targets set there.
var workloads = []workload{
	{"Go Append -> Go func", "./engine", "AppendToFunc", "1000000x", "events/s", ">= 10M events/s"},
	{"Go AppendAck -> Go func (tracked)", "./engine", "AppendTracked", "1000000x", "events/s", "within 1.2x of untracked"},
	{"Go Append -> 3-stage chain", "./engine", "Chain", "500000x", "events/s", ""},
	{"Go Append -> actor", "./engine", "AppendToActor", "500000x", "events/s", ""},
	{"idle stream with 1 subscriber", "./engine", "IdleStream", "10000x", "B/stream", "<= 4 KB per idle stream"},
	{"Starlark s << i -> lambda", "./starlark", "AppendToLambda", "200000x", "events/s", ">= 2M events/s"},
	{"Starlark s >> f >> g >> h", "./starlark", "LambdaChain", "100000x", "events/s", ">= 1M events/s"},
	{"Starlark Task", "./starlark", "Task", "100000x", "events/s", ""},
	{"plugin source -> stream -> plugin sink", "./plugins", "SourceToSink", "300000x", "events/s", ">= 1M events/s"},
	{"rayvens run: start to first timer event", ".", "FirstEvent", "10x", "ns/op", "<= 30 ms"},
}

// result is a workload's outcome.
type result struct {
	workload
	Median  float64   `json:"median"`
	Runs    []float64 `json:"runs"`
	PeakRSS int64     `json:"peak_rss_bytes"` // the largest of the runs
	Err     string    `json:"error,omitempty"`
}

func main() {
	runs := flag.Int("runs", 5, "runs of each workload (the table shows their median)")
	only := flag.String("only", "", "run only the workloads whose benchmark matches this `regexp`")
	jsonOut := flag.String("json", "", "also write the results as JSON to `FILE`")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	selected := workloads
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -only: %v\n", err)
			os.Exit(2)
		}
		selected = slices.DeleteFunc(slices.Clone(workloads), func(w workload) bool { return !re.MatchString(w.Bench) })
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("", "rayvens-bench")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)

	var results []result
	binaries := map[string]string{}
	for _, w := range selected {
		fmt.Fprintf(os.Stderr, "bench: %s (%s %s) ", w.Name, w.Pkg, w.Bench)
		r := result{workload: w}
		bin, ok := binaries[w.Pkg]
		if !ok {
			bin = filepath.Join(tmp, strings.NewReplacer("/", "_", ".", "_").Replace(w.Pkg)+".test")
			if err := build(root, w.Pkg, bin); err != nil {
				bin = ""
				r.Err = err.Error()
			}
			binaries[w.Pkg] = bin
		}
		if bin == "" && r.Err == "" {
			r.Err = "its package did not build"
		}
		for i := 0; i < *runs && r.Err == ""; i++ {
			v, rss, err := runOnce(filepath.Join(root, w.Pkg), bin, w)
			if err != nil {
				r.Err = err.Error()
				break
			}
			r.Runs = append(r.Runs, v)
			r.PeakRSS = max(r.PeakRSS, rss)
			fmt.Fprint(os.Stderr, ".")
		}
		fmt.Fprintln(os.Stderr)
		if r.Err == "" {
			r.Median = median(r.Runs)
		}
		results = append(results, r)
	}
	printTable(os.Stdout, results)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
	}
	for _, r := range results {
		if r.Err != "" {
			os.Exit(1)
		}
	}
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench inside the rayvens module (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

// build compiles the test binary of pkg to out.
func build(root, pkg, out string) error {
	cmd := exec.Command("go", "test", "-c", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the tests of %s: %v: %s", pkg, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// runOnce runs the workload's benchmark once in dir (its package's, as
// go test does) and returns its figure and the process's peak RSS.
func runOnce(dir, bin string, w workload) (float64, int64, error) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", "^Benchmark"+w.Bench+"$", "-test.benchtime", w.BenchTime, "-test.count", "1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, lastLines(string(out), 5))
	}
	v, err := metric(strings.NewReader(string(out)), w.Bench, w.Metric)
	if err != nil {
		return 0, 0, err
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	return v, rss, nil
}

// metric finds the value of unit on the result line of benchmark name in
// go test's output, e.g. "BenchmarkX-2  1000  708 ns/op  1412429 events/s".
func metric(out io.Reader, name, unit string) (float64, error) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark"+name) {
			continue
		}
		if rest := strings.TrimPrefix(fields[0], "Benchmark"+name); rest != "" && !strings.HasPrefix(rest, "-") {
			continue // another benchmark whose name starts with this one's
		}
		for i := 2; i+1 < len(fields); i += 2 {
			if fields[i+1] == unit {
				return strconv.ParseFloat(fields[i], 64)
			}
		}
		return 0, fmt.Errorf("benchmark %s reported no %s: %s", name, unit, sc.Text())
	}
	return 0, fmt.Errorf("benchmark %s printed no result", name)
}

// median of a non-empty list.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tMEDIAN\tRUNS\tTARGET\tPEAK RSS")
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t%s\t\n", r.Name, r.Err, r.Target)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f MB\n", r.Name, format(r.Median, r.Metric), len(r.Runs), r.Target, float64(r.PeakRSS)/1e6)
	}
	tw.Flush()
}

// format writes a figure in its unit, as people read it.
func format(v float64, unit string) string {
	switch unit {
	case "events/s":
		if v >= 1e6 {
			return fmt.Sprintf("%.2fM events/s", v/1e6)
		}
		return fmt.Sprintf("%.0fk events/s", v/1e3)
	case "ns/op":
		return fmt.Sprintf("%.1f ms", v/1e6)
	case "B/stream":
		return fmt.Sprintf("%.1f KB/stream", v/1e3)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
