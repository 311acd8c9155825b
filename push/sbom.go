package push

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
)

// ErrNoSBOM means the image given to AttachSBOM carries no SBOM document
// (built with sbom = false, or not by nixlayer): nothing was attached.
var ErrNoSBOM = embedded.ErrNoSBOM

// AttachSBOM attaches the SBOM documents that the image at src carries
// (see package sbom; read with sbom/embedded) to the manifest Push put,
// pushed, as OCI 1.1 referrer artifacts, one per format (see Attach). For
// a pushed index (buildImageIndex), each image's documents are attached to
// that image's manifest. An image without documents is ErrNoSBOM (for an
// index: when none of its images has any). opts are the options of the
// push. It returns the artifact manifests' descriptors.
func AttachSBOM(ctx context.Context, src string, pushed *Pushed, opts ...registry.Option) ([]v1.Descriptor, error) {
	o := registry.NewOptions(opts...)
	ref, err := name.NewDigest(pushed.Reference, o.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("attaching the SBOM: the pushed image %q: %w", pushed.Reference, err)
	}
	ropts, err := o.RemoteOptions(ctx)
	if err != nil {
		return nil, err
	}
	// The subject is the manifest Push put, as Push describes it; asked
	// of the registry when pushed does not describe it.
	subject := &pushed.Manifest
	if subject.Digest.String() != ref.DigestStr() || subject.MediaType == "" {
		if subject, err = remote.Head(ref, ropts...); err != nil {
			return nil, fmt.Errorf("attaching the SBOM to %s: reading the pushed manifest: %w", ref, err)
		}
	}
	if !subject.MediaType.IsIndex() {
		return attachDocs(ctx, src, ref.Context(), *subject, ropts)
	}
	idx, err := remote.Index(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("attaching the SBOM to %s: reading the pushed index: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("attaching the SBOM to %s: reading the pushed index: %w", ref, err)
	}
	var out []v1.Descriptor
	for _, m := range im.Manifests {
		descs, err := attachDocs(ctx, src, ref.Context(), m, ropts, base.WithManifest(m.Digest), base.WithTempDir(o.TempDir()))
		if errors.Is(err, ErrNoSBOM) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, descs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("index %s: no image has an SBOM document: %w", src, ErrNoSBOM)
	}
	return out, nil
}

// attachDocs attaches the documents of the image of src that bopts pick
// to subject in repo.
func attachDocs(ctx context.Context, src string, repo name.Repository, subject v1.Descriptor, ropts []remote.Option, bopts ...base.Option) ([]v1.Descriptor, error) {
	docs, err := embedded.ReadAll(src, bopts...)
	if err != nil {
		return nil, err
	}
	var artifacts []Artifact
	for _, f := range sbom.Formats {
		artifacts = append(artifacts, Artifact{ArtifactType: f.MediaType(), Title: path.Base(f.Path()), Data: docs.Get(f)})
	}
	return Attach(ctx, repo, subject, artifacts, ropts...)
}
