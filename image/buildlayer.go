package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/wire"
)

// LayerRequest is one cached layer build: the spec, the closure of its
// deps and copyToRoot, and the output directory.
type LayerRequest struct {
	Spec            *spec.LayerSpec
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
	set, err := spec.ResolveLayer(r.Spec, r.SourceDateEpoch)
	if err != nil {
		return err
	}
	plan, err := planLayer(set, r.Graph)
	if err != nil {
		return fmt.Errorf("nixlayer.buildLayer: %w", err)
	}
	return atomicfile.Dir(r.Out, func(dir string) error {
		f := &wire.LayerFile{Platform: wire.PlatformOf(set.Platform)}
		blobs := filepath.Join(dir, "blobs", "sha256")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return err
		}
		descs := make([]wire.Descriptor, len(plan))
		err := recipe.EachLayer(ctx, plan, func(i int) error {
			tmp := filepath.Join(blobs, fmt.Sprintf(".layer-%03d", i))
			d, err := plan[i].WriteFile(ctx, tmp, set.Options)
			if err != nil {
				return fmt.Errorf("writing layer %d (%s): %w", i+1, plan[i].Title(), err)
			}
			c := set.Options.Compression
			descs[i] = recipe.LayerDescriptor(&plan[i], d, c, c.MediaType(true))
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
func planLayer(set *spec.LayerSettings, g *registration.Graph) ([]recipe.Layer, error) {
	below, err := recipe.ReadCached(set.Layers, set.Platform)
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
		strategy, err := layering.Lookup(set.Layering)
		if err != nil {
			return nil, err
		}
		if groups, err = strategy(layering.Input{Graph: stores, Roots: inGraph(stores, set.Deps), Size: pathSize(stores), Budget: set.MaxLayers}); err != nil {
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
	plan := make([]recipe.Layer, 0, len(groups)+1)
	for _, grp := range groups {
		plan = append(plan, recipe.Layer{StorePaths: grp, Uid: set.Uid, Gid: set.Gid, Comment: comment(grp, false), Rules: rules})
	}
	if len(root) > 0 {
		if len(plan) == 0 {
			plan = append(plan, recipe.Layer{Uid: set.Uid, Gid: set.Gid, Rules: rules})
		}
		top := &plan[len(plan)-1]
		top.Extra, top.Comment = root, comment(top.StorePaths, true)
	}
	return plan, nil
}

// layerRules resolves the perms of a layer against what it holds: each
// rule must match something in it.
func layerRules(set *spec.LayerSettings, stores *registration.Graph, root []layers.Entry) (customize.Rules, error) {
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
