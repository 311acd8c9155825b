package spec

import (
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/layers"
)

// LayerSpec is what nl.buildLayer passes as the "nixlayer" attribute: a
// cached layer derivation's options, as the user wrote them. Absent fields
// take the defaults ResolveLayer applies.
type LayerSpec struct {
	// Function is "buildLayer", named in errors.
	Function string `json:"function"`
	// Deps are the store paths whose closure the layer holds, less the
	// paths of Layers.
	Deps []string `json:"deps"`
	// CopyToRoot are store paths whose files go at the root of the (top)
	// layer, copied as buildImage copies its contents.
	CopyToRoot []string `json:"copyToRoot"`
	// Layers are buildLayer outputs below this one: their store paths are
	// left out.
	Layers []string `json:"layers"`
	// Ignore are store paths left out of the layer (nix2container's
	// ignore), each of them alone: what they refer to stays.
	Ignore []string `json:"ignore"`
	// Metadata is the history of the layer(s) (nix2container's):
	// created_by (default "nixlayer"), author, comment (default the store
	// paths it holds).
	Metadata *LayerMetadata `json:"metadata"`
	// MaxLayers (default 1) is the most layers the output holds; Layering
	// (default layering.DefaultStrategy) splits the closure into them.
	MaxLayers *int   `json:"maxLayers"`
	Layering  string `json:"layering"`
	// Perms, Uid, Gid, MTime and Compression are those of the image
	// builders, with the same defaults (compression gzip).
	Perms        []customize.Perm `json:"perms"`
	Uid          int              `json:"uid"`
	Gid          int              `json:"gid"`
	MTime        *Timestamp       `json:"mtime"`
	Compression  string           `json:"compression"`
	Architecture string           `json:"architecture"`
	System       string           `json:"system"`
}

// LayerMetadata is nl.buildLayer's metadata argument.
type LayerMetadata struct {
	CreatedBy string `json:"created_by"`
	Author    string `json:"author"`
	Comment   string `json:"comment"`
}

// ParseLayerSpec decodes a layer spec strictly (an unknown argument is an
// error); source names the input in errors.
func ParseLayerSpec(data []byte, source string) (*LayerSpec, error) {
	var s LayerSpec
	if err := decodeStrict(data, &s); err != nil {
		return nil, fmt.Errorf("reading layer spec %s: %w", source, err)
	}
	return &s, nil
}

// LayerSettings is a LayerSpec resolved: checked, typed and defaulted.
type LayerSettings struct {
	Platform   v1.Platform
	Options    layers.Options
	Uid, Gid   int
	MaxLayers  int
	Layering   string
	Deps       []string
	CopyToRoot []string
	Layers     []string
	Ignore     []string
	Metadata   LayerMetadata
	Perms      customize.Spec
}

// ResolveLayer checks s and applies its defaults; sourceDateEpoch
// overrides mtime as for images. Errors name the field and the function.
func ResolveLayer(s *LayerSpec, sourceDateEpoch string) (*LayerSettings, error) {
	set, err := resolveLayer(s, sourceDateEpoch)
	if err != nil && s.Function != "" {
		return nil, fmt.Errorf("nixlayer.%s: %w", s.Function, err)
	}
	return set, err
}

func resolveLayer(s *LayerSpec, sourceDateEpoch string) (*LayerSettings, error) {
	set := &LayerSettings{Uid: s.Uid, Gid: s.Gid, Deps: s.Deps, CopyToRoot: s.CopyToRoot, Perms: customize.Spec{Perms: s.Perms}}
	var err error
	if set.Platform, err = ResolvePlatform(s.Architecture, s.System); err != nil {
		return nil, err
	}
	mtime, err := (&Spec{MTime: s.MTime}).LayerTime(sourceDateEpoch)
	if err != nil {
		return nil, err
	}
	c := s.Compression
	if c == "" {
		c = string(DefaultCompression(false))
	}
	compression, err := compression.Parse(c)
	if err != nil {
		return nil, err
	}
	set.Options = layers.Options{MTime: mtime, Compression: compression}
	if s.Uid < 0 || s.Gid < 0 {
		return nil, fmt.Errorf("uid %d / gid %d must not be negative", s.Uid, s.Gid)
	}
	set.MaxLayers = 1
	if s.MaxLayers != nil {
		set.MaxLayers = *s.MaxLayers
	}
	if set.MaxLayers < 1 || set.MaxLayers > layering.MaxImageLayers-1 {
		return nil, fmt.Errorf("maxLayers = %d: a layer derivation holds 1 to %d layers", set.MaxLayers, layering.MaxImageLayers-1)
	}
	if set.Layering = s.Layering; set.Layering == "" {
		set.Layering = layering.DefaultStrategy
	}
	if _, err := layering.Lookup(set.Layering); err != nil {
		return nil, err
	}
	if set.Layering == layering.PipelineStrategy {
		return nil, fmt.Errorf("layering = %q: buildLayer takes no layeringPipeline; use \"popularity\", \"auto\" or \"size\"", set.Layering)
	}
	if set.Layers, err = resolveLayers(s.Layers); err != nil {
		return nil, err
	}
	for i, p := range s.Ignore {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("ignore[%d] = %q is not a store path", i, p)
		}
	}
	set.Ignore = s.Ignore
	if s.Metadata != nil {
		set.Metadata = *s.Metadata
	}
	if len(s.Deps) == 0 && len(s.CopyToRoot) == 0 {
		return nil, fmt.Errorf("a layer needs deps or copyToRoot")
	}
	return set, nil
}

// resolveLayers checks the layers argument: absolute paths (the outputs of
// nl.buildLayer), each given once.
func resolveLayers(outs []string) ([]string, error) {
	seen := map[string]bool{}
	for i, o := range outs {
		if !filepath.IsAbs(o) {
			return nil, fmt.Errorf("layers[%d] = %q is not a store path: give nl.buildLayer outputs", i, o)
		}
		if seen[o] {
			return nil, fmt.Errorf("layers[%d] = %s is given twice", i, o)
		}
		seen[o] = true
	}
	return outs, nil
}
