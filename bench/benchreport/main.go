// Command benchreport runs socktui's benchmarks (`make bench`) and prints one
// table, every row a figure measured side by side with its floor or peer in
// the same run, with the goal beside it. It also writes the table to
// bench/results.md and the raw `go test -bench` output to bench/raw.txt.
//
// Each benchmark reports its own ratios with b.ReportMetric; this program
// only runs them and lays the figures out.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "bench/results.md", "where to write the table")
	raw := flag.String("raw", "bench/raw.txt", "where to write go test's output")
	only := flag.String("only", "", "run only the runs whose package contains this text")
	from := flag.String("from", "", "lay out an earlier run's go test output (such as bench/raw.txt) instead of running")
	flag.Parse()

	var all bytes.Buffer
	if *from != "" {
		b, err := os.ReadFile(*from)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		all.Write(b)
		*raw = ""
	}
	for _, r := range runs {
		if *from != "" {
			break
		}
		if *only != "" && !strings.Contains(r.pkg, *only) {
			continue
		}
		count := max(r.count, 1)
		args := []string{"test", "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime,
			"-count", strconv.Itoa(count), "-timeout", "20m", "./" + r.pkg}
		if len(r.args) > 0 {
			args = append(append(args, "-args"), r.args...)
		}
		fmt.Fprintf(os.Stderr, "benchreport: go %s\n", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Stdout = io.MultiWriter(&all, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "benchreport: %s: %v\n", r.pkg, err)
			fmt.Fprintf(&all, "FAIL %s: %v\n", r.pkg, err)
		}
	}
	if *raw == "" {
		// -from: the raw output is already on disk.
	} else if err := os.WriteFile(*raw, all.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	results := Parse(all.String())
	table := Render(results, rows, machine(), time.Now().UTC())
	fmt.Print(table)
	if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	for _, row := range rows {
		if _, ok := row.lookup(results); !ok {
			fmt.Fprintf(os.Stderr, "benchreport: no figure for %q\n", row.what)
			os.Exit(1)
		}
	}
}

// machine describes where the figures were measured.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d cores (%s), Linux %s, %s", host, runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), runtime.Version())
}
