package pull

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/layers"
)

// archiveTime stamps every entry of an archive Pull writes.
var archiveTime = time.Unix(1, 0)

// dockerManifest is one element of a docker-archive's manifest.json, with
// its fields in Docker's order.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// ociIndex and ociDescriptor are index.json of an OCI layout, written with
// fixed fields so that the bytes do not depend on a library's version.
type ociIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Manifests     []ociDescriptor `json:"manifests"`
}

type ociDescriptor struct {
	MediaType   types.MediaType   `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
}

// The annotations that name the image in an OCI layout's index.json.
const (
	refNameAnnotation    = "org.opencontainers.image.ref.name"
	imageNameAnnotation  = "io.containerd.image.name"
	ociLayoutFileContent = `{"imageLayoutVersion":"1.0.0"}`
)

// entries lists the files of the image in format, sorted for writing,
// tagged finalName:finalTag. Blob contents come from the fetched files.
func (f *fetched) entries(format image.Format, finalName, finalTag string) ([]layers.Entry, error) {
	blob := func(name string, d v1.Descriptor) layers.Entry {
		e := layers.File(name, 0o644, nil)
		e.Size, e.Source = d.Size, f.blobPath(d.Digest)
		return e
	}
	m := f.manifest
	var es []layers.Entry
	switch format {
	case image.DockerArchive:
		dm := dockerManifest{Config: m.Config.Digest.Hex + ".json", RepoTags: []string{finalName + ":" + finalTag}}
		es = append(es, blob(dm.Config, m.Config))
		seen := map[v1.Hash]bool{}
		for _, l := range m.Layers {
			file := l.Digest.Hex + layerSuffix(l.MediaType)
			dm.Layers = append(dm.Layers, file)
			if !seen[l.Digest] {
				seen[l.Digest] = true
				es = append(es, blob(file, l))
			}
		}
		data, err := json.Marshal([]dockerManifest{dm})
		if err != nil {
			return nil, err
		}
		es = append(es, layers.File("manifest.json", 0o644, data))
	case image.OCILayout, image.OCIArchive:
		raw, mt, digest, err := f.ociManifest()
		if err != nil {
			return nil, err
		}
		idx, err := json.Marshal(ociIndex{
			SchemaVersion: 2,
			MediaType:     types.OCIImageIndex,
			Manifests: []ociDescriptor{{
				MediaType: mt,
				Digest:    digest.String(),
				Size:      int64(len(raw)),
				Annotations: map[string]string{
					imageNameAnnotation: finalName + ":" + finalTag,
					refNameAnnotation:   finalTag,
				},
			}},
		})
		if err != nil {
			return nil, err
		}
		es = append(es,
			layers.Dir("blobs", 0o755), layers.Dir("blobs/sha256", 0o755),
			layers.File("blobs/sha256/"+digest.Hex, 0o644, raw),
			layers.File("index.json", 0o644, idx),
			layers.File("oci-layout", 0o644, []byte(ociLayoutFileContent)))
		for _, d := range uniqueBlobs(append([]v1.Descriptor{m.Config}, m.Layers...)) {
			if d.Digest != digest {
				es = append(es, blob("blobs/sha256/"+d.Digest.Hex, d))
			}
		}
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	layers.Sort(es)
	return es, nil
}

// ociManifestJSON and ociBlob are an OCI image manifest with fixed fields.
type ociManifestJSON struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Config        ociBlob         `json:"config"`
	Layers        []ociBlob       `json:"layers"`
}

type ociBlob struct {
	MediaType types.MediaType `json:"mediaType"`
	Digest    string          `json:"digest"`
	Size      int64           `json:"size"`
}

// ociMediaTypes maps Docker media types to their OCI equivalents.
var ociMediaTypes = map[types.MediaType]types.MediaType{
	types.DockerConfigJSON:        types.OCIConfigJSON,
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
}

// ociManifest returns the manifest to put in an OCI layout: the fetched
// one when it is OCI, else the Docker schema 2 manifest rewritten with OCI
// media types (blobs unchanged), as skopeo does, because OCI tools read
// only OCI manifests from a layout.
func (f *fetched) ociManifest() ([]byte, types.MediaType, v1.Hash, error) {
	if f.mediaType != types.DockerManifestSchema2 {
		return f.rawManifest, f.mediaType, f.digest, nil
	}
	conv := func(d v1.Descriptor) ociBlob {
		mt := d.MediaType
		if o, ok := ociMediaTypes[mt]; ok {
			mt = o
		}
		return ociBlob{MediaType: mt, Digest: d.Digest.String(), Size: d.Size}
	}
	m := ociManifestJSON{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: conv(f.manifest.Config), Layers: []ociBlob{}}
	for _, l := range f.manifest.Layers {
		m.Layers = append(m.Layers, conv(l))
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, "", v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	return raw, types.OCIManifestSchema1, h, err
}

// layerSuffix names a layer file of a docker-archive after its media type.
func layerSuffix(mt types.MediaType) string {
	switch mt {
	case types.DockerLayer, types.OCILayer, types.DockerForeignLayer, types.OCIRestrictedLayer:
		return ".tar.gz"
	case types.OCILayerZStd:
		return ".tar.zst"
	}
	return ".tar"
}

// writeTar writes entries as a deterministic tar to w.
func writeTar(w io.Writer, es []layers.Entry) error {
	tw := layers.NewWriter(w, archiveTime)
	for _, e := range es {
		if err := tw.WriteEntry(e); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeDir writes entries as files below dir, which exists.
func writeDir(dir string, es []layers.Entry) error {
	for _, e := range es {
		p := filepath.Join(dir, filepath.FromSlash(e.Name))
		switch e.Type {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntryFile(p, e); err != nil {
				return fmt.Errorf("writing %s: %w", p, err)
			}
		default:
			return fmt.Errorf("writing %s: unexpected entry type %q", p, e.Type)
		}
	}
	return nil
}

func writeEntryFile(p string, e layers.Entry) error {
	if e.Source == "" {
		return os.WriteFile(p, e.Data, 0o644)
	}
	// The source is a temporary blob: move it when it can be moved.
	if err := os.Rename(e.Source, p); err == nil {
		return os.Chmod(p, 0o644)
	}
	src, err := os.Open(e.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
