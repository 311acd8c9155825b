package regularfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadAll(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		path     string
		max      int64
		noFollow bool
		want     string
		err      string
	}{
		{name: "file", path: file, max: 5, want: "hello"},
		{name: "over the limit", path: file, max: 4, err: "is over the 4 byte limit"},
		{name: "FIFO, not blocking", path: fifo, max: 5, err: "a FIFO, not a regular file"},
		{name: "directory", path: dir, max: 5, err: "a directory, not a regular file"},
		{name: "symlink followed", path: link, max: 5, want: "hello"},
		{name: "symlink refused", path: link, max: 5, noFollow: true, err: "a symlink, not a regular file"},
		{name: "missing", path: filepath.Join(dir, "none"), max: 5, err: "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadAll(c.path, c.max, c.noFollow)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				if strings.Contains(c.err, "not a regular file") && !errors.Is(err, ErrNotRegular) {
					t.Errorf("%v does not wrap ErrNotRegular", err)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
