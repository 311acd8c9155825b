package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// The annotations that name an image in an OCI layout's index.json.
const (
	refNameAnnotation    = "org.opencontainers.image.ref.name"
	imageNameAnnotation  = "io.containerd.image.name"
	ociLayoutFileContent = `{"imageLayoutVersion":"1.0.0"}`
)

// ociIndex and ociDescriptor are an OCI image index (index.json of an OCI
// layout, or a nested multi-platform index), written with fixed fields so
// that the bytes do not depend on a library's version.
type ociIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociDescriptor struct {
	MediaType   types.MediaType   `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *v1.Platform      `json:"platform,omitempty"`
}

// ociManifestJSON and ociBlob are an OCI image manifest with fixed fields.
type ociManifestJSON struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	Config        ociBlob           `json:"config"`
	Layers        []ociBlob         `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociBlob struct {
	MediaType   types.MediaType   `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// blobStore is where an OCI writer puts blobs: a directory (OCI layout) or
// a tar (oci-archive), under blobs/<algorithm>/<hex>.
type blobStore interface {
	start() error
	put(b Blob) error
	produce(write func(io.Writer) (layers.Descriptor, error), name func(layers.Descriptor) string) (layers.Descriptor, error)
	// file writes a file at the top of the layout.
	file(name string, data []byte) error
	finish() error
}

// oci writes an OCI layout into a blobStore, then index.json and oci-layout.
type oci struct {
	store   blobStore
	written map[v1.Hash]bool
	index   []ociDescriptor
}

func newOCI(s blobStore) (*oci, error) {
	if err := s.start(); err != nil {
		return nil, err
	}
	return &oci{store: s, written: map[v1.Hash]bool{}}, nil
}

// blobName is a blob's name inside an OCI layout.
func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

func (w *oci) Blob(b Blob) error {
	if w.written[b.Desc.Digest] {
		return nil
	}
	if err := w.store.put(b); err != nil {
		return err
	}
	w.written[b.Desc.Digest] = true
	return nil
}

func (w *oci) Produce(_ types.MediaType, write func(io.Writer) (layers.Descriptor, error)) (layers.Descriptor, error) {
	return w.store.produce(write, func(d layers.Descriptor) string {
		if w.written[d.Digest] {
			return ""
		}
		w.written[d.Digest] = true
		return blobName(d.Digest)
	})
}

func (w *oci) Image(img Image) error {
	d, err := w.image(img)
	if err != nil {
		return err
	}
	prov, err := w.ociProvenance(img, d)
	if err != nil {
		return err
	}
	if img.IndexName != "" || img.Tag != "" || prov != "" {
		d.Annotations = map[string]string{}
	}
	if img.IndexName != "" {
		d.Annotations[imageNameAnnotation] = img.IndexName
	}
	if img.Tag != "" {
		d.Annotations[refNameAnnotation] = img.Tag
	}
	if prov != "" {
		d.Annotations[wire.ProvenanceAnnotation] = prov
	}
	w.index = append(w.index, d)
	return nil
}

// image writes the layers of img that it carries, its config and its
// manifest (in OCI media types), and returns the manifest's descriptor
// with img's platform and no annotations.
func (w *oci) image(img Image) (ociDescriptor, error) {
	m, err := parseManifest(img)
	if err != nil {
		return ociDescriptor{}, err
	}
	raw, mt, err := ManifestFor(OCILayout, img.Manifest, m)
	if err != nil {
		return ociDescriptor{}, err
	}
	if err := writeLayers(w, img); err != nil {
		return ociDescriptor{}, err
	}
	for _, l := range m.Layers {
		if !w.written[l.Digest] && !img.Elsewhere[l.Digest] {
			return ociDescriptor{}, fmt.Errorf("image %s: layer %s was not written", img.repoTag(), l.Digest)
		}
	}
	if err := w.Blob(Blob{Desc: m.Config, Open: bytesOpener(img.Config)}); err != nil {
		return ociDescriptor{}, err
	}
	digest := sha256Hash(raw)
	if err := w.Blob(Blob{Desc: v1.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(raw))}, Open: bytesOpener(raw)}); err != nil {
		return ociDescriptor{}, err
	}
	return ociDescriptor{MediaType: mt, Digest: digest.String(), Size: int64(len(raw)), Platform: img.Platform}, nil
}

// ManifestFor returns the manifest raw (parsed as m) as format f writes
// it, with its media type: unchanged for a docker-archive or when it is
// already OCI, else rewritten with OCI media types.
func ManifestFor(f Format, raw []byte, m *v1.Manifest) ([]byte, types.MediaType, error) {
	if !f.OCI() || m.MediaType == types.OCIManifestSchema1 {
		return raw, m.MediaType, nil
	}
	raw, err := ociManifest(m)
	return raw, types.OCIManifestSchema1, err
}

// ociManifest rewrites a Docker schema 2 manifest with OCI media types
// (blobs unchanged), as skopeo does, because OCI tools read only OCI
// manifests from a layout.
func ociManifest(m *v1.Manifest) ([]byte, error) {
	conv := func(d v1.Descriptor) ociBlob {
		return ociBlob{MediaType: OCILayout.MediaType(d.MediaType), Digest: d.Digest.String(), Size: d.Size, Annotations: d.Annotations}
	}
	om := ociManifestJSON{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: conv(m.Config), Layers: []ociBlob{}, Annotations: m.Annotations}
	for _, l := range m.Layers {
		om.Layers = append(om.Layers, conv(l))
	}
	return json.Marshal(om)
}

func (w *oci) close() error {
	idx, err := json.Marshal(ociIndex{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: w.index})
	if err != nil {
		return err
	}
	if err := w.store.file("index.json", idx); err != nil {
		return err
	}
	if err := w.store.file("oci-layout", []byte(ociLayoutFileContent)); err != nil {
		return err
	}
	return w.store.finish()
}

// tarBlobs is the blobStore of an oci-archive.
type tarBlobs struct{ t *tarWriter }

func (s *tarBlobs) start() error {
	if err := s.t.dir("blobs"); err != nil {
		return err
	}
	return s.t.dir("blobs/sha256")
}

func (s *tarBlobs) put(b Blob) error {
	rc, err := b.open()
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", b.Desc.Digest, err)
	}
	defer rc.Close()
	return s.t.file(blobName(b.Desc.Digest), b.Desc.Size, rc)
}

func (s *tarBlobs) produce(write func(io.Writer) (layers.Descriptor, error), name func(layers.Descriptor) string) (layers.Descriptor, error) {
	return s.t.produce(write, name)
}

func (s *tarBlobs) file(name string, data []byte) error {
	return s.t.file(name, int64(len(data)), bytes.NewReader(data))
}

func (s *tarBlobs) finish() error { return s.t.close() }
