package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// MeasuredCommand is a command running name with args under GNU time
// (/usr/bin/time, when there) so that PeakRSSMiB gives its own peak RSS:
// the rusage of a process Go starts also counts the RSS its parent had
// when it was forked (Go forks with vfork), the test's own. Unwrapped
// (wrap false, for a command the test signals) it runs name itself.
func MeasuredCommand(t testing.TB, wrap bool, name string, args ...string) (*exec.Cmd, string) {
	if _, err := os.Stat("/usr/bin/time"); err != nil || !wrap {
		return exec.Command(name, args...), ""
	}
	f := filepath.Join(t.TempDir(), "maxrss")
	return exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", f, name}, args...)...), f
}

// PeakRSSMiB is the peak RSS, in MiB, of the command MeasuredCommand gave
// once it ended: GNU time's figure, else the command's rusage (an upper
// bound, the test's own RSS included).
func PeakRSSMiB(cmd *exec.Cmd, rssFile string) int64 {
	if b, err := os.ReadFile(rssFile); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if n, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
				return n >> 10
			}
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss >> 10
	}
	return 0
}
