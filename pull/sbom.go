package pull

import (
	"context"
	"fmt"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
)

// ErrNoSBOM means the image given to AttachSBOM carries no SBOM document
// (built with sbom = false, or not by nixlayer): nothing was attached.
var ErrNoSBOM = embedded.ErrNoSBOM

// AttachSBOM attaches the SBOM documents that the image at src carries
// (see package sbom; read with sbom/embedded) to the manifest Push put,
// pushed, as OCI 1.1 referrer artifacts, one per format (see Attach). An
// image without documents is ErrNoSBOM. opts are the options of the push.
// It returns the artifact manifests' descriptors.
func AttachSBOM(ctx context.Context, src string, pushed *Pushed, opts ...Option) ([]v1.Descriptor, error) {
	o := makeOptions(opts)
	ref, err := name.NewDigest(pushed.Reference, o.nameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("attaching the SBOM: the pushed image %q: %w", pushed.Reference, err)
	}
	docs, err := embedded.ReadAll(src)
	if err != nil {
		return nil, err
	}
	var artifacts []Artifact
	for _, f := range sbom.Formats {
		artifacts = append(artifacts, Artifact{ArtifactType: f.MediaType(), Title: path.Base(f.Path()), Data: docs.Get(f)})
	}
	ropts, err := o.remoteOptions(remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	// The subject is the manifest as the registry has it: its media type
	// and size, which Push knew only as a digest.
	subject, err := remote.Head(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("attaching the SBOM to %s: reading the pushed manifest: %w", ref, err)
	}
	return Attach(ctx, ref.Context(), *subject, artifacts, ropts...)
}
