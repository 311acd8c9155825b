package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// best runs fns in turn, opts.runs rounds, and returns the fastest time of
// each in seconds. Taking turns lets a case and its baseline see the same
// machine: a noisy neighbour slows both, not one of them.
func (b *bench) best(fns ...func() error) ([]float64, error) {
	best := make([]float64, len(fns))
	for i := 0; i < b.opts.runs; i++ {
		for j, fn := range fns {
			start := time.Now()
			if err := fn(); err != nil {
				return nil, err
			}
			if s := time.Since(start).Seconds(); i == 0 || s < best[j] {
				best[j] = s
			}
		}
	}
	return best, nil
}

// measure runs a command with stdout to /dev/null (and stdin from *stdin
// when given) and returns its peak RSS in MiB.
func (b *bench) measure(stdin *string, name string, args ...string) (float64, error) {
	cmd := exec.CommandContext(b.ctx, name, args...)
	if stdin != nil {
		f, err := os.Open(*stdin)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	cmd.Stdout = devnull
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1")
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, nil
	}
	return float64(ru.Maxrss) / 1024, nil // Linux reports KiB
}

// hashFiles is the physical floor: one sha256 over the bytes of every
// regular file of paths, read in order.
func hashFiles(paths []string) (int64, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			r, err := os.Open(f)
			if err != nil {
				return err
			}
			defer r.Close()
			m, err := io.CopyBuffer(h, r, buf)
			n += m
			return err
		})
		if err != nil {
			return n, fmt.Errorf("hashing %s: %w", p, err)
		}
	}
	return n, nil
}

// report prints the table.
func report(w io.Writer, c *closure, rows []row) error {
	fmt.Fprintf(w, "closure %s: %d paths, %d files, %.0f MB; GOMAXPROCS/nproc %d\n\n", c.top, len(c.paths), c.files, c.bytes/1e6, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tnixlayer s\tbaseline\tbaseline s\tratio\tlimit\tpeak RSS MiB\tok\t")
	failed := 0
	for _, r := range rows {
		ok, ratio, limit, base := "-", "-", "-", "-"
		if r.limit > 0 {
			ok = "yes"
			if !r.ok() {
				ok, failed = "NO", failed+1
			}
			ratio, limit = fmt.Sprintf("%.2f", r.ratio), fmt.Sprintf("%.2f", r.limit)
		}
		if r.base > 0 {
			base = fmt.Sprintf("%.2f", r.base)
		}
		rssOK := ""
		if r.rssMiB > limitRSSMiB {
			rssOK, failed = " (over 100)", failed+1
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%s\t%s\t%.0f%s\t%s\t%s\n", r.name, r.secs, r.baseName, base, ratio, limit, r.rssMiB, rssOK, ok, r.note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d figure(s) over their limit\n", failed)
	}
	return nil
}
