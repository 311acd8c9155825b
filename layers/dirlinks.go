package layers

import (
	"archive/tar"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxDirlinks bounds the symlinks to directories followed on one path of a
// contents walk (CopyFollowDirlinks), and the links a name is resolved
// through (CopyKeepDirlinks): the 40 of the kernel's ELOOP.
const maxDirlinks = 40

// walkContents calls visit for every file below the contents directory
// root, parents first and in name order, with its entry named relative to
// root, and its path on disk. With follow, a symlink to a directory in
// the store (the directory holding root) is walked as that directory, as
// rsync -k copies it (dockerTools' buildImage without
// keepContentsDirlinks): a directory entry with the directory's mode, then
// its files, whose Source is their resolved path. A symlink to anything
// outside the store stays a symlink: what it points to is the build
// machine's, not the closure's. A loop of such links, or more than
// maxDirlinks of them on one path, is an error naming it.
func walkContents(root string, follow bool, visit func(p string, e Entry) error) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("reading contents %s: %w", root, err)
	}
	store := ""
	if follow {
		if store, err = filepath.EvalSymlinks(filepath.Dir(root)); err != nil {
			return fmt.Errorf("reading contents %s: %w", root, err)
		}
	}
	return walkDir(root, "", store, []os.FileInfo{fi}, visit)
}

// walkDir walks dir (named rel in the image) for walkContents; store, when
// not empty, is the directory whose symlinks to directories are followed.
func walkDir(dir, rel, store string, above []os.FileInfo, visit func(p string, e Entry) error) error {
	children, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading contents %s: %w", dir, err)
	}
	for _, d := range children {
		p, name := filepath.Join(dir, d.Name()), path.Join(rel, d.Name())
		e, err := fromDisk(p, name)
		if err != nil {
			return err
		}
		if e.Type == tar.TypeSymlink && store != "" {
			real, fi, ok := dirInStore(p, store)
			if ok {
				if err := dirlinkOK(p, fi, above); err != nil {
					return err
				}
				if err := visit(p, Dir(name, int64(fi.Mode().Perm()))); err != nil {
					return err
				}
				if err := walkDir(real, name, store, append(above, fi), visit); err != nil {
					return err
				}
				continue
			}
		}
		if err := visit(p, e); err != nil {
			return err
		}
		if e.Type == tar.TypeDir {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("reading contents %s: %w", p, err)
			}
			if err := walkDir(p, name, store, append(above, fi), visit); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirInStore resolves the symlink p: its target's real path and status,
// when it is a directory inside store.
func dirInStore(p, store string) (string, os.FileInfo, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil || !strings.HasPrefix(real, store+"/") {
		return "", nil, false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.IsDir() {
		return "", nil, false
	}
	return real, fi, true
}

// dirlinkOK refuses to follow the symlink p to the directory fi when that
// directory is one being walked (a loop) or the path has too many links.
func dirlinkOK(p string, fi os.FileInfo, above []os.FileInfo) error {
	for _, a := range above {
		if os.SameFile(a, fi) {
			return fmt.Errorf("contents symlink %s points to a directory it is in: a loop (copied as a directory, as rsync -k does without keepContentsDirlinks)", p)
		}
	}
	if len(above) > maxDirlinks+1 {
		return fmt.Errorf("contents symlink %s is more than %d directories deep", p, maxDirlinks)
	}
	return nil
}

// throughDirlinks resolves name through the symlinks to directories that
// the merged entries hold (byName indexes them), as rsync -K writes
// through the receiver's links to directories: a name below a symlink
// whose target (relative to its directory, or absolute from the image
// root) is a directory entry gets that directory's name instead. self
// reports that name is such a symlink itself.
func throughDirlinks(name string, entries []Entry, byName map[string]int) (resolved string, self bool) {
	for hops := 0; hops < maxDirlinks; hops++ {
		link, target, ok := dirlinkAbove(name, entries, byName)
		if !ok {
			return name, false
		}
		if link == name {
			return name, true
		}
		name = target + strings.TrimPrefix(name, link)
	}
	return name, false
}

// dirlinkAbove returns the first symlink at name or above it whose target
// is a directory entry, and that target.
func dirlinkAbove(name string, entries []Entry, byName map[string]int) (link, target string, ok bool) {
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		prefix := name[:i]
		j, found := byName[prefix]
		if !found {
			return "", "", false
		}
		e := entries[j]
		if e.Type != tar.TypeSymlink {
			continue
		}
		t := e.Linkname
		if !path.IsAbs(t) {
			t = path.Join(path.Dir("/"+prefix), t)
		}
		t, err := CleanName(t)
		if err != nil {
			return "", "", false
		}
		if k, found := byName[t]; found && entries[k].Type == tar.TypeDir {
			return prefix, t, true
		}
		return "", "", false
	}
	return "", "", false
}
