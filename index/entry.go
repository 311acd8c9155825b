package index

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/spec"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
)

// entry is one input image of an index, opened.
type entry struct {
	src      string
	img      v1.Image
	config   []byte
	layers   []v1.Descriptor // with OCI media types
	manifest []byte          // OCI
	platform v1.Platform
	close    func()
}

// openEntry opens the image at p (package source): a stream script in
// process, any other image through image/base.
func openEntry(ctx context.Context, p, tempDir string) (*entry, error) {
	src, err := source.Open(ctx, p, source.WithTempDir(tempDir))
	if err != nil {
		return nil, err
	}
	e := &entry{src: p, img: src.Image, close: src.Close}
	if src.Image == nil {
		e.close()
		return nil, fmt.Errorf("the image is itself a multi-platform index (or a layout of several images): give single-platform images")
	}
	if err := e.read(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// read takes the config, the platform and the manifest in OCI media types.
func (e *entry) read() error {
	var err error
	if e.config, err = e.img.RawConfigFile(); err != nil {
		return fmt.Errorf("reading the config: %w", err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(e.config, &cfg); err != nil {
		return fmt.Errorf("decoding the config: %w", err)
	}
	p := v1.Platform{Architecture: cfg.Architecture, Variant: cfg.Variant, OS: cfg.OS}
	if _, err := spec.CheckPlatform(p); err != nil {
		return err
	}
	e.platform = v1.Platform{Architecture: cfg.Architecture, OS: cfg.OS, OSVersion: cfg.OSVersion, Variant: cfg.Variant}
	raw, err := e.img.RawManifest()
	if err != nil {
		return fmt.Errorf("reading the manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decoding the manifest: %w", err)
	}
	if e.manifest, _, err = format.ManifestFor(format.OCILayout, raw, m); err != nil {
		return fmt.Errorf("converting the manifest to OCI: %w", err)
	}
	for _, l := range m.Layers {
		l.MediaType = format.OCILayout.MediaType(l.MediaType)
		e.layers = append(e.layers, l)
	}
	return nil
}

// key is what two entries may not share: the platform, arm64's variant
// v8 and none counting as one.
func (e *entry) key() string {
	p, _ := spec.CheckPlatform(v1.Platform{Architecture: e.platform.Architecture, Variant: e.platform.Variant, OS: e.platform.OS})
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	if e.platform.OSVersion != "" {
		s += " (os.version " + e.platform.OSVersion + ")"
	}
	return s
}

// image is the entry as an image of a format.Index: its layers (read
// when written), config, manifest and platform; Name is its path, for
// errors.
func (e *entry) image() format.Image {
	img := format.Image{Config: e.config, Manifest: e.manifest, Name: e.src, Platform: &e.platform, Provenance: e.provenance}
	for _, l := range e.layers {
		img.Layers = append(img.Layers, format.Blob{Desc: l, Open: func() (io.ReadCloser, error) {
			layer, err := e.img.LayerByDigest(l.Digest)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			return layer.Compressed()
		}})
	}
	return img
}

// provenance returns the input's provenance statement about the manifest
// m the index holds (a Docker manifest becomes an OCI one: the statement
// is moved to it), or nil when the input carries none.
func (e *entry) provenance(m v1.Descriptor) ([]byte, error) {
	st, err := provenance.Of(e.src)
	if errors.Is(err, provenance.ErrNoProvenance) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st, err = provenance.WithSubject(st, m.Digest); err != nil {
		return nil, err
	}
	return st.JSON, nil
}
