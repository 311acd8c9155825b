//go:build linux

package rootscript

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
)

// ReadFile reads the regular file at the image path name (say
// "etc/passwd") of the tree as the image would find it: symlinks, "..",
// and absolute links are resolved inside the tree (a script's `ln -s /
// etc` makes /etc/passwd the tree's /passwd, never the build machine's).
// A name that is not there is an error wrapping fs.ErrNotExist; anything
// but a regular file, or a file over max bytes, is an error naming it.
func (t *Tree) ReadFile(name string, max int64) ([]byte, error) {
	root, err := unix.Open(t.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the root script's tree: %w", err)
	}
	defer unix.Close(root)
	f, err := regularfile.OpenWith(func(flag int) (*os.File, error) {
		fd, err := openIn(root, name, flag|unix.O_CLOEXEC|unix.O_NOCTTY)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: "/" + name, Err: err}
		}
		return os.NewFile(uintptr(fd), "/"+name), nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading /%s of the image: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading /%s of the image: %w", name, err)
	case int64(len(data)) > max:
		return nil, fmt.Errorf("/%s of the image is over the %d byte limit", name, max)
	}
	return data, nil
}

// Embed reads into Data the content of the entries that Changes left in
// the tree (those whose Source is in it), at most max bytes in all, for a
// layer that must outlive the tree (a stream script's). what names the
// script and the limit in the error for a file over it.
func (t *Tree) Embed(entries []layers.Entry, max int64, what string) error {
	var total int64
	for i := range entries {
		e := &entries[i]
		if e.Type != tar.TypeReg || !strings.HasPrefix(e.Source, t.root+"/") {
			continue
		}
		if total += e.Size; total > max {
			return fmt.Errorf("%s made /%s (%d bytes), past the %d bytes in all that can be embedded of the files it makes", what, e.Name, e.Size, max)
		}
		data, err := readSized(e.Source, e.Size)
		if err != nil {
			return fmt.Errorf("reading /%s, which %s made: %w", e.Name, what, err)
		}
		e.Data, e.Source = data, ""
	}
	return nil
}

// readSized reads the regular file p (not through a symlink), which must
// have size bytes.
func readSized(p string, size int64) ([]byte, error) {
	f, err := regularfile.Open(p, true)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, errors.New("it grew since the script ended")
	}
	return data, nil
}
