//go:build linux

package rootscript

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nixlayer/nixlayer/layers"
)

// fileID names a file on disk whatever its names: what owners are
// recorded by, so that they follow renames and hard links. Btime, the
// file's birth time (statx), tells a file from one made later under the
// same inode number, which file systems like ext4 hand out again once a
// file is deleted: what was recorded of the deleted file is not the new
// one's (see identify).
type fileID struct {
	Dev, Ino uint64
	Btime    int64
}

// attr is what the disk of a single-id user namespace cannot hold about a
// file: its owner, the setuid and setgid bits, and, for an empty file that
// stands for a device node, the device.
type attr struct {
	Uid, Gid     int
	Special      int64 // mode bits 06000
	Device       byte  // tar.TypeChar or tar.TypeBlock, or 0
	Major, Minor int64
}

// snap is what Snapshot keeps of a name, to tell later whether it
// changed: its change time (nanoseconds; see waitClock) and whether it is
// a directory. Inode numbers are not kept: a file system may give a
// deleted file's number to a new one, and the layer must not depend on it.
type snap struct {
	name  string
	ctime int64
	dir   bool
}

// Tree is a directory a root script runs over, with what is known about
// its files: the owners and devices recorded when they were put there or
// faked by the script, and the snapshot Changes compares with.
type Tree struct {
	top    string // holds root and work; removed by Close
	root   string // the tree itself
	work   string // the run's own files: script output, results, TMPDIR
	attrs  map[fileID]attr
	before []snap // in lessName order; nil until Snapshot: every file is new
	// made are the directories Run made as mount points (image paths);
	// Changes leaves them out unless the script put something there.
	made []string
	// added are the entries Add put, by name: one the script left as it
	// was comes back from Changes as it was given (its content read from
	// where it was, not copied out of the tree).
	added    map[string]added
	latest   int64     // the latest change time Add made
	dirModes []dirMode // what finish gives the directories put
	// faked are the files the script's faked calls changed: a chown does
	// not move a file's change time.
	faked map[fileID]bool
	// removed are the directories the script removed (image paths): one
	// that is there again after it is opaque.
	removed map[string]bool
	lim     limits // of the run and the capture
	store   string // the store directory (an image path), when Run was given one
}

type dirMode struct {
	path string
	perm os.FileMode
}

type added struct {
	ctime int64
	entry layers.Entry
}

// New makes an empty tree in a new directory under parent (os.TempDir()
// when empty).
func New(parent string) (*Tree, error) {
	top, err := os.MkdirTemp(parent, "nixlayer-root-")
	if err != nil {
		return nil, fmt.Errorf("making a directory for a root script: %w", err)
	}
	t := &Tree{top: top, root: filepath.Join(top, "root"), work: filepath.Join(top, "work"), attrs: map[fileID]attr{}, added: map[string]added{}, faked: map[fileID]bool{}, removed: map[string]bool{}}
	for _, d := range []string{t.root, t.work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(top)
			return nil, fmt.Errorf("making a directory for a root script: %w", err)
		}
	}
	return t, nil
}

// Dir is the tree's directory on disk.
func (t *Tree) Dir() string { return t.root }

// Close removes the tree from disk, whatever modes the script left.
func (t *Tree) Close() error {
	filepath.WalkDir(t.top, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(t.top)
}

// Add puts entries into the tree, replacing what is at their names; their
// owners and setuid/setgid bits are recorded. A regular file's content is
// its Data or the file at Source.
func (t *Tree) Add(entries []layers.Entry) error {
	sorted := append([]layers.Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return lessName(sorted[i].Name, sorted[j].Name) })
	for _, e := range sorted {
		var content io.Reader
		if e.Type == tar.TypeReg {
			if e.Source == "" {
				content = strings.NewReader(string(e.Data))
			} else {
				f, err := os.Open(e.Source)
				if err != nil {
					return fmt.Errorf("putting /%s into the root script's tree: %w", e.Name, err)
				}
				err = t.put(e, io.LimitReader(f, e.Size))
				f.Close()
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := t.put(e, content); err != nil {
			return err
		}
	}
	if err := t.finish(); err != nil {
		return err
	}
	for _, e := range sorted {
		p := filepath.Join(t.root, filepath.FromSlash(e.Name))
		_, ctime, err := statID(p)
		if err != nil {
			return err
		}
		t.latest = max(t.latest, ctime)
		t.added[e.Name] = added{ctime: ctime, entry: e}
	}
	return nil
}

// Extract puts the entries of a tar stream (a flattened base image,
// base.Flatten) into the tree, with their owners recorded.
func (t *Tree) Extract(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t.finish()
		}
		if err != nil {
			return fmt.Errorf("reading the base image for the root script: %w", err)
		}
		name := strings.Trim(path.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		e := layers.Entry{Name: name, Type: h.Typeflag, Mode: h.Mode, Uid: h.Uid, Gid: h.Gid,
			Linkname: h.Linkname, Size: h.Size, Devmajor: h.Devmajor, Devminor: h.Devminor}
		if e.Type == tar.TypeRegA {
			e.Type = tar.TypeReg
		}
		if e.Type == tar.TypeLink {
			e.Linkname = strings.Trim(path.Clean("/"+h.Linkname), "/")
		}
		if err := t.put(e, tr); err != nil {
			return err
		}
	}
}

// put makes one entry at its name, content being a regular file's bytes.
func (t *Tree) put(e layers.Entry, content io.Reader) error {
	name, err := layers.CleanName(e.Name)
	if err != nil {
		return err
	}
	p := filepath.Join(t.root, filepath.FromSlash(name))
	if err := t.place(name, p, e.Type == tar.TypeDir); err != nil {
		return fmt.Errorf("putting /%s into the root script's tree: %w", name, err)
	}
	if err := t.make(p, e, content); err != nil {
		return fmt.Errorf("putting /%s into the root script's tree: %w", name, err)
	}
	return nil
}

// place makes the directories above name and removes what is at p,
// unless both it and the entry are directories.
func (t *Tree) place(name, p string, dir bool) error {
	if _, err := t.mkParents(name); err != nil {
		return err
	}
	if fi, err := os.Lstat(p); err == nil && !(fi.IsDir() && dir) {
		return os.RemoveAll(p)
	}
	return nil
}

// make makes the entry e at p and records its owner, setuid/setgid bits
// and device.
func (t *Tree) make(p string, e layers.Entry, content io.Reader) error {
	perm := os.FileMode(e.Mode & 0o777)
	if e.Mode&0o1000 != 0 {
		perm |= os.ModeSticky
	}
	a := attr{Uid: e.Uid, Gid: e.Gid, Special: e.Mode & 0o6000}
	var err error
	switch e.Type {
	case tar.TypeDir:
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// Its mode once what goes in it is there (a directory of the
		// store is not writable).
		t.dirModes = append(t.dirModes, dirMode{p, perm})
		return t.record(p, a, os.Chmod(p, 0o700))
	case tar.TypeReg, tar.TypeChar, tar.TypeBlock:
		if e.Type != tar.TypeReg {
			a.Device, a.Major, a.Minor = e.Type, e.Devmajor, e.Devminor
			content = nil
		}
		err = writeFile(p, content)
	case tar.TypeSymlink:
		return t.record(p, a, os.Symlink(e.Linkname, p))
	case tar.TypeLink:
		if _, err := t.mkParents(e.Linkname); err != nil {
			return err
		}
		return os.Link(filepath.Join(t.root, filepath.FromSlash(e.Linkname)), p)
	case tar.TypeFifo:
		err = syscall.Mkfifo(p, 0o600)
	default:
		return fmt.Errorf("entry type %q is not a file, directory, symlink, hard link, device or FIFO", e.Type)
	}
	if err == nil {
		err = os.Chmod(p, perm)
	}
	return t.record(p, a, err)
}

// writeFile makes a new file at p holding content (none when nil).
func writeFile(p string, content io.Reader) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if content != nil {
		_, err = io.Copy(f, content)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkParents makes the directories above name (a clean image path) that
// are missing, and returns them (image paths, top first). A parent that
// is a symlink or not a directory is refused, so that nothing is put
// outside the tree.
func (t *Tree) mkParents(name string) ([]string, error) {
	var made []string
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		p := filepath.Join(t.root, filepath.FromSlash(dir))
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil {
				return made, err
			}
			made = append(made, dir)
		case err != nil:
			return made, err
		case fi.Mode()&fs.ModeSymlink != 0:
			return made, fmt.Errorf("/%s in the image is a symlink, not a directory: nothing is put through it", dir)
		case !fi.IsDir():
			return made, fmt.Errorf("/%s in the image is not a directory", dir)
		}
	}
	return made, nil
}

// finish gives the directories put their modes, the deepest first.
func (t *Tree) finish() error {
	for i := len(t.dirModes) - 1; i >= 0; i-- {
		d := t.dirModes[i]
		if err := os.Chmod(d.path, d.perm); err != nil {
			return fmt.Errorf("putting the root script's tree: %w", err)
		}
	}
	t.dirModes = nil
	return nil
}

// record keeps a for the file at p, once made (err: the making failed).
func (t *Tree) record(p string, a attr, err error) error {
	if err != nil {
		return err
	}
	id, _, err := statID(p)
	if err != nil {
		return err
	}
	// Root's file with no special bits, the most common, is not kept:
	// the zero attr is what Changes assumes (and a stale one of an inode
	// number reused is dropped).
	if a == (attr{}) {
		delete(t.attrs, id)
	} else {
		t.attrs[id] = a
	}
	return nil
}

// statID is the identity and the change time of the file at p, not
// following a symlink.
func statID(p string) (fileID, int64, error) {
	id, ctime, err := identify(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fileID{}, 0, fmt.Errorf("reading %s: %w", p, err)
	}
	return id, ctime, nil
}
