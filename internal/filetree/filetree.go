package filetree

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
)

// Tree is what Write makes: Files maps a relative path to its text,
// Executables likewise for programs (scripts with a #! line), Symlinks a
// relative path to its target (kept as given) and Dirs are directories to
// make, empty or not. Parents are made as needed, mode 0755; files are
// 0444, executables 0555.
type Tree struct {
	Files       map[string]string `json:"files"`
	Executables map[string]string `json:"executables"`
	Symlinks    map[string]string `json:"symlinks"`
	Dirs        []string          `json:"dirs"`
}

// Write writes t at out, atomically: on error nothing is left at out. A
// path that is absolute after its leading slash is removed, or leaves the
// tree (".."), or is given twice, is an error naming it.
func Write(out string, t Tree) error {
	seen := map[string]string{}
	claim := func(kind, p string) (string, error) {
		clean := path.Clean("/" + p)[1:]
		if clean == "" || strings.Contains(p, "\x00") || strings.HasPrefix(path.Clean(p), "..") {
			return "", fmt.Errorf("writing %s: %s path %q is not a path inside the output", out, kind, p)
		}
		if prev, dup := seen[clean]; dup {
			return "", fmt.Errorf("writing %s: %q is both a %s and a %s", out, p, prev, kind)
		}
		seen[clean] = kind
		return clean, nil
	}
	return atomicfile.Dir(out, func(dir string) error {
		for _, d := range sorted(t.Dirs) {
			rel, err := claim("directory", d)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			kind  string
			texts map[string]string
			mode  os.FileMode
		}{{"file", t.Files, 0o444}, {"program", t.Executables, 0o555}} {
			for _, p := range keys(f.texts) {
				rel, err := claim(f.kind, p)
				if err != nil {
					return err
				}
				if err := writeText(filepath.Join(dir, rel), f.texts[p], f.mode); err != nil {
					return err
				}
			}
		}
		for _, p := range keys(t.Symlinks) {
			rel, err := claim("symlink", p)
			if err != nil {
				return err
			}
			full := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(t.Symlinks[p], full); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeText writes a file and its parents; mode is set after the write, as
// the umask may narrow what WriteFile makes.
func writeText(full, text string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(full, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Chmod(full, mode)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
