package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/wire"
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
	// MaxLayers (default 1) is the most layers the output holds; Layering
	// (default layers.DefaultStrategy) splits the closure into them.
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
	Platform   Platform
	Options    layers.Options
	Uid, Gid   int
	MaxLayers  int
	Layering   string
	Deps       []string
	CopyToRoot []string
	Layers     []string
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
	compression, err := layers.ParseCompression(c)
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
	if set.MaxLayers < 1 || set.MaxLayers > layers.MaxImageLayers-1 {
		return nil, fmt.Errorf("maxLayers = %d: a layer derivation holds 1 to %d layers", set.MaxLayers, layers.MaxImageLayers-1)
	}
	if set.Layering = s.Layering; set.Layering == "" {
		set.Layering = layers.DefaultStrategy
	}
	if _, err := layers.Lookup(set.Layering); err != nil {
		return nil, err
	}
	if set.Layers, err = resolveLayers(s.Layers); err != nil {
		return nil, err
	}
	if len(s.Deps) == 0 && len(s.CopyToRoot) == 0 {
		return nil, fmt.Errorf("a layer needs deps or copyToRoot")
	}
	return set, nil
}

// LayerRequest is one cached layer build: the spec, the closure of its
// deps and copyToRoot, and the output directory.
type LayerRequest struct {
	Spec            *LayerSpec
	Graph           *registration.Graph
	Out             string
	SourceDateEpoch string
}

// BuildLayer writes a cached layer derivation's output to r.Out: each
// layer's blob at wire.BlobPath of its digest and the wire.LayerFile
// describing them, as ReadLayerOutput reads them. The layers hold the
// closure of the deps and copyToRoot less the store paths of r.Spec.Layers,
// split by the layering strategy, with copyToRoot's files at the root of
// the top one. Its tars are those an image's own layers of the same store
// paths and settings would have: the same blobs. On error nothing is left
// at r.Out.
func BuildLayer(ctx context.Context, r *LayerRequest) error {
	set, err := ResolveLayer(r.Spec, r.SourceDateEpoch)
	if err != nil {
		return err
	}
	plan, err := planLayer(set, r.Graph)
	if err != nil {
		return fmt.Errorf("nixlayer.buildLayer: %w", err)
	}
	return atomicfile.Dir(r.Out, func(dir string) error {
		f := &wire.LayerFile{Platform: wire.Platform{Architecture: set.Platform.Architecture, Variant: set.Platform.Variant, OS: set.Platform.OS}}
		blobs := filepath.Join(dir, "blobs", "sha256")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return err
		}
		descs := make([]wire.Descriptor, len(plan))
		err := eachLayer(ctx, plan, func(i int) error {
			tmp := filepath.Join(blobs, fmt.Sprintf(".layer-%03d", i))
			d, err := writeLayerFile(ctx, tmp, &plan[i], set.Options)
			if err != nil {
				return fmt.Errorf("writing layer %d (%s): %w", i+1, short(plan[i].Comment), err)
			}
			c := set.Options.Compression
			descs[i] = LayerDescriptor(&plan[i], d, c, c.MediaType(true))
			descs[i].StorePaths = slices.Sorted(slices.Values(plan[i].StorePaths)) // as wire.Descriptor says
			return os.Rename(tmp, filepath.Join(dir, wire.BlobPath(descs[i].Digest)))
		})
		if err != nil {
			return err
		}
		f.Layers = descs
		doc, err := wire.EncodeLayerFile(f)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, wire.LayerFileName), append(doc, '\n'), 0o444)
	})
}

// planLayer decides the layers of a cached layer derivation: g less the
// layers below, split by the strategy into at most set.MaxLayers groups,
// with the copied roots in the top one.
func planLayer(set *LayerSettings, g *registration.Graph) ([]Layer, error) {
	below, err := readCached(set.Layers, set.Platform)
	if err != nil {
		return nil, err
	}
	if g, err = g.Subgraph(append(append([]string(nil), set.Deps...), set.CopyToRoot...)...); err != nil {
		return nil, err
	}
	stores, err := without(g, cachedPaths(below))
	if err != nil {
		return nil, fmt.Errorf("leaving out the store paths of layers: %w", err)
	}
	var groups [][]string
	if stores.Len() > 0 {
		strategy, err := layers.Lookup(set.Layering)
		if err != nil {
			return nil, err
		}
		if groups, err = strategy(layers.Input{Graph: stores, Roots: inGraph(stores, set.Deps), Size: pathSize(stores), Budget: set.MaxLayers}); err != nil {
			return nil, err
		}
	}
	var root []layers.Entry
	if len(set.CopyToRoot) > 0 {
		if root, err = layers.Contents(set.CopyToRoot, layers.Copy); err != nil {
			return nil, err
		}
	}
	if len(groups) == 0 && len(root) == 0 {
		return nil, fmt.Errorf("nothing to put in the layer: every store path of deps is in layers already")
	}
	rules, err := layerRules(set, stores, root)
	if err != nil {
		return nil, err
	}
	plan := make([]Layer, 0, len(groups)+1)
	for _, grp := range groups {
		plan = append(plan, Layer{StorePaths: grp, Uid: set.Uid, Gid: set.Gid, Comment: comment(grp, false), Rules: rules})
	}
	if len(root) > 0 {
		if len(plan) == 0 {
			plan = append(plan, Layer{Uid: set.Uid, Gid: set.Gid, Rules: rules})
		}
		top := &plan[len(plan)-1]
		top.Extra, top.Comment = root, comment(top.StorePaths, true)
	}
	return plan, nil
}

// layerRules resolves the perms of a layer against what it holds: each
// rule must match something in it.
func layerRules(set *LayerSettings, stores *registration.Graph, root []layers.Entry) (customize.Rules, error) {
	if len(set.Perms.Perms) == 0 {
		return nil, nil
	}
	res, err := customize.Customise(&set.Perms, customize.Image{
		Root:       func() ([]layers.Entry, error) { return root, nil },
		StorePaths: storePaths(stores),
	})
	if err != nil {
		return nil, err
	}
	return res.Rules, nil
}
