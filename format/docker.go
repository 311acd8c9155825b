package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// dockerManifest is one element of a docker-archive's manifest.json, with
// its fields in Docker's order.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// docker writes a docker-archive: each blob a file named by its digest
// ("<hex>.json" for a config, "<hex>.tar.gz", ".tar.zst" or ".tar" for a
// layer), then manifest.json.
type docker struct {
	t        *tarWriter
	written  map[string]bool
	manifest []dockerManifest
}

func newDocker(t *tarWriter) *docker {
	return &docker{t: t, written: map[string]bool{}}
}

// dockerName is the file name of a blob in a docker-archive.
func dockerName(d v1.Descriptor) string {
	if d.MediaType == types.DockerConfigJSON || d.MediaType == types.OCIConfigJSON {
		return d.Digest.Hex + ".json"
	}
	return d.Digest.Hex + layerSuffix(d.MediaType)
}

func (w *docker) Blob(b Blob) error {
	name := dockerName(b.Desc)
	if w.written[name] {
		return nil
	}
	rc, err := b.open()
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", b.Desc.Digest, err)
	}
	defer rc.Close()
	if err := w.t.file(name, b.Desc.Size, rc); err != nil {
		return err
	}
	w.written[name] = true
	return nil
}

func (w *docker) Produce(mt types.MediaType, write func(io.Writer) (layers.Descriptor, error)) (layers.Descriptor, error) {
	return w.t.produce(write, func(d layers.Descriptor) string {
		name := dockerName(v1.Descriptor{MediaType: mt, Digest: d.Digest})
		if w.written[name] {
			return ""
		}
		w.written[name] = true
		return name
	})
}

func (w *docker) Image(img Image) error {
	m, err := parseManifest(img)
	if err != nil {
		return err
	}
	if err := writeLayers(w, img); err != nil {
		return err
	}
	dm := dockerManifest{Config: dockerName(m.Config), RepoTags: []string{}}
	if t := img.repoTag(); t != "" {
		dm.RepoTags = append(dm.RepoTags, t)
	}
	for _, l := range m.Layers {
		name := dockerName(l)
		if !w.written[name] {
			return fmt.Errorf("image %s: layer %s was not written", img.repoTag(), l.Digest)
		}
		dm.Layers = append(dm.Layers, name)
	}
	if err := w.Blob(Blob{Desc: m.Config, Open: bytesOpener(img.Config)}); err != nil {
		return err
	}
	if err := w.dockerAnnotations(m, dm.Config); err != nil {
		return err
	}
	if err := w.dockerProvenance(img, dm.Config); err != nil {
		return err
	}
	w.manifest = append(w.manifest, dm)
	return nil
}

func (w *docker) close() error {
	data, err := json.Marshal(w.manifest)
	if err != nil {
		return err
	}
	if err := w.t.file("manifest.json", int64(len(data)), bytes.NewReader(data)); err != nil {
		return err
	}
	return w.t.close()
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// dockerAnnotations writes the annotations of manifest m, when it has
// any, as the member named after the config (configName, "<hex>.json"):
// see wire.DockerAnnotations.
func (w *docker) dockerAnnotations(m *v1.Manifest, configName string) error {
	a := wire.DockerAnnotations{Manifest: m.Annotations}
	has := len(m.Annotations) > 0
	for _, l := range m.Layers {
		a.Layers = append(a.Layers, l.Annotations)
		has = has || len(l.Annotations) > 0
	}
	if !has {
		return nil
	}
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(configName, ".json") + wire.AnnotationsMemberSuffix
	if w.written[name] {
		return nil
	}
	w.written[name] = true
	return w.t.file(name, int64(len(data)), bytes.NewReader(data))
}
