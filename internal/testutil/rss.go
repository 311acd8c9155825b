package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Run of a command under RunRSS: its output, exit error and peak resident
// memory.
type Measured struct {
	Stdout, Stderr string
	// PeakRSS is the child's peak resident set size in bytes (getrusage
	// ru_maxrss of the process).
	PeakRSS int64
	Elapsed time.Duration
	Err     error
}

// RunRSS runs name with args in the test's environment plus env, killing
// it (and failing the test) after timeout: a hostile input must end in an
// error, not a hang. It returns what the command printed, how it exited
// and its peak RSS.
func RunRSS(t testing.TB, timeout time.Duration, env []string, name string, args ...string) Measured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
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
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.PeakRSS = ru.Maxrss << 10
		}
	}
	return m
}

// String describes the run for a test's failure message.
func (m Measured) String() string {
	return fmt.Sprintf("exit %v after %s, peak RSS %d MiB\nstderr: %s", m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20, m.Stderr)
}
