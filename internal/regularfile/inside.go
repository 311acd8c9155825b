package regularfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrOutside is wrapped by the errors for a path that leaves the directory
// it must stay in (an absolute name, "..", or a symlink on the way).
var ErrOutside = errors.New("not inside its directory")

// OpenInside opens the regular file rel inside the directory root without
// following a symlink anywhere below root: each directory on the way is
// opened with O_NOFOLLOW relative to the one before (openat), so neither a
// symlinked parent nor a symlink at rel leads out of root, and the file is
// then opened as Open does (no FIFO blocks, only a regular file). root
// itself may be a symlink (a store path given as ./result). Errors name
// root/rel.
func OpenInside(root, rel string) (*os.File, error) {
	full := filepath.Join(root, rel)
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("opening %s: %q leaves %s: %w", full, rel, root, ErrOutside)
	}
	dir, err := syscall.Open(root, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	comps := strings.Split(filepath.Clean(rel), string(filepath.Separator))
	for i, c := range comps[:len(comps)-1] {
		next, err := syscall.Openat(dir, c, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		syscall.Close(dir)
		if err != nil {
			return nil, parentError(filepath.Join(root, filepath.Join(comps[:i+1]...)), err)
		}
		dir = next
	}
	defer syscall.Close(dir)
	last := comps[len(comps)-1]
	f, err := OpenWith(func(flag int) (*os.File, error) {
		fd, err := syscall.Openat(dir, last, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: full, Err: err}
		}
		return os.NewFile(uintptr(fd), full), nil
	})
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err == syscall.ELOOP {
		return nil, fmt.Errorf("opening %s: %w", full, &notRegularError{"symlink"})
	}
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("opening %s: %w", full, err)
	}
	return f, err
}

// parentError says why directory p on the way could not be opened: a
// symlink or another file than a directory is ErrOutside.
func parentError(p string, err error) error {
	fi, lerr := os.Lstat(p)
	switch {
	case lerr == nil && fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("opening %s: a symlink, not a directory: %w", p, ErrOutside)
	case lerr == nil && !fi.IsDir():
		return fmt.Errorf("opening %s: a %s, not a directory: %w", p, kindOf(fi.Mode()), ErrOutside)
	}
	return &os.PathError{Op: "open", Path: p, Err: err}
}

// kindOf names any file type, a regular file too.
func kindOf(m os.FileMode) string {
	if m.IsRegular() {
		return "regular file"
	}
	return Kind(m)
}

// ReadAllInside reads the regular file rel inside root (see OpenInside),
// failing after max bytes with an error naming it and the limit.
func ReadAllInside(root, rel string, max int64) ([]byte, error) {
	f, err := OpenInside(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, filepath.Join(root, rel), max)
}
