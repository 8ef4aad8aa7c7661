//go:build !linux

package main

// physicalMemory is the machine's memory, or 0 when unknown: known on
// Linux only.
func physicalMemory() uint64 { return 0 }

// addressSpace is the process's address-space limit: known on Linux only.
func addressSpace() uint64 { return 0 }
