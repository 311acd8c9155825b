package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// AssertAbsent checks that nothing was left at out after a failure, nor a
// temporary file beside it.
func AssertAbsent(t testing.TB, out string) {
	t.Helper()
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("%s exists after a failure", out)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
