package base

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/wire"
)

// Provenance returns the provenance statement the archive carries beside
// the picked image, as nixlayer writes it (see wire.ProvenanceMemberSuffix
// and wire.ProvenanceAnnotation): ok is false when it carries none. A
// statement over max bytes is an error (ErrLimit), read no further; an
// OCI statement must match its digest (ErrDigest).
func (img *Image) Provenance(max int64) (data []byte, ok bool, err error) {
	switch img.format {
	case DockerArchive:
		if img.configName == "" {
			return nil, false, nil
		}
		name := strings.TrimSuffix(img.configName, ".json") + wire.ProvenanceMemberSuffix
		if !img.store.has(name) {
			return nil, false, nil
		}
		data, err := img.readBounded(name, max)
		return data, err == nil, err
	case OCILayout, OCIArchive:
		return img.ociProvenance(max)
	}
	return nil, false, nil
}

// ociProvenance reads the statement of the artifact manifest the picked
// index.json entry names.
func (img *Image) ociProvenance(max int64) ([]byte, bool, error) {
	key := wire.ProvenanceAnnotation
	if img.picked.Digest != img.entry.Digest {
		key = wire.IndexProvenanceAnnotation(img.picked.Digest.String())
	}
	ref, found := img.entry.Annotations[key]
	if !found {
		return nil, false, nil
	}
	h, err := v1.NewHash(ref)
	if err != nil {
		return nil, false, fmt.Errorf("image %q: index.json annotation %s = %q: %w", img.src, wire.ProvenanceAnnotation, ref, ErrFormat)
	}
	var m v1.Manifest
	raw, err := img.readAll(blobName(h))
	if err != nil {
		return nil, false, fmt.Errorf("image %q: provenance manifest %s: %w", img.src, h, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(raw)); got != h {
		return nil, false, fmt.Errorf("image %q: provenance manifest %s has digest %s: %w", img.src, h, got, ErrDigest)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false, fmt.Errorf("decoding provenance manifest %s of image %q: %w", h, img.src, err)
	}
	if len(m.Layers) != 1 {
		return nil, false, fmt.Errorf("image %q: provenance manifest %s has %d layers, not 1: %w", img.src, h, len(m.Layers), ErrFormat)
	}
	d := m.Layers[0]
	if d.Size > max {
		return nil, false, fmt.Errorf("image %q: provenance statement %s has %d bytes, over the %d byte limit: %w", img.src, d.Digest, d.Size, max, ErrLimit)
	}
	data, err := img.readBounded(blobName(d.Digest), max)
	if err != nil {
		return nil, false, err
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(data)); got != d.Digest || int64(len(data)) != d.Size {
		return nil, false, fmt.Errorf("image %q: provenance statement %s has digest %s and %d bytes, not %d: %w", img.src, d.Digest, got, len(data), d.Size, ErrDigest)
	}
	return data, true, nil
}

// readBounded reads the file name of the store, at most max bytes.
func (img *Image) readBounded(name string, max int64) ([]byte, error) {
	rc, size, err := img.store.open(name)
	if err != nil {
		return nil, fmt.Errorf("image %q: %s: %w", img.src, name, err)
	}
	defer rc.Close()
	if size > max {
		return nil, fmt.Errorf("image %q: %s has %d bytes, over the %d byte limit: %w", img.src, name, size, max, ErrLimit)
	}
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("image %q: reading %s: %w", img.src, name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("image %q: %s is over the %d byte limit: %w", img.src, name, max, ErrLimit)
	}
	return data, nil
}

// readAnnotations reads the annotations member of the picked image of a
// docker-archive, if it has one (wire.DockerAnnotations): the manifest
// made of the archive (RawManifest) carries them.
func (img *Image) readAnnotations() error {
	name := strings.TrimSuffix(img.configName, ".json") + wire.AnnotationsMemberSuffix
	if !img.store.has(name) {
		return nil
	}
	raw, err := img.readAll(name)
	if err != nil {
		return err
	}
	var a wire.DockerAnnotations
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("decoding %s of image %q: %w", name, img.src, err)
	}
	if len(a.Layers) != 0 && len(a.Layers) != len(img.layers) {
		return fmt.Errorf("image %q: %s has annotations for %d layers, the image has %d: %w", img.src, name, len(a.Layers), len(img.layers), ErrFormat)
	}
	img.annotations = &a
	return nil
}
