package base

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/nixlayer/nixlayer/layers"
)

// File is one file of an image's flattened filesystem.
type File struct {
	Path     string // relative to the root, no leading slash: "usr/bin/sh"
	Type     byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode     int64  // permission bits, setuid, setgid and sticky included
	Uid, Gid int
	Size     int64  // of a regular file
	Linkname string // symlink target
	Digest   string // "sha256:<hex>" of a regular file's content
	Layer    int    // the layer that wrote it last
}

// Index is the flattened filesystem of an image: its layers applied in
// order, whiteouts applied, hard links resolved to copies, devices and
// FIFOs skipped (see the package documentation).
type Index struct {
	img      *Image
	t        *tree
	skipped  []string
	spool    *os.File // Flatten's content spool, or nil
	spoolOff int64
	keep     map[string]bool // paths whose content Content may read (WithKeep)
	cur      entryRef        // the entry apply sees
}

// Index reads every layer once (see Walk) and returns the flattened
// filesystem. The result is computed once and cached.
func (img *Image) Index() (*Index, error) {
	img.indexOnce.Do(func() { img.index, img.indexErr = img.buildIndex(nil) })
	return img.index, img.indexErr
}

// buildIndex applies the layers to a tree. With spool, the content of every
// regular file is also appended to it and its offset kept.
func (img *Image) buildIndex(spool *os.File) (*Index, error) {
	x := &Index{img: img, t: newTree(img.opts.limits.MaxEntries), spool: spool, keep: img.opts.keep}
	if err := img.Walk(x.apply); err != nil {
		return nil, err
	}
	return x, nil
}

// apply applies one entry, cleaned by Walk, of layer to the index.
func (x *Index) apply(layer int, hdr *tar.Header, r io.Reader) error {
	if x.cur.layer != layer || x.cur.ord == 0 {
		x.cur = entryRef{layer, 0}
	}
	x.cur.ord++
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		x.skipped = append(x.skipped, fmt.Sprintf("layer %d: %s (type %q)", layer, hdr.Name, hdr.Typeflag))
		return nil
	}
	if strings.HasPrefix(path.Base(hdr.Name), ".wh.") {
		return x.t.whiteout(hdr.Name, layer)
	}
	n := &node{typ: hdr.Typeflag, mode: hdr.Mode & 0o7777, uid: hdr.Uid, gid: hdr.Gid, spool: -1, src: x.cur}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		n.link = hdr.Linkname
	case tar.TypeLink:
		var err error
		if n, err = x.t.hardlink(hdr.Linkname); err != nil {
			return err
		}
	case tar.TypeReg:
		h := sha256.New()
		w := io.Writer(h)
		if x.spool != nil {
			n.spool = x.spoolOff
			w = io.MultiWriter(h, x.spool)
		}
		size, err := io.Copy(w, r)
		if err != nil {
			return err
		}
		x.spoolOff += size
		n.size = size
		copy(n.sum[:], h.Sum(nil))
	}
	return x.t.put(hdr.Name, n, layer)
}

func (n *node) file(name string) File {
	f := File{Path: name, Type: n.typ, Mode: n.mode, Uid: n.uid, Gid: n.gid, Linkname: n.link, Layer: n.layer}
	if n.typ == tar.TypeReg {
		f.Size = n.size
		f.Digest = "sha256:" + hex.EncodeToString(n.sum[:])
	}
	return f
}

// Files returns every file, in path order (a directory before its
// contents).
func (x *Index) Files() []File {
	var out []File
	_ = x.t.walk(func(name string, n *node) error {
		out = append(out, n.file(name))
		return nil
	})
	return out
}

// Skipped lists the device nodes and FIFOs the layers held, which the index
// leaves out: "layer 1: dev/null (type '3')".
func (x *Index) Skipped() []string { return append([]string(nil), x.skipped...) }

// Lookup returns the file that a layer entry named name would meet: its
// parent path resolved through the image's symlinks as a runtime does when
// it unpacks a layer, its last component not followed. The File's Path is
// the resolved path.
func (x *Index) Lookup(name string) (File, bool, error) {
	c, err := layers.CleanName(name)
	if err != nil {
		return File{}, false, err
	}
	n, resolved, err := x.t.lookup(c)
	if err != nil || n == nil {
		if errors.Is(err, errNotDir) {
			err = nil // a file in the way: nothing exists there
		}
		return File{}, false, err
	}
	return n.file(resolved), true, nil
}

// Content returns the content of the regular file at name as the image
// leaves it, when Open was given WithKeep(name); ok is false when the image
// has no regular file there. Symlinks on the way, the last one included,
// are followed inside the image tree (never on the host), as a runtime
// does. A file over max bytes is an ErrLimit error: the content is read
// into memory. Use CopyContent for large files.
func (x *Index) Content(name string, max int64) (data []byte, ok bool, err error) {
	var b bytes.Buffer
	ok, err = x.CopyContent(name, &b, max)
	if err != nil || !ok {
		return nil, ok, err
	}
	return b.Bytes(), true, nil
}

// CopyContent writes the content of the regular file at name (see
// Content) to w, failing with ErrLimit after max bytes. The content is
// not held in memory: the layer that wrote it is read again (and checked
// again against its digests).
func (x *Index) CopyContent(name string, w io.Writer, max int64) (ok bool, err error) {
	c, err := layers.CleanName(name)
	if err != nil {
		return false, err
	}
	if !x.keep[c] {
		return false, fmt.Errorf("the content of %q was not kept: open the image WithKeep(%q)", c, c)
	}
	n, resolved, err := x.t.follow(c)
	if err != nil || n == nil || n.typ != tar.TypeReg {
		if errors.Is(err, errNotDir) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading /%s of image %q: %w", c, x.img.src, err)
		}
		return false, nil
	}
	if n.size > max {
		return false, fmt.Errorf("reading /%s (as /%s) of image %q: %d bytes is over the %d byte limit: %w", c, resolved, x.img.src, n.size, max, ErrLimit)
	}
	if err := x.img.entryContent(n.src, w, max); err != nil {
		return false, fmt.Errorf("reading /%s (as /%s) of image %q: %w", c, resolved, x.img.src, err)
	}
	return true, nil
}

// Same reports whether the base image already has e, as e would be
// unpacked over it: same type, permission bits, owner, symlink target, and
// for regular files the same content (hashing e's Source or Data).
func (x *Index) Same(e layers.Entry) (bool, error) {
	f, ok, err := x.Lookup(e.Name)
	if err != nil || !ok {
		return false, err
	}
	if f.Type != e.Type || f.Mode != e.Mode&0o7777 || f.Uid != e.Uid || f.Gid != e.Gid {
		return false, nil
	}
	switch e.Type {
	case tar.TypeSymlink:
		return f.Linkname == e.Linkname, nil
	case tar.TypeReg:
		if e.Size != f.Size {
			return false, nil // no need to read it
		}
		sum, size, err := entrySum(e)
		if err != nil {
			return false, err
		}
		return size == f.Size && "sha256:"+hex.EncodeToString(sum) == f.Digest, nil
	}
	return true, nil
}

// entrySum hashes the content of a regular file entry.
func entrySum(e layers.Entry) ([]byte, int64, error) {
	h := sha256.New()
	if e.Source == "" {
		n, _ := io.Copy(h, bytes.NewReader(e.Data))
		return h.Sum(nil), n, nil
	}
	f, err := os.Open(e.Source)
	if err != nil {
		return nil, 0, fmt.Errorf("hashing %q for entry %q: %w", e.Source, e.Name, err)
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, 0, fmt.Errorf("hashing %q for entry %q: %w", e.Source, e.Name, err)
	}
	return h.Sum(nil), n, nil
}

// Conflict reports whether unpacking e over the base would destroy a base
// directory: e is not a directory where the base has one or a symlink that
// leads to one, or e is a directory where the base has a symlink to one
// (the nixpkgs "contents replaces /bin" bug), or a file of the base stands
// where e needs a parent directory. It returns the base file in the way.
func (x *Index) Conflict(e layers.Entry) (File, bool) {
	c, err := layers.CleanName(e.Name)
	if err != nil {
		return File{}, false
	}
	n, resolved, err := x.t.lookup(c)
	if err != nil {
		return File{Path: c}, true // a parent is a file, or a symlink loop
	}
	if n == nil {
		return File{}, false
	}
	f := n.file(resolved)
	switch {
	case n.typ == tar.TypeDir:
		return f, e.Type != tar.TypeDir
	case n.typ == tar.TypeSymlink && x.leadsToDir(resolved):
		return f, true
	}
	return File{}, false
}

// leadsToDir reports whether the symlink at name resolves to a directory.
func (x *Index) leadsToDir(name string) bool {
	_, _, err := x.t.dir(name, false, 0)
	return err == nil
}

// Filter prepares our layer entries for unpacking over the base: it drops
// entries the base already has identically (Same) except directories,
// which stay so that every parent keeps its entry; it drops our directory
// entries where the base has a symlink to a directory (so "bin/sh" goes
// through the base's "bin -> usr/bin"); and it fails, naming both, when
// our entry would replace a base directory by a file or symlink.
func (x *Index) Filter(entries []layers.Entry) ([]layers.Entry, error) {
	out := make([]layers.Entry, 0, len(entries))
	for _, e := range entries {
		if f, bad := x.Conflict(e); bad {
			if e.Type == tar.TypeDir && f.Type == tar.TypeSymlink {
				continue
			}
			return nil, fmt.Errorf("entry %q (type %q) would replace %q (type %q) of the base image, which leads to a directory: %w", e.Name, e.Type, f.Path, f.Type, ErrUnsafe)
		}
		if e.Type != tar.TypeDir {
			same, err := x.Same(e)
			if err != nil {
				return nil, err
			}
			if same {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}
