// Package cputime reads how much CPU time processes have used. Benchmarks
// use it to set a wall time beside the CPU work behind it: the part of a
// duration that is another process's work (the systemd manager's), or the
// floor that the machine's cores put under concurrent work.
package cputime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process returns the CPU time used so far by the threads of process pid
// that are alive now (the first field of each /proc/PID/task/TID/schedstat,
// in nanoseconds). Threads that have exited are not counted, so a
// difference of two readings is exact only for processes that keep their
// threads, as systemd and Go servers do.
func Process(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("cputime: %w", err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", t.Name(), "schedstat"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, fmt.Errorf("cputime: empty schedstat for task %s of %d", t.Name(), pid)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cputime: schedstat of %d: %w", pid, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// Self returns the user and system CPU time this process has used so far,
// its exited threads included.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
