// Package atomicfile writes an output file or directory under a temporary
// name next to its final place and renames it there once complete, so a
// failure or a crash never leaves a partial output at that place.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File creates a temporary file next to out, lets write fill it, makes it
// read-only (0444) and renames it to out; on any error the temporary file
// is removed and out is untouched.
func File(out string, write func(*os.File) error) error {
	return FileMode(out, 0o444, write)
}

// FileMode is File with the final mode of the file given (0555 for an
// executable output).
func FileMode(out string, mode os.FileMode, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating output %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err = os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("moving output into place at %s: %w", out, err)
	}
	return nil
}

// Dir is File for a directory: write fills a temporary directory next to
// out, which is then made 0755 and renamed to out.
func Dir(out string, write func(dir string) error) (err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating output %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err = os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	if err = os.Rename(tmp, out); err != nil {
		return fmt.Errorf("moving output into place at %s: %w", out, err)
	}
	return nil
}
