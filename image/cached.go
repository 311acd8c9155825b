package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/wire"
)

// Cached layers are layers built earlier, by nl.buildLayer (BuildLayer):
// the output of such a derivation holds each layer's blob and a
// wire.LayerFile describing them. An image that takes them (spec field
// "layers") puts them at the bottom of its own layers as they are: their
// blobs are never read to be hashed or compressed again, their store paths
// are left out of the image's own layering (they stay in its closure and
// its Nix database), and they count toward maxLayers.

// Cached is a layer built earlier: its blob file and its descriptor.
type Cached struct {
	// Output is the buildLayer output that holds the layer.
	Output string
	// File is the blob, as it was built.
	File        string
	Desc        layers.Descriptor
	Compression layers.Compression
}

// blob returns the cached layer as a blob of an image in the OCI or the
// Docker flavour of media types: its own compression's, whatever the
// image's compression is.
func (c *Cached) blob(oci bool) *Blob {
	return FileBlob(c.File, c.Desc, c.Compression, c.Compression.MediaType(oci))
}

// cachedBlob is layer l's blob when l is a cached layer, else nil.
func (l *Layer) cachedBlob(oci bool) *Blob {
	if l.Cached == nil {
		return nil
	}
	return l.Cached.blob(oci)
}

// cachedFile is the blob file of layer l when it is a cached layer.
func (l *Layer) cachedFile() []string {
	if l.Cached == nil {
		return nil
	}
	return []string{l.Cached.File}
}

// ReadLayerOutput reads the layers of a buildLayer output: its
// wire.LayerFile, and each blob file, checked to exist with the size the
// descriptor gives. what names the output in errors ("layers[0]").
func ReadLayerOutput(out, what string) (v1.Platform, []Layer, error) {
	f, err := wire.ReadLayerFile(out)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return v1.Platform{}, nil, fmt.Errorf("%s = %s is not a layer built by nl.buildLayer (it has no %s): give layers only what buildLayer returns", what, out, wire.LayerFileName)
	}
	if err != nil {
		return v1.Platform{}, nil, fmt.Errorf("%s = %s: %w", what, out, err)
	}
	doc := filepath.Join(out, wire.LayerFileName)
	p := f.Platform.V1()
	var plan []Layer
	for _, w := range f.Layers {
		d, c, err := FromDescriptor(w, doc)
		if err != nil {
			return v1.Platform{}, nil, err
		}
		file := filepath.Join(out, wire.BlobPath(w.Digest))
		fi, err := os.Stat(file)
		if err != nil {
			return v1.Platform{}, nil, fmt.Errorf("%s = %s is damaged: layer %s: %w", what, out, w.Digest, err)
		}
		if fi.Size() != d.Size {
			return v1.Platform{}, nil, fmt.Errorf("%s = %s is damaged: blob %s has %d bytes, its descriptor says %d", what, out, file, fi.Size(), d.Size)
		}
		plan = append(plan, Layer{StorePaths: w.StorePaths, Comment: w.Comment,
			Cached: &Cached{Output: out, File: file, Desc: d, Compression: c}})
	}
	return p, plan, nil
}

// readCached reads the buildLayer outputs outs, bottom first, for an image
// (or a layer) for platform p: a layer built for another platform is
// refused, naming both.
func readCached(outs []string, p v1.Platform) ([]Layer, error) {
	var plan []Layer
	for i, out := range outs {
		what := fmt.Sprintf("layers[%d]", i)
		lp, ls, err := ReadLayerOutput(out, what)
		if err != nil {
			return nil, err
		}
		if !lp.Equals(p) {
			return nil, fmt.Errorf("%s = %s was built for %s, the image is for %s: build the layer with the image's system (or architecture)", what, out, spec.PlatformString(lp), spec.PlatformString(p))
		}
		plan = append(plan, ls...)
	}
	return plan, nil
}

// cachedPaths returns the store paths the cached layers hold.
func cachedPaths(plan []Layer) map[string]bool {
	held := map[string]bool{}
	for _, l := range plan {
		for _, p := range l.StorePaths {
			held[p] = true
		}
	}
	return held
}

// without returns g without the paths drop says, and without the
// references to them.
func without(g *registration.Graph, drop map[string]bool) (*registration.Graph, error) {
	if len(drop) == 0 {
		return g, nil
	}
	var infos []registration.PathInfo
	for _, info := range g.Paths() {
		if drop[info.Path] {
			continue
		}
		var refs []string
		for _, r := range info.References {
			if !drop[r] {
				refs = append(refs, r)
			}
		}
		info.References = refs
		infos = append(infos, info)
	}
	return registration.NewGraph(g.StoreDir(), infos)
}

// inGraph returns the paths of ps that g holds.
func inGraph(g *registration.Graph, ps []string) []string {
	var out []string
	for _, p := range ps {
		if _, ok := g.Lookup(p); ok {
			out = append(out, p)
		}
	}
	return out
}

// withCached prepares planner p for the cached layers of its settings: it
// reads them, takes their outputs out of the closure (they are inputs of
// the build, not part of the image), checks that the closure holds their
// store paths, and leaves the rest as the graph of the image's own layers.
func (p *planner) withCached() error {
	set := p.set
	p.stores = p.graph
	if len(set.Layers) == 0 {
		return nil
	}
	cached, err := readCached(set.Layers, set.Platform)
	if err != nil {
		return err
	}
	outs := map[string]bool{}
	for _, o := range set.Layers {
		outs[o] = true
	}
	if p.graph, err = without(p.graph, outs); err != nil {
		return fmt.Errorf("taking the layers out of the closure: %w", err)
	}
	for _, l := range cached {
		for _, sp := range l.StorePaths {
			if _, ok := p.graph.Lookup(sp); !ok {
				return fmt.Errorf("store path %s of layer %s is not in the image's closure: give the layer outputs in `layers` (nl.buildLayer)", sp, l.Cached.Output)
			}
		}
	}
	held := cachedPaths(cached)
	if p.stores, err = without(p.graph, held); err != nil {
		return fmt.Errorf("leaving the layers' store paths out of the image's own layers: %w", err)
	}
	p.cached = cached
	return nil
}

// checkCount refuses an image of more than layers.MaxImageLayers layers,
// naming where they come from.
func (p *planner) checkCount(plan []Layer) error {
	total := len(plan) + p.baseLayers()
	if total <= layers.MaxImageLayers {
		return nil
	}
	return fmt.Errorf("the image would have %d layers (%d from the base image, %d from `layers`, %d of its own); Docker and containerd refuse more than %d",
		total, p.baseLayers(), len(p.cached), len(plan)-len(p.cached), layers.MaxImageLayers)
}

// budget returns the layers left for the image's own store paths
// (layers.AvailableLayers), with an error that counts every kind of layer
// when the cached layers leave none.
func (p *planner) budget() (int, error) {
	if len(p.cached) == 0 || p.set.MaxLayers-1-p.reserved() >= 1 {
		return layers.AvailableLayers(p.set.MaxLayers, p.reserved())
	}
	db := 0
	if p.set.NixDB != nil {
		db = 1
	}
	return 0, fmt.Errorf("maxLayers = %d leaves no layer for the image's own store paths: %d layers come from `layers`, %d from the base image, %d is the Nix database and 1 the customisation layer; raise maxLayers (at most %d) or put more store paths into the layers",
		p.set.MaxLayers, len(p.cached), p.baseLayers(), db, layers.MaxImageLayers)
}

// cachedToWire returns the wire form of cached layer l in a stream script:
// its descriptor and its blob file, no recipe.
func cachedToWire(l *Layer) wire.Layer {
	c := l.Cached
	return wire.Layer{Descriptor: LayerDescriptor(l, c.Desc, c.Compression, c.Compression.MediaType(false)), File: c.File}
}

// cachedFromWire returns the cached layer a stream script's layer w with
// File set describes.
func cachedFromWire(w wire.Layer, d layers.Descriptor, c layers.Compression) Layer {
	return Layer{StorePaths: w.Descriptor.StorePaths, Comment: w.Descriptor.Comment,
		Cached: &Cached{Output: filepath.Dir(filepath.Dir(filepath.Dir(w.File))), File: w.File, Desc: d, Compression: c}}
}
