package stream

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/nixlayer/nixlayer/wire"
)

// The conversion between a Script and its wire form (package wire); each
// layer's is package recipe's.

// toWire returns the wire form of a stream script.
func (s *Script) toWire() (*wire.Script, error) {
	im := s.Settings
	config, err := json.Marshal(im.Config)
	if err != nil {
		return nil, fmt.Errorf("encoding the image config: %w", err)
	}
	w := &wire.Script{
		Ref:         im.Ref.String(),
		Config:      config,
		Platform:    wire.PlatformOf(im.Platform),
		Created:     im.Created.UTC().Format(time.RFC3339),
		MTime:       im.MTime.Unix(),
		Compression: string(im.Compression),
	}
	w.Provenance, w.Annotations = string(s.Provenance), im.Annotations
	if im.Base != nil {
		w.Base = &wire.Base{Path: im.Base.Path, Name: im.Base.Name, Tag: im.Base.Tag}
	}
	for i := range s.Layers {
		w.Layers = append(w.Layers, recipe.ToWire(&s.Layers[i], s.Blobs[i], im.Compression))
	}
	return w, nil
}

// scriptFromWire returns the stream script w describes; what names it in
// errors.
func scriptFromWire(w *wire.Script, what string) (*Script, error) {
	ref, err := name.NewTag(w.Ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("%s names an invalid reference %q: %w", what, w.Ref, err)
	}
	im := Settings{Ref: ref, MTime: time.Unix(w.MTime, 0).UTC(), Platform: w.Platform.V1(), Annotations: w.Annotations}
	if err := json.Unmarshal(w.Config, &im.Config); err != nil {
		return nil, fmt.Errorf("%s: reading the image config: %w", what, err)
	}
	if im.Created, err = time.Parse(time.RFC3339, w.Created); err != nil {
		return nil, fmt.Errorf("%s: created %q: %w", what, w.Created, err)
	}
	if w.Base != nil {
		im.Base = &spec.BaseRef{Path: w.Base.Path, Name: w.Base.Name, Tag: w.Base.Tag}
	}
	if im.Compression, err = compression.Parse(w.Compression); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s := &Script{Settings: im}
	if w.Provenance != "" {
		s.Provenance = []byte(w.Provenance)
	}
	for i, wl := range w.Layers {
		l, d, err := recipe.FromWire(wl, im.Compression, what, i)
		if err != nil {
			return nil, err
		}
		s.Blobs = append(s.Blobs, d)
		s.Layers = append(s.Layers, l)
	}
	return s, nil
}
