package pull

import (
	"bytes"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/registry"
)

// archiveTime stamps every entry of an archive Pull writes.
var archiveTime = time.Unix(1, 0)

// archive is a fetched image ready for package format: its blobs in the
// order they are written (by file name, so that the bytes depend only on
// the image) and the image that refers to them.
type archive struct {
	format format.Format
	blobs  []format.Blob
	image  format.Image
}

// blobFiles is an image manifest and the files of its blobs: fetched
// (registry.Fetched) or fetched one by one by pullImageFromLock (locked).
type blobFiles interface {
	Manifest() *v1.Manifest
	RawManifest() []byte
	// Blobs are the config and the layers, each once, in manifest order.
	Blobs() []v1.Descriptor
	BlobPath(h v1.Hash) string
}

var _ blobFiles = (*registry.Fetched)(nil)

// newArchive lists the blobs of the fetched image in r.Format, sorted by
// name, tagged r.FinalImageName:r.FinalImageTag. Blob contents come from
// the fetched files.
func newArchive(f blobFiles, r Request) (*archive, error) {
	fm, finalName, finalTag := r.Format, r.FinalImageName, r.FinalImageTag
	a := &archive{format: fm}
	config, err := os.ReadFile(f.BlobPath(f.Manifest().Config.Digest))
	if err != nil {
		return nil, err
	}
	a.image = format.Image{Config: config, Manifest: f.RawManifest(), Name: finalName, Tag: finalTag, IndexName: finalName + ":" + finalTag}
	for _, d := range f.Blobs() {
		a.blobs = append(a.blobs, format.Blob{Desc: d, Path: f.BlobPath(d.Digest)})
	}
	if fm.OCI() {
		raw, mt, err := format.ManifestFor(fm, f.RawManifest(), f.Manifest())
		if err != nil {
			return nil, err
		}
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		a.blobs = append(a.blobs, format.Blob{Desc: v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(raw))}, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		}})
	}
	sort.SliceStable(a.blobs, func(i, j int) bool { return a.blobs[i].Desc.Digest.Hex < a.blobs[j].Desc.Digest.Hex })
	return a, nil
}

// fill gives w the blobs and the image.
func (a *archive) fill(w format.Writer) error {
	for _, b := range a.blobs {
		if err := w.Blob(b); err != nil {
			return err
		}
	}
	return w.Image(a.image)
}

// create writes the archive to out, atomically: the output of Pull (and
// of pullImage). An archive format is the tar stream writes, in a file;
// an oci-layout, a directory.
func (a *archive) create(out string) error {
	if a.format.Dir() {
		return format.Create(out, a.format, archiveTime, a.fill)
	}
	return atomicfile.File(out, func(f *os.File) error { return a.stream(f) })
}

// stream writes an archive format (docker-archive, oci-archive) as a tar
// to w: what create puts in the file, and what Pin hashes.
func (a *archive) stream(w io.Writer) error {
	return format.Stream(w, a.format, archiveTime, a.fill)
}
