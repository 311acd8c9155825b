package stream

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/recipe"
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
	im := &s.Settings
	close = func() {}
	if im.Base != nil {
		if from, err = recipe.OpenBase(ctx, im.Base, ""); err != nil {
			return nil, nil, close, err
		}
		close = func() { from.Close() }
	}
	blobs := make([]*recipe.Blob, len(s.Layers))
	for i, d := range s.Blobs {
		if blobs[i] = s.Layers[i].CachedBlob(false); blobs[i] != nil {
			continue // its own compression, and a file to read
		}
		blobs[i] = &recipe.Blob{Desc: d, Compression: im.Compression, Type: im.Compression.MediaType(false),
			Open: func() (io.ReadCloser, error) {
				return nil, fmt.Errorf("layer %s: %w", d.Digest, ErrNotProduced)
			}}
	}
	if img, err = recipe.Assemble(blobs, s.Layers, im.imageConfig(), from); err != nil {
		close()
		return nil, nil, func() {}, err
	}
	return img, from, close, nil
}
