package push

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/source"
)

// Every image Push reads is opened by package source: a docker-archive, an
// OCI layout or oci-archive through image/base (blobs streamed out of the
// archive within its limits, nothing of the image written to the host), a
// nixlayer stream script in process (its layers produced from the store
// as they are uploaded), any other executable run by its absolute path and
// its docker-archive spooled. An OCI layout whose index.json lists several
// images, and a multi-platform index (buildImageIndex), are pushed as
// that index.

// openSource opens the image at p to push or load.
func openSource(ctx context.Context, p string, o registry.Options) (*source.Source, error) {
	return source.Open(ctx, p, source.WithTempDir(o.TempDir()))
}

// taggable is what remote.Push uploads: the source's image or index.
func taggable(s *source.Source) remote.Taggable {
	if s.Image != nil {
		return s.Image
	}
	return s.Index
}

// descriptor is the descriptor of the manifest (or index) to push.
func descriptor(s *source.Source) (*v1.Descriptor, error) {
	if s.Image != nil {
		return partial.Descriptor(s.Image)
	}
	return partial.Descriptor(s.Index)
}
