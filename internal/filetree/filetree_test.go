package filetree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	err := Write(out, Tree{
		Files:       map[string]string{"etc/passwd": "root:x:0:0::/:/bin/sh\n"},
		Executables: map[string]string{"bin/hi": "#!/bin/sh\necho hi\n"},
		Symlinks:    map[string]string{"bin/sh": "/nix/store/x-bash/bin/bash"},
		Dirs:        []string{"var/empty"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "etc/passwd")); err != nil || string(b) != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("etc/passwd = %q, %v", b, err)
	}
	for name, mode := range map[string]os.FileMode{"etc/passwd": 0o444, "bin/hi": 0o555} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, mode)
		}
	}
	if l, err := os.Readlink(filepath.Join(out, "bin/sh")); err != nil || l != "/nix/store/x-bash/bin/bash" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(out, "var/empty")); err != nil || !fi.IsDir() {
		t.Errorf("var/empty: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		tree Tree
		want string
	}{
		{"outside", Tree{Files: map[string]string{"../x": ""}}, `file path "../x" is not a path inside`},
		{"empty", Tree{Dirs: []string{"/"}}, `directory path "/" is not a path inside`},
		{"twice", Tree{Files: map[string]string{"a": ""}, Symlinks: map[string]string{"/a": "b"}}, `"/a" is both a file and a symlink`},
		{"file and executable", Tree{Files: map[string]string{"bin/x": ""}, Executables: map[string]string{"bin/x": ""}}, `"bin/x" is both a file and a program`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := Write(out, tt.tree)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write: %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Lstat(out); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed Write", out)
			}
		})
	}
}
