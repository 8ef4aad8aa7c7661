package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"
)

// The memory a run may use (--max-memory). By default it is 80% of what the
// process can have: the machine's memory, or less when a cgroup (a
// container) or an address-space limit (ulimit -v) bounds it. The Go
// runtime's soft limit is set to the same value, so that the garbage
// collector works to stay under it, and the run fails with one clear error
// instead of the Go runtime's out-of-memory crash.

func maxMemoryFlag() cli.Flag {
	return &cli.StringFlag{Name: "max-memory", Usage: "the memory the run may use, e.g. `SIZE` 512MiB or 2GB; an allocation past it fails, a run that grows past it is stopped (default: 80% of the memory available to the process; off: no limit)"}
}

// maxMemory returns the run's memory limit in bytes (0: none) and sets the
// Go runtime's soft limit to it.
func maxMemory(c *cli.Context) (uint64, error) {
	limit := defaultMaxMemory()
	if v := c.String("max-memory"); v == "off" {
		limit = 0
	} else if v != "" {
		n, err := humanize.ParseBytes(v)
		if err != nil || n == 0 {
			return 0, usageError{fmt.Errorf("%s: --max-memory must be a size such as 512MiB or 2GB, or off; got %q", c.Command.Name, v)}
		}
		limit = n
	}
	if limit > 0 && limit <= math.MaxInt64 {
		debug.SetMemoryLimit(int64(limit))
	}
	return limit, nil
}

// defaultMaxMemory is 80% of the least of the machine's memory, the
// cgroup's limit and half the address-space limit (the Go runtime reserves
// address space it does not use), or 0 when none is known.
func defaultMaxMemory() uint64 {
	avail := physicalMemory()
	for _, n := range []uint64{cgroupMemory(), addressSpace() / 2} {
		if n > 0 && (avail == 0 || n < avail) {
			avail = n
		}
	}
	return avail / 10 * 8
}

// cgroupMemory is the memory limit of the process's cgroup (v2, then v1),
// or 0.
func cgroupMemory() uint64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n < 1<<60 { // "max", or v1's huge "unlimited"
			return n
		}
	}
	return 0
}
