package push

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/registry"
)

// pushedSet is what Push put, resolved to attach things to it: the
// manifest (or index) and its images, each with the base options that
// pick it out of the source.
type pushedSet struct {
	ref    name.Digest
	ropts  []remote.Option
	top    v1.Descriptor
	images []pushedImage
}

// pushedImage is one image manifest of a pushedSet.
type pushedImage struct {
	desc  v1.Descriptor
	bopts []base.Option
}

// resolvePushed reads pushed (what names the step in errors): the
// manifest as Push describes it, asked of the registry when pushed does
// not describe it; for an index, its manifests, listed by the registry.
func resolvePushed(ctx context.Context, pushed *Pushed, what string, opts []registry.Option) (*pushedSet, error) {
	o := registry.NewOptions(opts...)
	ref, err := name.NewDigest(pushed.Reference, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("%s: the pushed image %q: %w", what, pushed.Reference, err)
	}
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	subject := &pushed.Manifest
	if subject.Digest.String() != ref.DigestStr() || subject.MediaType == "" {
		if subject, err = remote.Head(ref, ropts...); err != nil {
			return nil, fmt.Errorf("%s of %s: reading the pushed manifest: %w", what, ref, err)
		}
	}
	s := &pushedSet{ref: ref, ropts: ropts, top: v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	if !subject.MediaType.IsIndex() {
		s.images = []pushedImage{{desc: s.top}}
		return s, nil
	}
	idx, err := remote.Index(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: reading the pushed index: %w", what, ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s of %s: reading the pushed index: %w", what, ref, err)
	}
	for _, m := range im.Manifests {
		d := v1.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size}
		s.images = append(s.images, pushedImage{desc: d, bopts: []base.Option{base.WithManifest(m.Digest), base.WithTempDir(o.TempDir())}})
	}
	return s, nil
}

// manifests is every manifest of the set: the index (when it is one)
// and each image's.
func (s *pushedSet) manifests() []v1.Descriptor {
	var out []v1.Descriptor
	if s.top.MediaType.IsIndex() {
		out = append(out, s.top)
	}
	for _, i := range s.images {
		out = append(out, i.desc)
	}
	return out
}
