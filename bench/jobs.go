package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// A job is the workloads that run in one process: one workload, or the go
// test benchmarks of one package with one -benchtime that are marked
// Shared (their package's TestMain costs more than they do, so that they
// pay it once per run together). The workloads of a job share their
// process's peak RSS.
type job []workload

func (j job) ids() []string {
	var ids []string
	for _, w := range j {
		ids = append(ids, w.ID)
	}
	return ids
}

// jobs groups ws into jobs, in the order of their first workloads.
func jobs(ws []workload) []job {
	var js []job
	at := map[string]int{} // a shared group's key -> its job
	for _, w := range ws {
		if !w.Shared || w.Kind != goBench {
			js = append(js, job{w})
			continue
		}
		key := w.Where + " " + w.BenchTime
		if i, ok := at[key]; ok {
			js[i] = append(js[i], w)
			continue
		}
		at[key] = len(js)
		js = append(js, job{w})
	}
	return js
}

// measureAll runs every job runs times and returns the workloads' results
// in the order of ws. A failure to build, or of a run, is the error of the
// results it concerns, not the end of bench.
func measureAll(ctx context.Context, b *builder, ws []workload, runs int) []result {
	byID := map[string]result{}
	for _, j := range jobs(ws) {
		for _, r := range measure(ctx, b, j, runs) {
			byID[r.ID] = r
		}
	}
	results := make([]result, 0, len(ws))
	for _, w := range ws {
		results = append(results, byID[w.ID])
	}
	return results
}

// measure builds what the job needs and runs it runs times.
func measure(ctx context.Context, b *builder, j job, runs int) []result {
	fmt.Fprintf(os.Stderr, "bench: %s (%s %s %s) ", names(j), j[0].Kind, j[0].Where, strings.Join(j.ids(), " "))
	start := time.Now()
	defer func() {
		fmt.Fprintf(os.Stderr, " %s\n", time.Since(start).Round(100*time.Millisecond))
	}()
	results := make([]result, len(j))
	for i, w := range j {
		results[i].workload = w
		if len(j) > 1 {
			results[i].SharedWith = slices.DeleteFunc(j.ids(), func(id string) bool { return id == w.ID })
		}
	}
	bin, err := b.binary(ctx, j[0])
	if err != nil {
		for i := range results {
			results[i].Err = err.Error()
		}
		return results
	}
	for range runs {
		reps, rss := runOnce(ctx, b.root, bin, j)
		for i, rep := range reps {
			r := &results[i]
			if r.Err != "" {
				continue // its first failure is the one that counts
			}
			err := rep.err
			if err == nil {
				_, err = judged(rep.m, r.workload)
			}
			if err != nil {
				r.Err = err.Error()
				continue
			}
			r.Runs = append(r.Runs, rep.m)
			r.PeakRSS = max(r.PeakRSS, rss)
		}
		fmt.Fprint(os.Stderr, ".")
	}
	for i := range results {
		if results[i].Err == "" {
			results[i].Median = medians(results[i].Runs)
		} else {
			results[i].Runs = nil
		}
	}
	return results
}

func names(j job) string {
	var ns []string
	for _, w := range j {
		ns = append(ns, w.Name)
	}
	return strings.Join(ns, "; ")
}
