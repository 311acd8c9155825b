package source

import (
	"bytes"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/image/base"
)

// IndexReader is a multi-platform index of an OCI layout or oci-archive, read
// through image/base: each of its images is opened by base (within its
// limits, every blob checked) when asked for. Close releases them.
type IndexReader struct {
	src  string
	raw  []byte
	opts []base.Option

	mu     sync.Mutex
	images []*base.Image
}

var _ v1.ImageIndex = (*IndexReader)(nil)

// OpenIndex reads the image index at path: an OCI layout or oci-archive whose
// index.json entry (the one base.Open picks, by name and tag options) is
// an image index. It returns nil and no error when that entry is a
// single image.
func OpenIndex(path string, opts ...base.Option) (*IndexReader, error) {
	img, err := base.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	raw := img.RawIndex()
	if raw == nil {
		return nil, nil
	}
	return &IndexReader{src: path, raw: raw, opts: opts}, nil
}

// Close closes the images the IndexReader opened.
func (r *IndexReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for _, img := range r.images {
		if cerr := img.Close(); err == nil {
			err = cerr
		}
	}
	r.images = nil
	return err
}

// MediaType is that of an OCI image index.
func (r *IndexReader) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// Digest is the index blob's digest.
func (r *IndexReader) Digest() (v1.Hash, error) { return partial.Digest(r) }

// Size is the index blob's size.
func (r *IndexReader) Size() (int64, error) { return partial.Size(r) }

// RawManifest returns the index blob.
func (r *IndexReader) RawManifest() ([]byte, error) { return r.raw, nil }

// IndexManifest returns the index, decoded.
func (r *IndexReader) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(r.raw))
}

// Image opens the image with manifest digest h.
func (r *IndexReader) Image(h v1.Hash) (v1.Image, error) {
	img, err := base.Open(r.src, append(append([]base.Option(nil), r.opts...), base.WithManifest(h))...)
	if err != nil {
		return nil, fmt.Errorf("reading image %s of index %q: %w", h, r.src, err)
	}
	r.mu.Lock()
	r.images = append(r.images, img)
	r.mu.Unlock()
	return img.V1(), nil
}

// ImageIndex fails: the images of an index nixlayer reads are images.
func (r *IndexReader) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	return nil, fmt.Errorf("index %q: entry %s is an index; nested indexes are not read", r.src, h)
}
