//go:build linux

package rootscript

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/nixlayer/nixlayer/layers"
)

// Whiteout names, as the OCI image spec has them: a file ".wh.NAME"
// deletes NAME of the layers below, a file ".wh..wh..opq" in a directory
// hides everything the layers below have in it.
const (
	whiteoutPrefix = ".wh."
	opaqueName     = ".wh..wh..opq"
)

// found is a name of the tree after the script, as Changes reads it.
type found struct {
	name string
	st   syscall.Stat_t
	id   fileID
}

// find reads what is known of the file at p, the tree's name: what the
// script made unreadable to the builder (it was root) is opened up to be
// read; the entry keeps the mode it had.
func find(p, name string) (found, error) {
	f := found{name: name}
	if err := syscall.Lstat(p, &f.st); err != nil {
		return f, err
	}
	if need := openUp(f.st); need != 0 {
		if err := os.Chmod(p, os.FileMode(f.st.Mode&0o777|need)); err != nil {
			return f, err
		}
	}
	var err error
	f.id, _, err = statID(p)
	return f, err
}

// Changes reads the tree back as layer entries: without a Snapshot every
// file of the tree, else what is new or changed since it, with whiteouts
// for what was deleted and an opaque marker in a directory that was
// replaced. Owners, setuid/setgid bits and devices are those recorded;
// a second name of a file is a hard link to its first (in path order);
// file contents are read into Data; sockets are left out, as tar has no
// type for them. The mount points Run made are left out.
func (t *Tree) Changes() ([]layers.Entry, error) {
	var all []found
	made := map[string]bool{}
	for _, m := range t.made {
		made[m] = true
	}
	err := filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.root, p)
		name := filepath.ToSlash(rel)
		if name == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), whiteoutPrefix) {
			return fmt.Errorf("/%s: names starting with %q mark deletions in a layer; the script must not make one", name, whiteoutPrefix)
		}
		f, err := find(p, name)
		all = append(all, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading what the script made: %w", err)
	}
	sort.Slice(all, func(i, j int) bool { return lessName(all[i].name, all[j].name) })

	keep := map[string]bool{}
	opaque := map[string]bool{}
	nowDir := map[string]bool{} // every name there now: is it a directory
	for _, f := range all {
		id := f.id
		nowDir[f.name] = isDir(f.st)
		b, was := t.before[f.name]
		switch {
		case made[f.name]:
			// A mount point Run made and could not remove: kept only as
			// the directory of something the script put there.
		case t.before == nil || !was || inOpaque(f.name, opaque):
			keep[f.name] = true
		case b.dir && isDir(f.st) && t.removed[f.name]:
			// Removed and made again: nothing below it comes from the
			// layers below. (Inode numbers, which a new directory may
			// reuse, decide nothing: the bytes must not depend on them.)
			keep[f.name], opaque[f.name] = true, true
		case b.ctime != f.st.Ctim.Nano() || b.dir != isDir(f.st) || t.faked[id]:
			keep[f.name] = true
		}
	}
	// Every kept name's directories go with it.
	for name := range keep {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			keep[d] = true
		}
	}
	var out []layers.Entry
	first := map[fileID]string{}
	for _, f := range all {
		if !keep[f.name] {
			continue
		}
		id := f.id
		if a, ok := t.added[f.name]; ok && a.ctime == f.st.Ctim.Nano() && !t.faked[id] && a.entry.Type != tar.TypeDir {
			out = append(out, a.entry) // as it was given
			continue
		}
		e, ok, err := t.entry(f, first)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, e)
		if opaque[f.name] {
			out = append(out, whiteout(f.name+"/"+opaqueName))
		}
	}
	out = append(out, t.whiteouts(nowDir, opaque)...)
	sort.SliceStable(out, func(i, j int) bool { return layers.Less(out[i].Name, out[j].Name) })
	return out, nil
}

// whiteouts are the markers of what the snapshot had and the tree has no
// more: one for the topmost name deleted, in a directory that is a
// directory before and after (else its own change hides what it had).
func (t *Tree) whiteouts(nowDir map[string]bool, opaque map[string]bool) []layers.Entry {
	var out []layers.Entry
	for name := range t.before {
		if _, ok := nowDir[name]; ok || name == "." {
			continue
		}
		dir := path.Dir(name)
		if dir != "." && (!t.before[dir].dir || !nowDir[dir] || opaque[dir]) {
			continue
		}
		w := whiteoutPrefix + path.Base(name)
		if dir != "." {
			w = dir + "/" + w
		}
		out = append(out, whiteout(w))
	}
	return out
}

func whiteout(name string) layers.Entry {
	return layers.File(name, 0o644, nil)
}

// entry is the layer entry of a name of the tree; ok is false for what a
// layer cannot hold (sockets).
func (t *Tree) entry(f found, first map[fileID]string) (layers.Entry, bool, error) {
	id := f.id
	a := t.attrs[id]
	e := layers.Entry{Name: f.name, Mode: int64(f.st.Mode&0o7777) | a.Special, Uid: a.Uid, Gid: a.Gid,
		Uname: rootName(a.Uid), Gname: rootName(a.Gid)}
	p := filepath.Join(t.root, filepath.FromSlash(f.name))
	switch f.st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		e.Type = tar.TypeDir
	case syscall.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return e, false, fmt.Errorf("reading what the script made: %w", err)
		}
		e.Type, e.Linkname, e.Mode = tar.TypeSymlink, target, 0o777
	case syscall.S_IFIFO:
		e.Type = tar.TypeFifo
	case syscall.S_IFREG:
		if a.Device != 0 {
			e.Type, e.Devmajor, e.Devminor = a.Device, a.Major, a.Minor
			break
		}
		if f.st.Nlink > 1 {
			if to, ok := first[id]; ok {
				e.Type, e.Linkname = tar.TypeLink, to
				return e, true, nil
			}
			first[id] = f.name
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return e, false, fmt.Errorf("reading what the script made: %w", err)
		}
		e.Type, e.Data, e.Size = tar.TypeReg, data, int64(len(data))
	case syscall.S_IFSOCK:
		return e, false, nil
	default:
		return e, false, fmt.Errorf("the script made /%s, of a type a layer cannot hold (mode %o)", f.name, f.st.Mode)
	}
	return e, true, nil
}

// openUp is the owner's permission bits a file lacks to be read (and a
// directory to be walked) by the builder.
func openUp(st syscall.Stat_t) uint32 {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return 0o700 &^ (st.Mode & 0o700)
	case syscall.S_IFREG:
		return 0o400 &^ (st.Mode & 0o400)
	}
	return 0
}

func isDir(st syscall.Stat_t) bool { return st.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// inOpaque says whether name is inside a directory marked opaque.
func inOpaque(name string, opaque map[string]bool) bool {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if opaque[d] {
			return true
		}
	}
	return false
}

// rootName is "root" for id 0 and empty otherwise, as base.Flatten names
// owners.
func rootName(id int) string {
	if id == 0 {
		return "root"
	}
	return ""
}
