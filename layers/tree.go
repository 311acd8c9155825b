package layers

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// StoreDir returns the entries of the store directory dir (absolute, as
// Nix's store setting: /nix/store by default) and of every directory above
// it, mode 0755, parents first: "nix" and "nix/store" for /nix/store.
func StoreDir(dir string) []Entry {
	var dirs []Entry
	for d := path.Clean("/" + dir); d != "/"; d = path.Dir(d) {
		dirs = append(dirs, Dir(d[1:], 0o755))
	}
	slices.Reverse(dirs)
	return dirs
}

// StoreDirs returns the directory entries a layer with the given store
// paths starts with: StoreDir of each path's directory, once each and
// sorted. A store path lands in the image where it is on the build machine,
// so the store directory is the closure's (Nix's store setting), not a
// constant.
func StoreDirs(storePaths []string) []Entry {
	seen := map[string]bool{}
	var dirs []Entry
	for _, p := range storePaths {
		for _, e := range StoreDir(path.Dir(path.Clean("/" + p))) {
			if !seen[e.Name] {
				seen[e.Name] = true
				dirs = append(dirs, e)
			}
		}
	}
	Sort(dirs)
	return dirs
}

// StorePath returns the entries of one store path as they appear in an image:
// the path itself and everything below it, at the same place in the image
// as on the build machine (/nix/store/<name> is nix/store/<name>).
func StorePath(storePath string) ([]Entry, error) {
	name, err := CleanName(storePath)
	if err != nil {
		return nil, fmt.Errorf("store path %q: %w", storePath, err)
	}
	return Tree(storePath, name)
}

// Tree returns the entries for the file tree at dir, named name and below
// in the image. Ownership is root, modes are the permission bits on disk
// (Nix makes them 0444/0555), hard links become regular files and symlinks
// are kept as they are. A device, FIFO or socket is an error.
func Tree(dir, name string) ([]Entry, error) {
	dir = filepath.Clean(dir) // WalkDir cleans the paths below it
	var entries []Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		rel := name
		if p != dir {
			rel = name + "/" + filepath.ToSlash(strings.TrimPrefix(p, dir+"/"))
		}
		e, err := fromDisk(p, rel)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// fromDisk describes the file at p as an entry named name, without following
// a symlink at p.
func fromDisk(p, name string) (Entry, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return Entry{}, fmt.Errorf("reading %s: %w", p, err)
	}
	e := Entry{Name: name, Mode: int64(fi.Mode().Perm()), Uname: "root", Gname: "root"}
	if fi.Mode()&fs.ModeSetuid != 0 {
		e.Mode |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		e.Mode |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		e.Mode |= 0o1000
	}
	switch {
	case fi.Mode().IsRegular():
		e.Type, e.Size, e.Source = tar.TypeReg, fi.Size(), p
	case fi.IsDir():
		e.Type = tar.TypeDir
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return Entry{}, fmt.Errorf("reading symlink %s: %w", p, err)
		}
		e.Type, e.Linkname, e.Mode = tar.TypeSymlink, target, 0o777
	default:
		return Entry{}, fmt.Errorf("%s is a %s; only files, directories and symlinks can go into an image", p, fi.Mode().Type())
	}
	return e, nil
}

// ContentsMode says how a contents path appears at the image root.
type ContentsMode int

const (
	// Copy copies the files of a contents path into the root, as
	// dockerTools.buildImage does (cp -dr): symlinks stay symlinks.
	Copy ContentsMode = iota
	// Link makes directories at the root and symlinks every other file to
	// its store path, as buildLayeredImage's symlinkJoin of contents does.
	Link
	// CopyFollowDirlinks copies as Copy, except that a symlink to a
	// directory is copied as that directory (dockerTools' buildImage,
	// rsync -ak).
	CopyFollowDirlinks
	// CopyKeepDirlinks copies as Copy, and a content's directory whose
	// name is an earlier content's symlink to a directory goes into that
	// directory, the symlink kept (buildImage's keepContentsDirlinks =
	// true, rsync -aK).
	CopyKeepDirlinks
)

// Copies reports whether the mode copies the files (any but Link).
func (m ContentsMode) Copies() bool { return m != Link }

// Contents returns the root entries for the given contents store paths: the
// children of each path, merged, under the image root. When two contents
// provide the same file, the first one in the list wins, as in symlinkJoin.
// A directory in one and a non-directory in another is an error naming both
// (see CopyFollowDirlinks and CopyKeepDirlinks for symlinks to directories).
// A contents path that is a file (not a directory) adds nothing to the root.
func Contents(paths []string, mode ContentsMode) ([]Entry, error) {
	byName := map[string]int{}
	origin := map[string]string{}
	var entries []Entry
	for _, root := range paths {
		root = filepath.Clean(root)
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("reading contents %s: %w", root, err)
		}
		if !fi.IsDir() {
			continue
		}
		err = walkContents(root, mode == CopyFollowDirlinks, func(p string, e Entry) error {
			rel := e.Name
			if mode == Link && e.Type != tar.TypeDir {
				e = Symlink(rel, p)
			}
			if mode == CopyKeepDirlinks {
				var self bool
				if rel, self = throughDirlinks(rel, entries, byName); self && e.Type == tar.TypeDir {
					return nil // the earlier symlink stays; what is below goes through it
				}
				e.Name = rel
			}
			if i, seen := byName[rel]; seen {
				prev := entries[i]
				if (prev.Type == tar.TypeDir) != (e.Type == tar.TypeDir) {
					return fmt.Errorf("contents %s and %s both provide /%s, once as a directory and once not", origin[rel], root, rel)
				}
				return nil // the first contents path wins
			}
			byName[rel] = len(entries)
			origin[rel] = root
			entries = append(entries, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// Merge returns entries with every missing parent directory added (mode
// 0755, root) and sorted for writing. A later entry with the same name
// replaces an earlier one; directories named twice are kept once.
func Merge(groups ...[]Entry) []Entry {
	byName := map[string]int{}
	var out []Entry
	add := func(e Entry) {
		if i, ok := byName[e.Name]; ok {
			out[i] = e
			return
		}
		byName[e.Name] = len(out)
		out = append(out, e)
	}
	for _, g := range groups {
		for _, e := range g {
			add(e)
		}
	}
	for _, e := range out {
		for dir := path.Dir(e.Name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if _, ok := byName[dir]; ok {
				break
			}
			add(Dir(dir, 0o755))
		}
	}
	Sort(out)
	return out
}
