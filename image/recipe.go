package image

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/image/base"
)

// ErrNotProduced is what reading a layer of a Recipe image returns: its
// bytes are never made.
var ErrNotProduced = errors.New("a stream script's recipe does not produce its layers")

// Recipe returns the image of a stream script as its recipe says, without
// producing a layer or reading a store path: config, manifest and layer
// descriptors come from the digests computed at build time (nixlayer
// inspect reads a script this way). Reading a layer's bytes fails with
// ErrNotProduced. The base image, when the script has one, is opened, and
// returned for its layers' contents; close releases it.
func (s *Script) Recipe(ctx context.Context) (img v1.Image, from *base.Image, close func(), err error) {
	set := s.Settings
	close = func() {}
	if set.Base != nil {
		if from, err = openBase(ctx, set.Base, set.TempDir); err != nil {
			return nil, nil, close, err
		}
		close = func() { from.Close() }
	}
	blobs := make([]*Blob, len(s.Layers))
	for i, d := range s.Blobs {
		if blobs[i] = s.Layers[i].cachedBlob(false); blobs[i] != nil {
			continue // its own compression, and a file to read
		}
		blobs[i] = &Blob{Desc: d, Compression: set.Compression, Type: set.Compression.MediaType(false),
			Open: func() (io.ReadCloser, error) {
				return nil, fmt.Errorf("layer %s: %w", d.Digest, ErrNotProduced)
			}}
	}
	if img, err = Assemble(blobs, s.Layers, set, from); err != nil {
		close()
		return nil, nil, func() {}, err
	}
	return img, from, close, nil
}
