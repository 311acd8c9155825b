package recipe

import (
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/layers"
)

// Blob is a layer whose digests are known before its bytes are read: the
// bytes come from open, which may read a file written earlier or produce the
// layer again on the fly (streaming).
type Blob struct {
	Desc        layers.Descriptor
	Compression layers.Compression
	Type        types.MediaType
	Open        func() (io.ReadCloser, error)
	// Path is the file holding the blob, when there is one.
	Path string
}

var _ v1.Layer = (*Blob)(nil)

// FileBlob returns a Blob whose bytes are in the file at path.
func FileBlob(path string, d layers.Descriptor, c layers.Compression, mt types.MediaType) *Blob {
	return &Blob{Desc: d, Compression: c, Type: mt, Path: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// Digest returns the sha256 of the blob as stored.
func (b *Blob) Digest() (v1.Hash, error) { return b.Desc.Digest, nil }

// DiffID returns the sha256 of the uncompressed tar.
func (b *Blob) DiffID() (v1.Hash, error) { return b.Desc.DiffID, nil }

// Size returns the size of the blob as stored.
func (b *Blob) Size() (int64, error) { return b.Desc.Size, nil }

// MediaType returns the layer's media type.
func (b *Blob) MediaType() (types.MediaType, error) { return b.Type, nil }

// Compressed returns the blob as stored.
func (b *Blob) Compressed() (io.ReadCloser, error) { return b.Open() }

// Uncompressed returns the layer's tar stream.
func (b *Blob) Uncompressed() (io.ReadCloser, error) {
	rc, err := b.Open()
	if err != nil {
		return nil, err
	}
	zr, err := b.Compression.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return readCloser{zr, rc}, nil
}

// readCloser reads from a decompressor and closes both it and the source.
type readCloser struct {
	io.Reader
	src io.Closer
}

func (r readCloser) Close() error {
	if c, ok := r.Reader.(io.Closer); ok {
		c.Close()
	}
	return r.src.Close()
}
