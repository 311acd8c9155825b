package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	f, err := os.CreateTemp(TempDir(out), tempPattern(out))
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
	tmp, err := os.MkdirTemp(TempDir(out), tempPattern(out))
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

// tempPattern is the name of out's temporaries: hidden, starting with a
// dot, so that it never parses as a store path (see the package
// documentation) and never starts with ".gc-" (which some Nix versions'
// garbage collectors skip).
func tempPattern(out string) string { return ".nixlayer-tmp-" + filepath.Base(out) + "-" }

var tempDirs sync.Map // directory of an output → directory for its temporaries

// TempDir returns the directory where the temporaries of out go: the
// Nix build directory ($NIX_BUILD_TOP) when Nix runs us as a builder and a
// rename from there to out's directory works (same filesystem and mount),
// else out's directory. The choice is probed once per directory.
func TempDir(out string) string {
	dir := filepath.Dir(out)
	top := os.Getenv("NIX_BUILD_TOP")
	if top == "" {
		return dir
	}
	if v, ok := tempDirs.Load(dir); ok {
		return v.(string)
	}
	chosen := dir
	if renameWorks(top, dir) {
		chosen = top
	}
	tempDirs.Store(dir, chosen)
	return chosen
}

// renameWorks reports whether a file made in from can be renamed into to.
func renameWorks(from, to string) bool {
	f, err := os.CreateTemp(from, ".nixlayer-probe-")
	if err != nil {
		return false
	}
	f.Close()
	dst := filepath.Join(to, filepath.Base(f.Name()))
	if err := os.Rename(f.Name(), dst); err != nil {
		os.Remove(f.Name()) // EXDEV: another filesystem or mount
		return false
	}
	os.Remove(dst)
	return true
}
