package pull

import (
	"bytes"
	"io"
	"os"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
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

// entries lists the blobs of the image in format, sorted by name, tagged
// finalName:finalTag. Blob contents come from the fetched files.
func entries(f *registry.Fetched, fm format.Format, finalName, finalTag string) (*archive, error) {
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

// writeTar writes the archive as a tar to w (pin hashes it this way).
func writeTar(w io.Writer, a *archive) error {
	return format.Stream(w, a.format, archiveTime, a.fill)
}
