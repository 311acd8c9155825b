package format

import (
	"bytes"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Index is a multi-platform image index of an OCI output: an OCI image
// index whose manifests were written as blobs first. It is written as a
// blob and named in index.json with Tag as its ref.name, the nested
// layout that `docker buildx --output type=oci` and crane write and that
// skopeo, umoci and registries read as one tag for several platforms.
type Index struct {
	// Manifest is the index's bytes (media type OCI image index).
	Manifest []byte
	// Tag is the ref.name annotation, or "" for none.
	Tag string
}

// ErrDockerIndex is the error of writing an Index into a docker-archive.
var ErrDockerIndex = errors.New("a docker-archive holds one image per tag and cannot hold several platforms: use oci-layout or oci-archive")

func (w *docker) Index(Index) error { return ErrDockerIndex }

func (w *oci) Index(ix Index) error {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(ix.Manifest))
	if err != nil {
		return fmt.Errorf("reading image index %s: %w", ix.Tag, err)
	}
	for _, m := range idx.Manifests {
		if !w.written[m.Digest] {
			return fmt.Errorf("image index %s: manifest %s was not written", ix.Tag, m.Digest)
		}
	}
	digest := sha256Hash(ix.Manifest)
	d := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: digest, Size: int64(len(ix.Manifest))}
	if err := w.Blob(Blob{Desc: d, Open: bytesOpener(ix.Manifest)}); err != nil {
		return err
	}
	e := ociDescriptor{MediaType: d.MediaType, Digest: digest.String(), Size: d.Size}
	if ix.Tag != "" {
		e.Annotations = map[string]string{refNameAnnotation: ix.Tag}
	}
	w.index = append(w.index, e)
	return nil
}
