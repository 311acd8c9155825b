package format

import (
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/wire"
)

// Index is a multi-platform image index of an OCI output. The writer
// writes each image (its Layers, config and manifest), then an OCI image
// index of their manifests as a blob, named in index.json with Tag as its
// ref.name: the nested layout that `docker buildx --output type=oci` and
// crane write and that skopeo, umoci and registries read as one tag for
// several platforms.
type Index struct {
	// Tag is the ref.name annotation, or "" for none.
	Tag string
	// Images are the index's entries, in order, each with its Platform.
	// Their Tag and IndexName are not used; Name names an image in errors.
	Images []Image
	// Annotations are the index's own, or nil.
	Annotations map[string]string
}

// ErrDockerIndex is the error of writing an Index into a docker-archive.
var ErrDockerIndex = errors.New("a docker-archive holds one image per tag and cannot hold several platforms: use oci-layout or oci-archive")

func (w *docker) Index(Index) error { return ErrDockerIndex }

func (w *oci) Index(ix Index) error {
	nested := ociIndex{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []ociDescriptor{}, Annotations: ix.Annotations}
	e := ociDescriptor{}
	for i, img := range ix.Images {
		if img.Platform == nil {
			return fmt.Errorf("image index %s: images[%d] (%s) has no platform", ix.Tag, i, img.Name)
		}
		d, err := w.image(img)
		if err != nil {
			return fmt.Errorf("image index %s: writing images[%d] (%s): %w", ix.Tag, i, img.Name, err)
		}
		nested.Manifests = append(nested.Manifests, d)
		// The statement of an image of the index is named on index.json's
		// entry (the index itself, pushed as it is, names nothing more).
		prov, err := w.ociProvenance(img, d)
		if err != nil {
			return fmt.Errorf("image index %s: images[%d] (%s): %w", ix.Tag, i, img.Name, err)
		}
		if prov != "" {
			e.setAnnotation(wire.IndexProvenanceAnnotation(d.Digest), prov)
		}
	}
	raw, err := json.Marshal(nested)
	if err != nil {
		return err
	}
	digest := sha256Hash(raw)
	d := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: digest, Size: int64(len(raw))}
	if err := w.Blob(Blob{Desc: d, Open: bytesOpener(raw)}); err != nil {
		return err
	}
	e.MediaType, e.Digest, e.Size = d.MediaType, digest.String(), d.Size
	if ix.Tag != "" {
		e.setAnnotation(refNameAnnotation, ix.Tag)
	}
	w.index = append(w.index, e)
	return nil
}

// setAnnotation sets the annotation k of d to v.
func (d *ociDescriptor) setAnnotation(k, v string) {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[k] = v
}
