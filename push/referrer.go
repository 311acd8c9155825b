package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a document to attach to an image: an SBOM, say.
type Artifact struct {
	// ArtifactType is the document's media type ("application/spdx+json",
	// "application/vnd.cyclonedx+json"): the artifact manifest's
	// artifactType and its one layer's media type.
	ArtifactType string
	// Title names the document (org.opencontainers.image.title of its
	// layer), "nixlayer.spdx.json" say; optional.
	Title string
	// MediaType is the layer's media type when it is not ArtifactType (a
	// DSSE envelope of an in-toto statement, say); optional.
	MediaType types.MediaType
	// Annotations are the layer's (a signature, a predicate type), beside
	// the title; optional.
	Annotations map[string]string
	// ConfigMediaType is the media type of the (empty JSON) config when
	// it is not the OCI empty descriptor's: cosign's referrers carry their
	// artifact type there too, for registries that list a referrer by its
	// config's media type; optional.
	ConfigMediaType types.MediaType
	Data            []byte
}

// emptyJSON is the OCI 1.1 empty descriptor's content, the config of an
// artifact manifest that has none.
var emptyJSON = []byte("{}")

// Attach pushes each artifact as an OCI 1.1 artifact manifest whose
// subject is the image manifest subject in repo: the document as its only
// layer, the empty JSON as its config, pushed by digest (no tag). A
// registry with the referrers API lists it from the subject; for one
// without (docker-registry, the distribution 2.x line) go-containerregistry
// keeps the referrers tag scheme's index under the tag
// "sha256-<subject hex>", which remote.Referrers reads back. The manifests
// hold no date, so attaching the same document again changes nothing.
// opts are the options the image was pushed with (auth, transport, context).
// It returns the artifact manifests' descriptors, in the order of artifacts.
func Attach(ctx context.Context, repo name.Repository, subject v1.Descriptor, artifacts []Artifact, opts ...remote.Option) ([]v1.Descriptor, error) {
	opts = append(opts, remote.WithContext(ctx))
	config := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	if err := remote.WriteLayer(repo, config, opts...); err != nil {
		return nil, fmt.Errorf("attaching to %s@%s: uploading the empty config: %w", repo, subject.Digest, err)
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	out := make([]v1.Descriptor, 0, len(artifacts))
	for _, a := range artifacts {
		d, err := attachOne(repo, sub, a, opts)
		if err != nil {
			return nil, fmt.Errorf("attaching %s to %s@%s: %w", a.ArtifactType, repo, subject.Digest, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func attachOne(repo name.Repository, subject v1.Descriptor, a Artifact, opts []remote.Option) (v1.Descriptor, error) {
	if a.ArtifactType == "" {
		return v1.Descriptor{}, fmt.Errorf("the artifact has no artifact type")
	}
	mt := a.MediaType
	if mt == "" {
		mt = types.MediaType(a.ArtifactType)
	}
	layer := static.NewLayer(a.Data, mt)
	if err := remote.WriteLayer(repo, layer, opts...); err != nil {
		return v1.Descriptor{}, fmt.Errorf("uploading the document: %w", err)
	}
	ld, err := descriptorOf(layer)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if a.Title != "" || len(a.Annotations) > 0 {
		ld.Annotations = map[string]string{}
		for k, v := range a.Annotations {
			ld.Annotations[k] = v
		}
		if a.Title != "" {
			ld.Annotations["org.opencontainers.image.title"] = a.Title
		}
	}
	cmt := a.ConfigMediaType
	if cmt == "" {
		cmt = types.OCIEmptyJSON
	}
	cd, err := descriptorOf(static.NewLayer(emptyJSON, cmt))
	if err != nil {
		return v1.Descriptor{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        cd,
		Layers:        []v1.Descriptor{ld},
		Subject:       &subject,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	md := rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	// Put updates the referrers tag's index when the registry has no
	// referrers API (remote.WithReferrersTagFallback, on by default).
	if err := remote.Put(repo.Digest(h.String()), md, opts...); err != nil {
		return v1.Descriptor{}, fmt.Errorf("putting the artifact manifest: %w", err)
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: a.ArtifactType, Digest: h, Size: size}, nil
}

func descriptorOf(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

// rawManifest is a manifest to put as it is (remote.Taggable).
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }
