package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Run of a command under RunRSS: its output, exit error and peak resident
// memory.
type Measured struct {
	Stdout, Stderr string
	// PeakRSS is the command's peak resident set size in bytes, as
	// /usr/bin/time measures it (ru_maxrss).
	PeakRSS int64
	Elapsed time.Duration
	Err     error
}

// RunRSS runs name with args in the test's environment plus env, killing
// it (and failing the test) after timeout: a hostile input must end in an
// error, not a hang. It returns what the command printed, how it exited
// and its peak RSS. It skips the test when /usr/bin/time is missing.
func RunRSS(t testing.TB, timeout time.Duration, env []string, name string, args ...string) Measured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The peak RSS comes from /usr/bin/time, the command's parent: the
	// rusage of a child this (large) test process starts itself counts the
	// test process's own pages, which the child shares until it execs.
	rssFile := filepath.Join(t.TempDir(), "maxrss")
	timeArgs := append([]string{"-o", rssFile, "-f", "%M", name}, args...)
	cmd := exec.CommandContext(ctx, RequireTool(t, "time"), timeArgs...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	m := Measured{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start), Err: err}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%s %v still ran after %s (killed): it hangs on its input\nstderr: %s", name, args, timeout, m.Stderr)
	}
	out, rerr := os.ReadFile(rssFile)
	// time writes "Command exited with non-zero status N" before the figure.
	fields := strings.Fields(string(out))
	if rerr != nil || len(fields) == 0 {
		t.Fatalf("reading the peak RSS of %s from /usr/bin/time: %v %q", name, rerr, out)
	}
	kib, perr := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if perr != nil {
		t.Fatalf("reading the peak RSS of %s from /usr/bin/time: %v", name, perr)
	}
	m.PeakRSS = kib << 10
	return m
}

// String describes the run for a test's failure message.
func (m Measured) String() string {
	return fmt.Sprintf("exit %v after %s, peak RSS %d MiB\nstderr: %s", m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20, m.Stderr)
}
