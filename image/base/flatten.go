package base

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nixlayer/nixlayer/internal/atomicfile"
)

// Flatten writes the flattened root filesystem of img to w as a tar: every
// layer applied in order with whiteouts applied, hard links written as
// regular files, devices and FIFOs left out (see the package
// documentation). It is deterministic: entries in path order (a directory
// right before its contents), every time set to mtime, uid and gid as the
// image has them, user and group names "root" for id 0 and empty otherwise,
// no xattrs. Names are those of dockerTools' exportImage (`tar -C root -c
// .`): the root directory first as "./" (mode 0755, root), then "./bin/",
// "./bin/sh", ...; directory names end in "/".
//
// The content of the files is spooled to an unlinked temporary file while
// the layers are read, so that it can be written in path order.
func Flatten(img *Image, w io.Writer, mtime time.Time) error {
	spool, err := os.CreateTemp(img.opts.tempDir, "nixlayer-flatten-*")
	if err != nil {
		return fmt.Errorf("flattening image %q: %w", img.src, err)
	}
	os.Remove(spool.Name())
	defer spool.Close()
	x, err := img.buildIndex(spool)
	if err != nil {
		return fmt.Errorf("flattening image %q: %w", img.src, err)
	}
	tw := tar.NewWriter(w)
	err = tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: x.t.root.mode, Uname: "root", Gname: "root", ModTime: mtime})
	if err == nil {
		err = x.t.walk(func(name string, n *node) error {
			return flattenEntry(img, tw, spool, name, n, mtime)
		})
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("flattening image %q: %w", img.src, err)
	}
	return nil
}

// flattenEntry writes the node n at name (clean, relative) of a flattened
// image, its content from the spool.
func flattenEntry(img *Image, tw *tar.Writer, spool *os.File, name string, n *node, mtime time.Time) error {
	if err := img.opts.ctx.Err(); err != nil {
		return fmt.Errorf("stopped: %w", err)
	}
	hdr := &tar.Header{
		Name:     "./" + name,
		Typeflag: n.typ,
		Mode:     n.mode,
		Uid:      n.uid,
		Gid:      n.gid,
		Uname:    rootName(n.uid),
		Gname:    rootName(n.gid),
		ModTime:  mtime,
		Linkname: n.link,
	}
	switch n.typ {
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeReg:
		hdr.Size = n.size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing %q: %w", name, err)
	}
	if n.typ == tar.TypeReg {
		if _, err := io.Copy(tw, ctxReader{img.opts.ctx, io.NewSectionReader(spool, n.spool, n.size)}); err != nil {
			return fmt.Errorf("writing %q: %w", name, err)
		}
	}
	return nil
}

func rootName(id int) string {
	if id == 0 {
		return "root"
	}
	return ""
}

// Export writes the flattened root filesystem of the image at src (see
// Open and Flatten) to the file dst, atomically: a temporary file in dst's
// directory renamed over dst once complete, removed on failure.
func Export(src, dst string, mtime time.Time, opts ...Option) error {
	img, err := Open(src, opts...)
	if err != nil {
		return err
	}
	defer img.Close()
	return writeAtomic(dst, func(w io.Writer) error { return Flatten(img, w, mtime) })
}

// writeAtomic writes dst through write, buffered, via a temporary file
// renamed over dst on success.
func writeAtomic(dst string, write func(io.Writer) error) error {
	return atomicfile.FileMode(dst, 0o644, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// ExportLayer writes one layer of the image at src, uncompressed, to dst
// (atomically): the n-th from the bottom for n > 0, from the top for n < 0
// (-1 is the top layer). A layer the image does not have is an error
// saying how many it has.
func ExportLayer(src, dst string, n int, opts ...Option) error {
	img, err := Open(src, opts...)
	if err != nil {
		return err
	}
	defer img.Close()
	ls := img.Layers()
	i := n - 1
	if n < 0 {
		i = len(ls) + n
	}
	if n == 0 || i < 0 || i >= len(ls) {
		return fmt.Errorf("image %s has %d layers: there is no layer %d (1 to %d from the bottom, -1 to -%d from the top)", src, len(ls), n, len(ls), len(ls))
	}
	return writeAtomic(dst, func(w io.Writer) error {
		rc, err := ls[i].Uncompressed()
		if err != nil {
			return fmt.Errorf("reading layer %d of %s: %w", n, src, err)
		}
		defer rc.Close()
		if _, err := io.Copy(w, rc); err != nil {
			return fmt.Errorf("reading layer %d of %s: %w", n, src, err)
		}
		return nil
	})
}
