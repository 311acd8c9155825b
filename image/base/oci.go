package base

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// OCI annotations that name an image in an index.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerName = "io.containerd.image.name"
)

// maxIndexDepth bounds how many indexes may nest.
const maxIndexDepth = 4

// blobName is where an OCI layout keeps the blob h.
func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// descRefs returns the names and tags the annotations of an index entry
// give: io.containerd.image.name is a full "name:tag"; ref.name is a tag,
// or a full reference when it holds a colon or a slash.
func descRefs(d v1.Descriptor) []imageRef {
	var refs []imageRef
	if n := d.Annotations[annotationContainerName]; n != "" {
		refs = append(refs, parseRef(n))
	}
	if n := d.Annotations[annotationRefName]; n != "" {
		if r := parseRef(n); r.tag != "" {
			refs = append(refs, r)
		} else if len(refs) > 0 {
			refs = append(refs, imageRef{refs[0].name, n})
		} else {
			refs = append(refs, imageRef{tag: n})
		}
	}
	return refs
}

// openOCI reads an OCI layout, from a directory or a tar.
func (img *Image) openOCI() error {
	idx, refs, err := img.indexList()
	if err != nil {
		return err
	}
	i, err := img.pick(refs)
	if err != nil {
		return err
	}
	desc := idx.Manifests[i]
	img.entry = desc
	for depth := 0; desc.MediaType.IsIndex(); depth++ {
		if depth >= maxIndexDepth {
			return fmt.Errorf("image %q: indexes nest more than %d deep: %w", img.src, maxIndexDepth, ErrLimit)
		}
		var sub v1.IndexManifest
		if img.rawIndex, err = img.decodeBlob("index", desc, &sub); err != nil {
			return err
		}
		if desc, err = img.pickPlatform(sub); err != nil {
			return err
		}
	}
	img.picked = desc
	var m v1.Manifest
	raw, err := img.decodeBlob("manifest", desc, &m)
	if err != nil {
		return err
	}
	img.rawManifest = raw
	cfg, err := img.readBlob("config", m.Config)
	if err != nil {
		return err
	}
	if err := img.setConfig(cfg); err != nil {
		return err
	}
	for _, d := range m.Layers {
		name := blobName(d.Digest)
		rc, size, err := img.store.open(name)
		if err != nil {
			return fmt.Errorf("image %q: layer %s (%s): %w", img.src, d.Digest, d.MediaType, err)
		}
		rc.Close()
		if size != d.Size {
			return fmt.Errorf("image %q: layer blob %s has %d bytes, the manifest says %d: %w", img.src, d.Digest, size, d.Size, ErrDigest)
		}
		img.layers = append(img.layers, &layer{img: img, idx: len(img.layers), blob: name, size: size,
			mediaType: d.MediaType, digest: d.Digest, digestKnown: true})
	}
	return img.finish()
}

// pickPlatform picks the manifest WithManifest names, else this machine's
// platform from a multi-platform index, or else its first image that is
// not an attestation.
func (img *Image) pickPlatform(idx v1.IndexManifest) (v1.Descriptor, error) {
	if h := img.opts.manifest; h != (v1.Hash{}) {
		for _, d := range idx.Manifests {
			if d.Digest == h {
				return d, nil
			}
		}
		return v1.Descriptor{}, fmt.Errorf("image %q: its index lists no manifest %s: %w", img.src, h, ErrMissing)
	}
	for _, d := range idx.Manifests {
		if p := d.Platform; p != nil && p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return d, nil
		}
	}
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS != "unknown" {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("image %q: an index lists no image: %w", img.src, ErrFormat)
}

// decodeBlob reads a small JSON blob (readBlob) into v and returns its bytes.
func (img *Image) decodeBlob(what string, d v1.Descriptor, v any) ([]byte, error) {
	raw, err := img.readBlob(what, d)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decoding %s %s of image %q: %w", what, d.Digest, img.src, err)
	}
	return raw, nil
}

// readBlob reads a small blob and checks its digest and size.
func (img *Image) readBlob(what string, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxMetadataBytes {
		return nil, fmt.Errorf("image %q: %s %s has %d bytes, over the %d byte limit for JSON documents: %w", img.src, what, d.Digest, d.Size, maxMetadataBytes, ErrLimit)
	}
	b, err := img.readAll(blobName(d.Digest))
	if err != nil {
		return nil, fmt.Errorf("image %q: %s %s: %w", img.src, what, d.Digest, err)
	}
	got, _, _ := v1.SHA256(bytes.NewReader(b))
	if got != d.Digest || int64(len(b)) != d.Size {
		return nil, fmt.Errorf("image %q: %s blob %s has digest %s and %d bytes, not %d: %w", img.src, what, d.Digest, got, len(b), d.Size, ErrDigest)
	}
	return b, nil
}
