package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// Measured is a run of a command under RunRSS: its output, exit error
// and peak resident memory.
type Measured struct {
	Stdout, Stderr string
	// PeakRSS is the command's own peak resident set size in bytes (see
	// MeasuredCommand).
	PeakRSS int64
	Elapsed time.Duration
	Err     error
}

// RunRSS runs name with args in the test's environment plus env, under
// MeasuredCommand, killing it with its process group (and failing the
// test) after timeout: a hostile input must end in an error, not a hang.
// It returns what the command printed, how it exited and its peak RSS.
func RunRSS(t testing.TB, timeout time.Duration, env []string, name string, args ...string) Measured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd, rssFile := MeasuredCommand(t, true, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err = cmd.Wait()
		stop()
	}
	m := Measured{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start), Err: err}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%s %v still ran after %s (killed): it hangs on its input\nstderr: %s", name, args, timeout, m.Stderr)
	}
	if cmd.ProcessState != nil {
		m.PeakRSS = PeakRSSMiB(cmd, rssFile) << 20
	}
	return m
}

// String describes the run for a test's failure message.
func (m Measured) String() string {
	return fmt.Sprintf("exit %v after %s, peak RSS %d MiB\nstderr: %s", m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20, m.Stderr)
}
