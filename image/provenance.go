package image

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/spec"
)

// provenanceMaker returns what makes the image's provenance statement for
// its manifest (format.Image.Provenance), or nil when the settings have
// none. Everything but the manifest is gathered now: the closure's store
// paths with their NAR hashes (graph holds the cached layers' outputs
// too; nixdb.Complete hashes a path that lacks one) and the base image by
// its manifest digest.
func provenanceMaker(ctx context.Context, set *spec.Settings, graph *registration.Graph, from *base.Image) (func(v1.Descriptor) ([]byte, error), error) {
	if set.Provenance == nil {
		return nil, nil
	}
	g, err := nixdb.Complete(ctx, graph, false)
	if err != nil {
		return nil, fmt.Errorf("making the provenance: %w", err)
	}
	in := provenance.Input{Name: imageName(set), Parameters: set.Provenance.Parameters, Version: set.Provenance.Version}
	for _, p := range g.Paths() {
		in.StorePaths = append(in.StorePaths, provenance.StorePath{Path: p.Path, NarHash: p.NarHash})
	}
	if from != nil {
		d, err := partial.Descriptor(from.V1())
		if err != nil {
			return nil, fmt.Errorf("making the provenance: the digest of base image %s: %w", set.Base.Path, err)
		}
		in.Base = &provenance.Base{Path: set.Base.Path, Ref: from.Ref(), Manifest: d.Digest, MediaType: string(d.MediaType)}
	}
	return func(m v1.Descriptor) ([]byte, error) {
		in := in
		in.Manifest = m.Digest
		st, err := provenance.Make(in)
		if err != nil {
			return nil, err
		}
		return st.JSON, nil
	}, nil
}

// imageName is the image's name without its tag (the tag may be the
// output hash, which nothing stored may depend on).
func imageName(set *spec.Settings) string {
	return strings.TrimSuffix(set.Ref.String(), ":"+set.Ref.TagStr())
}
