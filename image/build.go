package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nixlayer/nixlayer/spec"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// Request is one image build: the spec, the closure it draws from, and
// where the result goes.
type Request struct {
	Spec  *spec.Spec
	Graph *registration.Graph
	// Out is the path of the result; it is written under a temporary name
	// and renamed when complete.
	Out string
	// Env is what the build takes from its environment (default tag,
	// SOURCE_DATE_EPOCH, clock, temporary directory).
	Env spec.Env
	// Interpreter is the nixlayer binary a stream script runs with.
	Interpreter string
}

// Build resolves the request's spec (Resolve), plans (Plan) and writes
// every layer, and writes the image (or, for a streamed image, the stream
// script) to r.Out. On error nothing is left at r.Out.
func Build(ctx context.Context, r *Request) error {
	set, err := spec.Resolve(r.Spec, r.Env)
	if err != nil {
		return err
	}
	var from *base.Image
	if set.Base != nil {
		if from, err = openBase(ctx, set.Base, set.TempDir); err != nil {
			return err
		}
		defer from.Close()
	}
	graph, err := withoutReferences(r.Graph, set.References)
	if err != nil {
		return err
	}
	plan, err := Plan(ctx, set, graph, from)
	if err != nil {
		return err
	}
	if set.Stream {
		descs, err := Describe(ctx, plan, set.LayerOptions())
		if err != nil {
			return err
		}
		interp := r.Interpreter
		if interp == "" {
			if interp, err = os.Executable(); err != nil {
				return fmt.Errorf("finding the nixlayer binary for the stream script: %w", err)
			}
		}
		return WriteScript(r.Out, interp, &Script{Settings: set, Layers: plan, Blobs: descs})
	}
	return format.Create(r.Out, set.Format, set.MTime, func(w format.Writer) error {
		if err := writeBase(w, from, set.Format); err != nil {
			return err
		}
		blobs, err := writeOwnLayers(ctx, w, plan, set)
		if err != nil {
			return err
		}
		return addImage(w, blobs, plan, set, from)
	})
}

// writeOwnLayers writes the planned layers into w. Into an archive they go
// straight, one after another; into an OCI layout they are written to
// files several at once and hard-linked.
func writeOwnLayers(ctx context.Context, w format.Writer, plan []Layer, set *spec.Settings) ([]*Blob, error) {
	if set.Format != format.OCILayout {
		return produceLayers(ctx, w, plan, set)
	}
	tmp, err := os.MkdirTemp(set.TempDir, "nixlayer-layers-")
	if err != nil {
		return nil, fmt.Errorf("making a temporary directory for layers: %w", err)
	}
	defer os.RemoveAll(tmp)
	blobs, err := WriteLayers(ctx, plan, WriteOptions{Options: set.LayerOptions(), OCI: set.Format.OCI()}, tmp)
	if err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if err := w.Blob(b.formatBlob()); err != nil {
			return nil, err
		}
	}
	return blobs, nil
}

// WriteOptions says how planned layers are written to files: the layer
// options and whether the blobs get OCI media types (else Docker's).
type WriteOptions struct {
	layers.Options
	OCI bool
}

// WriteLayers writes each planned layer to a file in dir, several at once
// (bounded by GOMAXPROCS), and returns them as blobs in plan order.
// A cancelled ctx stops the layers being written within a file read.
func WriteLayers(ctx context.Context, plan []Layer, opts WriteOptions, dir string) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	c := opts.Compression
	err := eachLayer(ctx, plan, func(i int) error {
		if blobs[i] = plan[i].cachedBlob(opts.OCI); blobs[i] != nil {
			return nil
		}
		path := filepath.Join(dir, fmt.Sprintf("layer-%03d", i))
		d, err := writeLayerFile(ctx, path, &plan[i], opts.Options)
		if err != nil {
			return fmt.Errorf("writing layer %d (%s): %w", i+1, short(plan[i].Comment), err)
		}
		blobs[i] = FileBlob(path, d, c, c.MediaType(opts.OCI))
		return nil
	})
	return blobs, err
}

func writeLayerFile(ctx context.Context, path string, l *Layer, opts layers.Options) (layers.Descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return layers.Descriptor{}, err
	}
	d, err := l.Write(ctx, f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return d, err
}

func short(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// Assemble makes the image from blobs on top of the base image's layers
// (from may be nil): config with the user's settings merged over the
// base's, platform and creation date, the base's history followed by one
// entry per layer of ours, and media types that match the output format.
func Assemble(blobs []*Blob, plan []Layer, set *spec.Settings, from *base.Image) (v1.Image, error) {
	img := empty.Image
	if set.Format.OCI() {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	var adds []mutate.Addendum
	var history []v1.History
	config := set.Config
	if from != nil {
		for i, l := range from.Layers() {
			mt, err := l.MediaType()
			if err != nil {
				return nil, fmt.Errorf("base image layer %d: %w", i+1, err)
			}
			adds = append(adds, mutate.Addendum{Layer: l, MediaType: set.Format.MediaType(mt)})
		}
		history = append(history, from.ConfigFile().History...)
		config = base.MergeConfig(*from.ConfigFile(), set.Config)
	}
	for i, b := range blobs {
		adds = append(adds, mutate.Addendum{Layer: b, MediaType: b.Type})
		history = append(history, v1.History{
			Created:   v1.Time{Time: set.Created},
			CreatedBy: "nixlayer",
			Comment:   plan[i].Comment,
		})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = set.Platform.Architecture
	cf.Variant = set.Platform.Variant
	cf.OS = set.Platform.OS
	cf.Created = v1.Time{Time: set.Created}
	cf.Config = config
	cf.History = history
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting image config: %w", err)
	}
	return img, nil
}
