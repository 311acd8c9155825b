package push

import (
	"context"
	"encoding/json"
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
	"github.com/nixlayer/nixlayer/sign"
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
	set, err := resolvePushed(ctx, pushed, "attaching the SBOM", opts)
	if err != nil {
		return nil, err
	}
	if !set.top.MediaType.IsIndex() {
		return attachDocs(ctx, src, set.ref.Context(), set.top, set.ropts)
	}
	var out []v1.Descriptor
	for _, img := range set.images {
		descs, err := attachDocs(ctx, src, set.ref.Context(), img.desc, set.ropts, img.bopts...)
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

// sbomPredicateTypes are the in-toto predicate types of the SBOM
// documents, as cosign verify-attestation --type spdxjson and cyclonedx
// name them.
var sbomPredicateTypes = map[sbom.Format]string{
	sbom.SPDXJSON:      "https://spdx.dev/Document",
	sbom.CycloneDXJSON: "https://cyclonedx.org/bom",
}

// SBOMStatements makes an in-toto statement of each SBOM document the
// image at src carries, its subject the image manifest Push put (for an
// index, each image's), its predicate the document: what Sign attests,
// so that cosign verify-attestation --type spdxjson (or cyclonedx) reads
// the SBOM signed. A document that would make a statement over
// sign.MaxStatementBytes is left out, and named in skipped. An image
// without documents gives none.
func SBOMStatements(ctx context.Context, src string, pushed *Pushed, opts ...registry.Option) (statements [][]byte, skipped []string, err error) {
	set, err := resolvePushed(ctx, pushed, "attesting the SBOM", opts)
	if err != nil {
		return nil, nil, err
	}
	for _, img := range set.images {
		docs, err := embedded.ReadAll(src, img.bopts...)
		if errors.Is(err, ErrNoSBOM) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, f := range sbom.Formats {
			doc := docs.Get(f)
			if len(doc)+1024 > sign.MaxStatementBytes {
				skipped = append(skipped, fmt.Sprintf("the %s document of %s (%d bytes)", f, img.desc.Digest, len(doc)))
				continue
			}
			st, err := json.Marshal(map[string]any{
				"_type":         "https://in-toto.io/Statement/v1",
				"subject":       []any{map[string]any{"name": set.ref.Context().String(), "digest": map[string]string{img.desc.Digest.Algorithm: img.desc.Digest.Hex}}},
				"predicateType": sbomPredicateTypes[f],
				"predicate":     json.RawMessage(doc),
			})
			if err != nil {
				return nil, nil, fmt.Errorf("the %s document of %s: %w", f, src, err)
			}
			statements = append(statements, st)
		}
	}
	return statements, skipped, nil
}
