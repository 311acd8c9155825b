package base

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/nixlayer/nixlayer/internal/regularfile"
)

// Open reads the image at path: an OCI layout directory, or a file holding a
// docker-archive (registry or legacy format) or an oci-archive, plain or
// compressed with gzip, zstd or xz (found by magic bytes). A compressed file
// is decompressed to an unlinked temporary file first, within MaxBytes.
//
// With WithName/WithTag the image is picked by name and tag; without them
// the archive's first image is used, as dockerTools does. Open checks the
// archive's structure (every named blob exists, sizes, diffID count); the
// content of the layers is checked when it is read (Walk, Index, Flatten,
// DiffIDs, or a layer's streams).
func Open(path string, opts ...Option) (*Image, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	var err error
	if o.limits, err = o.limits.withDefaults(); err != nil {
		return nil, fmt.Errorf("opening image %q: %w", path, err)
	}
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	img := &Image{src: path, opts: o}
	if err := img.open(); err != nil {
		img.Close()
		return nil, err
	}
	return img, nil
}

func (img *Image) open() error {
	fi, err := os.Stat(img.src)
	if err != nil {
		return fmt.Errorf("opening image %q: %w", img.src, err)
	}
	if fi.IsDir() {
		ds, err := newDirStore(img.src)
		if err != nil {
			return err
		}
		img.store = ds
		if !ds.has("index.json") {
			return fmt.Errorf("opening image %q: a directory must be an OCI layout with index.json: %w", img.src, ErrFormat)
		}
		img.format = OCILayout
		return img.openOCI()
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("opening image %q: a %s, not a regular file or directory: %w", img.src, regularfile.Kind(fi.Mode()), ErrFormat)
	}
	f, err := openRegular(func(flag int) (*os.File, error) { return os.OpenFile(img.src, flag, 0) })
	if err != nil {
		return fmt.Errorf("opening image %q: %w", img.src, err)
	}
	img.file = f
	magic := make([]byte, len(xzMagic))
	n, err := io.ReadFull(f, magic)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("reading image %q: %w", img.src, err)
	}
	img.compression = sniff(magic[:n])
	if img.compression != uncompressed {
		if img.file, err = img.decompressFile(f, fi.Size()); err != nil {
			f.Close()
			return err
		}
		f.Close()
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ts, err := newTarStore(img.file, img.src, img.opts.limits)
	if err != nil {
		return err
	}
	img.store = ts
	switch {
	case ts.has("manifest.json"):
		img.format = DockerArchive
		return img.openDocker()
	case ts.has("repositories"):
		img.format = DockerArchiveLegacy
		return img.openLegacy()
	case ts.has("index.json"):
		img.format = OCIArchive
		return img.openOCI()
	}
	return fmt.Errorf("opening image %q: found neither manifest.json (docker-archive), repositories (legacy docker-archive) nor index.json (oci-archive): %w", img.src, ErrFormat)
}

// decompressFile decompresses f (compressed with img.compression) into an
// unlinked temporary file, failing when it exceeds MaxBytes.
func (img *Image) decompressFile(f *os.File, size int64) (*os.File, error) {
	var d io.Reader
	var err error
	if img.compression == xzed {
		d, err = newXzReader(f, size)
	} else {
		var rc io.ReadCloser
		rc, err = decompress(io.NewSectionReader(f, 0, size), img.compression)
		if rc != nil {
			defer rc.Close()
		}
		d = rc
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing %s image %q: %w", img.compression, img.src, err)
	}
	tmp, err := os.CreateTemp(img.opts.tempDir, "nixlayer-base-*.tar")
	if err != nil {
		return nil, fmt.Errorf("decompressing image %q: %w", img.src, err)
	}
	os.Remove(tmp.Name()) // the open file stays readable, and vanishes with it
	lim := &limitReader{ctxReader{img.opts.ctx, d}, newBudget(img.opts.limits.MaxBytes, fmt.Sprintf("decompressed image %q", img.src))}
	if _, err := io.Copy(tmp, lim); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("decompressing %s image %q: %w", img.compression, img.src, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return nil, err
	}
	return tmp, nil
}

// imageRef is a name and tag an archive gives an image.
type imageRef struct{ name, tag string }

func (r imageRef) String() string {
	switch {
	case r.name == "":
		return ":" + r.tag
	case r.tag == "":
		return r.name
	}
	return r.name + ":" + r.tag
}

// parseRef splits "name:tag" (a colon after the last slash starts the tag).
func parseRef(s string) imageRef {
	s, _, _ = strings.Cut(s, "@")
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		return imageRef{s[:i], s[i+1:]}
	}
	return imageRef{name: s}
}

// normName removes the default registry and namespace, so "busybox" and
// "docker.io/library/busybox" compare equal.
func normName(n string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/", "library/"} {
		n = strings.TrimPrefix(n, p)
	}
	return n
}

// pick returns the index of the first candidate having a ref that matches
// the options' name and tag, or of the first candidate without them.
func (img *Image) pick(refs [][]imageRef) (int, error) {
	o := img.opts
	if len(refs) == 0 {
		return 0, fmt.Errorf("image archive %q holds no image: %w", img.src, ErrFormat)
	}
	img.count = len(refs)
	if o.position > 0 {
		return img.pickPosition(refs)
	}
	if o.name == "" && o.tag == "" {
		img.setRefs(refs[0])
		return 0, nil
	}
	var all []string
	for i, rs := range refs {
		for _, r := range rs {
			if (o.name == "" || normName(r.name) == normName(o.name)) && (o.tag == "" || r.tag == o.tag) {
				img.setRefs(rs)
				img.ref = r.String()
				return i, nil
			}
			if !slices.Contains(all, r.String()) {
				all = append(all, r.String())
			}
		}
	}
	want := imageRef{o.name, o.tag}
	return 0, fmt.Errorf("image archive %q has no image %q; it holds: %s: %w", img.src, want.String(), strings.Join(all, ", "), ErrMissing)
}

// cleanRef cleans a file name that a JSON document of the archive gives.
func (img *Image) cleanRef(field, name string) (string, error) {
	c, ok := archiveName(name)
	if !ok {
		return "", fmt.Errorf("image %q: %s %q leaves the archive: %w", img.src, field, name, ErrUnsafe)
	}
	if !img.store.has(c) {
		return "", fmt.Errorf("image %q: %s %q is not in the archive: %w", img.src, field, name, ErrMissing)
	}
	return c, nil
}

// readAll reads a small file of the store.
func (img *Image) readAll(name string) ([]byte, error) {
	rc, size, err := img.store.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxMetadataBytes {
		return nil, fmt.Errorf("reading %q in image %q: %d bytes is over the %d byte limit for JSON documents: %w", name, img.src, size, maxMetadataBytes, ErrLimit)
	}
	return io.ReadAll(rc)
}

// blobLayer makes the layer for the blob name, with its media type from the
// blob's magic bytes when mt is empty.
func (img *Image) blobLayer(name string) (*layer, error) {
	rc, size, err := img.store.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	l := &layer{img: img, idx: len(img.layers), blob: name, size: size}
	magic := make([]byte, len(xzMagic))
	n, _ := io.ReadFull(rc, magic)
	k := sniff(magic[:n])
	mt, ok := k.LayerMediaType(false)
	if !ok {
		return nil, fmt.Errorf("%s: %s-compressed layers are not supported: %w", l, k, ErrFormat)
	}
	l.mediaType = mt
	return l, nil
}
