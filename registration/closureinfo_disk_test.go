package registration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteClosureInfoFullDisk writes closure info to a 16 KiB tmpfs: the
// registration does not fit. Nothing is left: no output
// directory, no file of the three, no temporary.
func TestWriteClosureInfoFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	var infos []PathInfo
	for i := range 400 {
		infos = append(infos, PathInfo{
			Path:    fmt.Sprintf("/nix/store/%s%04d-p", strings.Repeat("a", 28), i),
			NarHash: "sha256:" + strings.Repeat("0", 64),
			NarSize: 1,
		})
	}
	g, err := NewGraph("", infos)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(mnt, "out")
	err = WriteClosureInfo(out, g)
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), out) {
		t.Fatalf("err = %v, want ENOSPC naming %s", err, out)
	}
	if left, _ := os.ReadDir(mnt); len(left) != 0 {
		t.Errorf("the full disk holds %v after the failure", left)
	}
	t.Log(err)
}
