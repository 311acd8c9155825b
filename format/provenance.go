package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/wire"
)

// An image's provenance statement (Image.Provenance) goes beside the
// image, outside what docker, podman and skopeo load: in a docker-archive
// a member named after the config ("<hex>" + wire.ProvenanceMemberSuffix),
// in an OCI layout an OCI 1.1 artifact manifest whose subject is the
// image's manifest, named by the annotation wire.ProvenanceAnnotation on
// the image's entry in index.json (the layout's list of images is
// unchanged: skopeo and umoci see one image).

// The media types of the artifact that carries a statement in an OCI
// layout, and its empty config ("{}").
const (
	statementMediaType = "application/vnd.in-toto+json"
	emptyMediaType     = "application/vnd.oci.empty.v1+json"
	emptyJSON          = "{}"
)

// artifactManifest is an OCI 1.1 artifact manifest with fixed fields.
type artifactManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	ArtifactType  string          `json:"artifactType"`
	Config        ociBlob         `json:"config"`
	Layers        []ociBlob       `json:"layers"`
	Subject       ociBlob         `json:"subject"`
}

// provenance returns img's statement for the manifest m as the output
// writes it, or nil when img has none.
func (img Image) provenance(m v1.Descriptor) ([]byte, error) {
	if img.Provenance == nil {
		return nil, nil
	}
	data, err := img.Provenance(m)
	if err != nil {
		return nil, fmt.Errorf("making the provenance of %s: %w", img.repoTag(), err)
	}
	return data, nil
}

// dockerProvenance writes img's statement as the member named after the
// config (configName, "<hex>.json").
func (w *docker) dockerProvenance(img Image, configName string) error {
	m := v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: sha256Hash(img.Manifest), Size: int64(len(img.Manifest))}
	data, err := img.provenance(m)
	if data == nil || err != nil {
		return err
	}
	name := strings.TrimSuffix(configName, ".json") + wire.ProvenanceMemberSuffix
	if w.written[name] {
		return nil
	}
	w.written[name] = true
	return w.t.file(name, int64(len(data)), bytes.NewReader(data))
}

// ociProvenance writes img's statement, for its manifest d, as an artifact
// whose subject is d, and returns the artifact manifest's digest ("" when
// img has no statement).
func (w *oci) ociProvenance(img Image, d ociDescriptor) (string, error) {
	h, err := v1.NewHash(d.Digest)
	if err != nil {
		return "", err
	}
	data, err := img.provenance(v1.Descriptor{MediaType: d.MediaType, Digest: h, Size: d.Size})
	if data == nil || err != nil {
		return "", err
	}
	stmt := v1.Descriptor{MediaType: statementMediaType, Digest: sha256Hash(data), Size: int64(len(data))}
	empty := v1.Descriptor{MediaType: emptyMediaType, Digest: sha256Hash([]byte(emptyJSON)), Size: int64(len(emptyJSON))}
	for _, b := range []Blob{{Desc: stmt, Open: bytesOpener(data)}, {Desc: empty, Open: bytesOpener([]byte(emptyJSON))}} {
		if err := w.Blob(b); err != nil {
			return "", err
		}
	}
	am := artifactManifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: statementMediaType,
		Config:  ociBlob{MediaType: emptyMediaType, Digest: empty.Digest.String(), Size: empty.Size},
		Layers:  []ociBlob{{MediaType: statementMediaType, Digest: stmt.Digest.String(), Size: stmt.Size}},
		Subject: ociBlob{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}}
	raw, err := json.Marshal(am)
	if err != nil {
		return "", err
	}
	md := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: sha256Hash(raw), Size: int64(len(raw))}
	if err := w.Blob(Blob{Desc: md, Open: bytesOpener(raw)}); err != nil {
		return "", err
	}
	return md.Digest.String(), nil
}
