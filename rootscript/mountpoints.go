//go:build linux

package rootscript

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mountPoints finds or makes, under the tree, where the child binds
// /proc, the device nodes, a /tmp and the store; what it makes, Changes
// leaves out.
func (t *Tree) mountPoints(cfg *config, storeDir string) error {
	t.made = nil
	for _, d := range []struct {
		name string
		to   *string
	}{{"proc", &cfg.Proc}, {"tmp", &cfg.Tmp}} {
		fi, err := os.Lstat(filepath.Join(t.root, d.name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := t.makeDirs(d.name + "/"); err != nil {
				return err
			}
			*d.to = "/" + d.name
		case err == nil && fi.IsDir() && d.name == "proc":
			*d.to = "/proc" // the image's own /tmp is kept as it is
		}
	}
	if err := t.devices(cfg); err != nil {
		return err
	}
	if storeDir == "" {
		return nil
	}
	store := strings.TrimPrefix(filepath.Clean(storeDir), "/")
	if err := t.makeDirs(store + "/"); err != nil {
		return err
	}
	ents, err := os.ReadDir(storeDir)
	if err != nil {
		return fmt.Errorf("reading the store: %w", err)
	}
	own, _ := os.ReadDir(filepath.Join(t.root, store))
	if len(own) == 0 || len(ents) > maxBinds {
		// The whole store in one mount, when the image has no store paths
		// of its own there (a base image's) that it would hide, or when
		// the store is too large to bind path by path (a build without
		// the sandbox sees the machine's).
		cfg.Binds = []string{storeDir}
		return nil
	}
	cfg.Store = "/" + store
	for _, ent := range ents {
		sp := filepath.Join(storeDir, ent.Name())
		fi, err := os.Lstat(sp)
		if err != nil {
			return fmt.Errorf("reading store path %s: %w", sp, err)
		}
		if err := t.placeFor(sp, filepath.Join(store, ent.Name()), fi); err != nil {
			return err
		}
		if fi.IsDir() || fi.Mode().IsRegular() {
			cfg.Binds = append(cfg.Binds, sp)
		}
	}
	return nil
}

// placeFor makes, at name in the tree unless something is there (a base
// image's copy), what store path sp (whose Lstat is fi) is bound onto: a
// directory or an empty file, or the symlink itself.
func (t *Tree) placeFor(sp, name string, fi os.FileInfo) error {
	p := filepath.Join(t.root, name)
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	var err error
	switch {
	case fi.IsDir():
		err = os.Mkdir(p, 0o755)
	case fi.Mode().IsRegular():
		err = os.WriteFile(p, nil, 0o644)
	default:
		var target string
		if target, err = os.Readlink(sp); err == nil {
			err = os.Symlink(target, p)
		}
	}
	if err != nil {
		return fmt.Errorf("making a place for %s in the tree: %w", sp, err)
	}
	t.made = append(t.made, name)
	return nil
}

// makeDirs makes the directories of name ("dev/x", or "tmp/" for tmp
// itself) the tree lacks, as mount points Changes leaves out.
func (t *Tree) makeDirs(name string) error {
	made, err := t.mkParents(name)
	t.made = append(t.made, made...)
	if err != nil {
		return fmt.Errorf("making a mount point for the script: %w", err)
	}
	return nil
}

// maxBinds is the most store paths bound one by one (over a base image's
// store); a larger store is bound whole.
const maxBinds = 4096

// devices are the build's device nodes a chrooted script gets, at their
// paths; the links to /proc/self/fd that go with them are made when the
// image has none.
var (
	devices  = []string{"dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty"}
	devLinks = map[string]string{"dev/fd": "/proc/self/fd", "dev/stdin": "/proc/self/fd/0", "dev/stdout": "/proc/self/fd/1", "dev/stderr": "/proc/self/fd/2"}
)

// devices finds or makes the mount points of the build's device nodes in
// the image's /dev (a directory of its own, which the script may change),
// and the /dev/fd links.
func (t *Tree) devices(cfg *config) error {
	if err := t.makeDirs("dev/x"); err != nil {
		return err
	}
	for _, name := range devices {
		if _, err := os.Stat("/" + name); err != nil {
			continue // the build has no such device
		}
		p := filepath.Join(t.root, name)
		if fi, err := os.Lstat(p); err == nil {
			if !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
				continue // the image has something else there: its own
			}
		} else {
			if err := os.WriteFile(p, nil, 0o666); err != nil {
				return fmt.Errorf("making a place for /%s in the tree: %w", name, err)
			}
			t.made = append(t.made, name)
		}
		cfg.Devs = append(cfg.Devs, "/"+name)
	}
	for name, target := range devLinks {
		p := filepath.Join(t.root, name)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("making /%s in the tree: %w", name, err)
		}
		t.made = append(t.made, name)
	}
	return nil
}

// removeMountPoints removes what mountPoints made, once the child and its
// mounts are gone; a directory the script wrote into stays.
func (t *Tree) removeMountPoints() {
	for i := len(t.made) - 1; i >= 0; i-- {
		os.Remove(filepath.Join(t.root, t.made[i]))
	}
}
