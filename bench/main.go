// Command bench runs the performance workloads of Rayvens for Go (issue
// 10) and the peer they are compared with, and prints one table: each
// workload's figure (the median of several runs) and their spread, its
// ratio to the baseline it is compared with, its target, its score against
// the target (1 = on target), and the peak RSS of the processes it ran.
//
//	go run ./bench                          # every workload, 5 runs each
//	go run ./bench -runs 3 -only 'Lambda|Benthos'
//	go run ./bench -out /tmp/results        # where the JSON and SVG go
//
// A workload is one of three kinds (the workloads table in workloads.go):
//   - a go test benchmark of the package whose hot path it measures (so
//     go test -bench and benchstat work on it too): bench builds each
//     package's test binary once and runs it once per run, so that a run's
//     peak RSS is its own (except for workloads marked Shared, which run
//     together with their package's others to pay its TestMain once per
//     run: the table says whose RSS they share); every metric on its result
//     line is kept;
//   - a peer: Benthos, built from its own module in bench/peers/benthos (so
//     that the main module does not depend on it; building it needs the Go
//     module proxy), which prints one JSON line;
//   - a whole process: rayvens run examples/stream.star and a hello-world
//     Go binary, each started 20 times per run, median wall time.
//
// -only selects workloads by ID (a benchmark's name without "Benchmark",
// BenthosBatch1, ProcessStream, ...) and brings in the baselines they are
// compared with, so that a ratio is always measured in the same run.
//
// Besides the table on stdout, bench writes bench-results.json (every
// run's every metric, the medians, the checks and their scores, the load
// of the machine before and after) and bench-results.svg (a bar chart of
// each check's score, so that the misses show at a glance) into -out,
// bench/results of the module by default (ignored by git); -json and -svg
// name either file elsewhere. It exits 1 if a workload failed.
//
// The machine this runs on is shared and noisy: compare figures taken in
// the same run, and read the SPREAD column.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is the JSON that bench writes.
type report struct {
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	Runs       int       `json:"runs"`
	CPUs       int       `json:"cpus"`
	GoVersion  string    `json:"go_version"`
	LoadBefore string    `json:"load_before"` // /proc/loadavg
	LoadAfter  string    `json:"load_after"`
	Results    []result  `json:"results"`
}

func main() {
	runs := flag.Int("runs", 5, "runs of each workload (the table shows their median)")
	only := flag.String("only", "", "run only the workloads whose ID matches this `regexp`, and their baselines")
	outDir := flag.String("out", "", "write bench-results.json and bench-results.svg into `DIR` (default: bench/results in the module)")
	jsonOut := flag.String("json", "", "write the JSON to `FILE` instead")
	svgOut := flag.String("svg", "", "write the SVG chart to `FILE` instead")
	flag.Parse()
	if *runs < 1 {
		usage("-runs must be at least 1")
	}
	if flag.NArg() > 0 {
		usage(fmt.Sprintf("unexpected argument %q", flag.Arg(0)))
	}
	selected := workloads
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			usage(fmt.Sprintf("-only: %v", err))
		}
		if selected = selectWorkloads(workloads, re); len(selected) == 0 {
			usage(fmt.Sprintf("-only %q matches no workload", *only))
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fail(err)
	}
	if *outDir == "" {
		*outDir = filepath.Join(root, "bench", "results")
	}
	if *jsonOut == "" {
		*jsonOut = filepath.Join(*outDir, "bench-results.json")
	}
	if *svgOut == "" {
		*svgOut = filepath.Join(*outDir, "bench-results.svg")
	}
	tmp, err := os.MkdirTemp("", "rayvens-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)

	rep := report{Started: time.Now(), Runs: *runs, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadAverage()}
	ctx := context.Background()
	b := newBuilder(root, tmp)
	rep.Results = measureAll(ctx, b, selected, *runs)
	judge(rep.Results)
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.LoadAfter = loadAverage()

	printTable(os.Stdout, rep.Results)
	fmt.Fprintf(os.Stderr, "bench: %d workloads in %s; load average %s before, %s after\n",
		len(rep.Results), time.Duration(rep.Seconds*float64(time.Second)).Round(time.Second), rep.LoadBefore, rep.LoadAfter)
	if err := writeOutputs(rep, *jsonOut, *svgOut); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s and %s\n", *jsonOut, *svgOut)
	for _, r := range rep.Results {
		if r.Err != "" {
			os.Exit(1)
		}
	}
}

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "bench: "+msg)
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	os.Exit(1)
}

// selectWorkloads is the workloads whose ID matches re and, transitively,
// the baselines they are compared with, in the table's order.
func selectWorkloads(all []workload, re *regexp.Regexp) []workload {
	byID := map[string]workload{}
	for _, w := range all {
		byID[w.ID] = w
	}
	want := map[string]bool{}
	var add func(id string)
	add = func(id string) {
		if want[id] {
			return
		}
		want[id] = true
		for _, c := range byID[id].Checks {
			if c.Baseline != "" {
				add(c.Baseline)
			}
		}
	}
	for _, w := range all {
		if re.MatchString(w.ID) {
			add(w.ID)
		}
	}
	return slices.DeleteFunc(slices.Clone(all), func(w workload) bool { return !want[w.ID] })
}

func writeOutputs(rep report, jsonPath, svgPath string) error {
	for _, p := range []string{jsonPath, svgPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // "->" and ">=" as they are
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if err := os.WriteFile(jsonPath, js.Bytes(), 0o644); err != nil {
		return err
	}
	f, err := os.Create(svgPath)
	if err != nil {
		return err
	}
	if err := writeSVG(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadAverage is the first three fields of /proc/loadavg, "" elsewhere.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b))
	return strings.Join(fields[:min(3, len(fields))], " ")
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	notHere := errors.New("run bench inside the rayvens module (go run ./bench)")
	if mod == "" || mod == os.DevNull {
		return "", notHere
	}
	text, err := os.ReadFile(mod)
	if err != nil {
		return "", err
	}
	if first, _, _ := strings.Cut(string(text), "\n"); strings.TrimSpace(first) != "module github.com/rayvens/rayvens" {
		return "", notHere // a peer's module
	}
	return filepath.Dir(mod), nil
}
