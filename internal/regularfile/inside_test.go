package regularfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadAllInside(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	secret := filepath.Join(dir, "secret")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "blobs", "sha256"), 0o755))
	must(os.WriteFile(filepath.Join(root, "blobs", "sha256", "file"), []byte("hello"), 0o644))
	must(os.WriteFile(secret, []byte("secret"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "elsewhere", "sha256"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "elsewhere", "sha256", "file"), []byte("hello"), 0o644))
	must(os.Symlink(secret, filepath.Join(root, "blobs", "sha256", "link")))
	must(os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(root, "linked")))
	must(os.WriteFile(filepath.Join(root, "plain"), nil, 0o644))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	rootLink := filepath.Join(dir, "result")
	must(os.Symlink(root, rootLink))
	for _, c := range []struct {
		name, root, rel string
		want, err       string
		outside         bool
	}{
		{name: "file", root: root, rel: "blobs/sha256/file", want: "hello"},
		{name: "root given as a symlink", root: rootLink, rel: "blobs/sha256/file", want: "hello"},
		{name: "symlink out", root: root, rel: "blobs/sha256/link", err: "blobs/sha256/link: a symlink, not a regular file"},
		{name: "symlinked parent", root: root, rel: "linked/sha256/file", err: "/linked: a symlink, not a directory", outside: true},
		{name: "file as parent", root: root, rel: "plain/x", err: "/plain: a regular file, not a directory", outside: true},
		{name: "dot dot", root: root, rel: "../secret", err: "leaves", outside: true},
		{name: "absolute", root: root, rel: secret, err: "leaves", outside: true},
		{name: "FIFO", root: root, rel: "fifo", err: "/fifo: a FIFO, not a regular file"},
		{name: "over the limit", root: root, rel: "blobs/sha256/file", err: "over the 4 byte limit"},
		{name: "missing", root: root, rel: "blobs/none", err: "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			max := int64(5)
			if c.name == "over the limit" {
				max = 4
			}
			got, err := ReadAllInside(c.root, c.rel, max)
			if c.err == "" {
				if err != nil || string(got) != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if c.outside != errors.Is(err, ErrOutside) {
				t.Errorf("%v: errors.Is(ErrOutside) = %v", err, !c.outside)
			}
		})
	}
}
