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

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
)

// Whiteout names, as the OCI image spec has them: a file ".wh.NAME"
// deletes NAME of the layers below, a file ".wh..wh..opq" in a directory
// hides everything the layers below have in it.
const (
	whiteoutPrefix = ".wh."
	opaqueName     = ".wh..wh..opq"
)

// found is a name of the tree after the script, as Changes reads it, in
// the order lessName gives (a directory before what it holds): what is
// needed of its status, and what Changes decides of it.
type found struct {
	name   string
	dev    uint64
	ino    uint64
	btime  int64 // see fileID
	ctime  int64
	mode   uint32
	nlink  uint32
	parent int32 // index of its directory in the list, -1 at the top
	keep   bool  // it goes into the layer
	opaque bool  // it was removed and made again: hides what was below
	inOpq  bool  // it is inside an opaque directory
}

func (f *found) id() fileID   { return fileID{f.dev, f.ino, f.btime} }
func (f *found) isDir() bool  { return f.mode&syscall.S_IFMT == syscall.S_IFDIR }
func (f *found) typ() uint32  { return f.mode & syscall.S_IFMT }
func (f *found) perm() uint32 { return f.mode & 0o7777 }

// Changes reads the tree back as layer entries: without a Snapshot every
// file of the tree, else what is new or changed since it, with whiteouts
// for what was deleted and an opaque marker in a directory that was
// replaced. Owners, setuid/setgid bits and devices are those recorded;
// a second name of a file is a hard link to its first (in path order);
// a regular file's content is left in the tree (Source names it, the
// entries are valid until Close), within the limits of a file and of all
// together; sockets are left out, as tar has no type for them. The
// mount points Run made are left out. Anything the script changed under
// the store directory is an error naming it: store paths are the
// closure's, byte for byte.
func (t *Tree) Changes() ([]layers.Entry, error) {
	if t.lim.entries == 0 {
		lim, err := readLimits()
		if err != nil {
			return nil, err
		}
		t.lim = lim
	}
	all, err := t.walk()
	if err != nil {
		return nil, fmt.Errorf("reading what the script made: %w", err)
	}
	t.mark(all)
	wh := t.whiteouts(all)
	if err := t.checkStore(all, wh); err != nil {
		return nil, err
	}
	out, err := t.entries(all, len(wh))
	if err != nil {
		return nil, err
	}
	out = append(out, wh...)
	sort.SliceStable(out, func(i, j int) bool { return layers.Less(out[i].Name, out[j].Name) })
	return out, nil
}

// walk lists the tree, in lessName order (filepath.WalkDir's), at most
// the limit of entries.
func (t *Tree) walk() ([]found, error) {
	var all []found
	var stack []int32 // the directories above the current name
	err := filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == t.root {
			return nil
		}
		if len(all) >= t.lim.entries {
			return fmt.Errorf("the tree holds more than %d files (the limit of entries, $%s)", t.lim.entries, envMaxEntries)
		}
		name := filepath.ToSlash(p[len(t.root)+1:])
		if strings.HasPrefix(d.Name(), whiteoutPrefix) {
			return fmt.Errorf("/%s: names starting with %q mark deletions in a layer; the script must not make one", name, whiteoutPrefix)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		// What the script made unreadable to the builder (it was root)
		// is opened up to be read; the entry keeps the mode it had.
		if need := openUp(st); need != 0 {
			if err := os.Chmod(p, os.FileMode(st.Mode&0o777|need)); err != nil {
				return err
			}
		}
		for len(stack) > 0 && !strings.HasPrefix(name, all[stack[len(stack)-1]].name+"/") {
			stack = stack[:len(stack)-1]
		}
		parent := int32(-1)
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		id, _, err := statID(p)
		if err != nil {
			return err
		}
		all = append(all, found{name: name, dev: id.Dev, ino: id.Ino, btime: id.Btime, ctime: st.Ctim.Nano(),
			mode: st.Mode, nlink: uint32(st.Nlink), parent: parent})
		if d.IsDir() {
			stack = append(stack, int32(len(all)-1))
		}
		return nil
	})
	return all, err
}

// mark decides what goes into the layer: every name without a Snapshot,
// else what is new or changed (a removed directory made again is opaque),
// and the directories of what goes.
func (t *Tree) mark(all []found) {
	made := map[string]bool{}
	for _, m := range t.made {
		made[m] = true
	}
	for i := range all {
		f := &all[i]
		if f.parent >= 0 {
			p := &all[f.parent]
			f.inOpq = p.opaque || p.inOpq
		}
		b, was := t.snapOf(f.name)
		switch {
		case made[f.name]:
			// A mount point Run made and could not remove: kept only as
			// the directory of something the script put there.
		case t.before == nil || !was || f.inOpq:
			f.keep = true
		case b.dir && f.isDir() && t.removed[f.name]:
			// Removed and made again: nothing below it comes from the
			// layers below. (Inode numbers, which a new directory may
			// reuse, decide nothing: the bytes must not depend on them.)
			f.keep, f.opaque = true, true
		case b.ctime != f.ctime || b.dir != f.isDir() || t.faked[f.id()]:
			f.keep = true
		}
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].keep && all[i].parent >= 0 {
			all[all[i].parent].keep = true
		}
	}
}

// storeDir is the directory of the image's store paths (an image path).
func (t *Tree) storeDir() string {
	if t.store != "" {
		return t.store
	}
	return "nix/store" // Nix's default, when Run was not told
}

// checkStore refuses what the script changed (all marked) or deleted
// (whiteouts) below the store directory:
// the image's store paths are the closure's, as the SBOM and the image's
// Nix database say.
func (t *Tree) checkStore(all []found, whiteouts []layers.Entry) error {
	under := t.storeDir() + "/"
	for i := range all {
		f := &all[i]
		if f.keep && strings.HasPrefix(f.name, under) && !t.asGiven(f) {
			return fmt.Errorf("the script changed /%s, in the store: store paths are read-only (they are the closure's, whose hashes the image's SBOM and Nix database give)", f.name)
		}
	}
	for _, w := range whiteouts {
		if strings.HasPrefix(w.Name, under) {
			return fmt.Errorf("the script deleted /%s, in the store: store paths are read-only", path.Join(path.Dir(w.Name), strings.TrimPrefix(path.Base(w.Name), whiteoutPrefix)))
		}
	}
	return nil
}

// asGiven says whether f is an entry Add put that the script left as it
// was: it comes back as it was given.
func (t *Tree) asGiven(f *found) bool {
	a, ok := t.added[f.name]
	return ok && a.ctime == f.ctime && !t.faked[f.id()] && a.entry.Type != tar.TypeDir
}

// entries are the layer entries of the names marked to keep, with room
// for more after them.
func (t *Tree) entries(all []found, more int) ([]layers.Entry, error) {
	n := more
	for i := range all {
		if all[i].keep {
			n++
			if all[i].opaque {
				n++
			}
		}
	}
	out := make([]layers.Entry, 0, n)
	first := map[fileID]string{}
	var total int64
	for i := range all {
		f := &all[i]
		if !f.keep {
			continue
		}
		if t.asGiven(f) {
			out = append(out, t.added[f.name].entry)
			continue
		}
		e, ok, err := t.entry(f, first, &total)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, e)
		if f.opaque {
			out = append(out, whiteout(f.name+"/"+opaqueName))
		}
	}
	return out, nil
}

// whiteouts are the markers of what the snapshot had and the tree has no
// more: one for the topmost name deleted, in a directory that is a
// directory before and after (else its own change hides what it had).
func (t *Tree) whiteouts(all []found) []layers.Entry {
	var out []layers.Entry
	now := func(name string) *found {
		i := sort.Search(len(all), func(i int) bool { return cmpName(all[i].name, name) >= 0 })
		if i < len(all) && all[i].name == name {
			return &all[i]
		}
		return nil
	}
	for _, b := range t.before {
		if b.name == "." || now(b.name) != nil {
			continue
		}
		dir := path.Dir(b.name)
		if dir != "." {
			was, _ := t.snapOf(dir)
			d := now(dir)
			if !was.dir || d == nil || !d.isDir() || d.opaque {
				continue
			}
		}
		w := whiteoutPrefix + path.Base(b.name)
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
// layer cannot hold (sockets). total counts the bytes of regular files.
func (t *Tree) entry(f *found, first map[fileID]string, total *int64) (layers.Entry, bool, error) {
	a := t.attrs[f.id()]
	e := layers.Entry{Name: f.name, Mode: int64(f.perm()) | a.Special, Uid: a.Uid, Gid: a.Gid,
		Uname: rootName(a.Uid), Gname: rootName(a.Gid)}
	p := filepath.Join(t.root, filepath.FromSlash(f.name))
	switch f.typ() {
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
		if f.nlink > 1 {
			if to, ok := first[f.id()]; ok {
				e.Type, e.Linkname = tar.TypeLink, to
				return e, true, nil
			}
			first[f.id()] = f.name
		}
		size, err := t.sized(p, f, total)
		if err != nil {
			return e, false, err
		}
		e.Type, e.Source, e.Size = tar.TypeReg, p, size
	case syscall.S_IFSOCK:
		return e, false, nil
	default:
		return e, false, fmt.Errorf("the script made /%s, of a type a layer cannot hold (mode %o)", f.name, f.mode)
	}
	return e, true, nil
}

// sized is the size of the regular file f at p, within the limits of a
// file and of all together (total, the bytes counted so far): a file over
// them is an error. Its content stays in the tree; the layer writer reads
// it, and refuses it if its size is no longer this one.
func (t *Tree) sized(p string, f *found, total *int64) (int64, error) {
	file, err := regularfile.Open(p, true)
	if err != nil {
		return 0, fmt.Errorf("reading /%s, which the script made: %w", f.name, err)
	}
	fi, err := file.Stat()
	file.Close()
	if err != nil {
		return 0, fmt.Errorf("reading /%s, which the script made: %w", f.name, err)
	}
	size := fi.Size()
	switch {
	case size > t.lim.fileBytes:
		return 0, fmt.Errorf("the script made /%s of %d bytes: more than the %d a file it makes may have ($%s)",
			f.name, size, t.lim.fileBytes, envMaxFileBytes)
	case *total+size > t.lim.bytes:
		return 0, fmt.Errorf("the script made more than %d bytes of files, /%s (%d bytes) among them ($%s)",
			t.lim.bytes, f.name, size, envMaxBytes)
	}
	*total += size
	return size, nil
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

// rootName is "root" for id 0 and empty otherwise, as base.Flatten names
// owners.
func rootName(id int) string {
	if id == 0 {
		return "root"
	}
	return ""
}
