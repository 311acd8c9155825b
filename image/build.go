package image

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"
	"github.com/nixlayer/nixlayer/stream"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
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
		if from, err = recipe.OpenBase(ctx, set.Base, set.TempDir); err != nil {
			return err
		}
		defer from.Close()
	}
	own, union, err := setClosure(set, r.Graph)
	if err != nil {
		return err
	}
	plan, done, err := Plan(ctx, set, own, union, from)
	if err != nil {
		return err
	}
	defer done()
	// The provenance lists what the build used: the image's closure and
	// the store paths its scripts could run, whether or not their output
	// refers to them (Plan keeps only those it does in the image).
	used, err := withoutReferences(own, set.References, set.ScriptReferences)
	if err != nil {
		return err
	}
	prov, err := provenanceMaker(ctx, set, used, from)
	if err != nil {
		return err
	}
	ann, err := annotations(set, from)
	if err != nil {
		return err
	}
	if set.Stream {
		return writeScript(ctx, r, set, plan, ann, prov)
	}
	return format.Create(r.Out, set.Format, set.MTime, func(w format.Writer) error {
		if err := recipe.WriteBase(w, from, set.Format); err != nil {
			return err
		}
		blobs, err := writeOwnLayers(ctx, w, plan, set)
		if err != nil {
			return err
		}
		ic := imageConfig(set)
		ic.Annotations, ic.Provenance = ann, prov
		return recipe.AddImage(w, blobs, plan, ic, set.Ref, from)
	})
}

// writeScript writes the stream script of the plan to r.Out, with the
// manifest's annotations ann and the provenance statement (made by prov, when not nil) for the manifest its
// recipe describes.
func writeScript(ctx context.Context, r *Request, set *spec.Settings, plan []recipe.Layer, ann map[string]string, prov func(v1.Descriptor) ([]byte, error)) error {
	descs, err := stream.Describe(ctx, plan, set.LayerOptions())
	if err != nil {
		return err
	}
	interp := r.Interpreter
	if interp == "" {
		if interp, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the nixlayer binary for the stream script: %w", err)
		}
	}
	sc := &stream.Script{Layers: plan, Blobs: descs, Settings: stream.Settings{Ref: set.Ref, Config: set.Config, Platform: set.Platform,
		Created: set.Created, MTime: set.MTime, Compression: set.Compression, Base: set.Base, Annotations: ann}}
	if prov != nil {
		if sc.Provenance, err = scriptProvenance(ctx, sc, prov); err != nil {
			return err
		}
	}
	return stream.WriteScript(r.Out, interp, sc)
}

// scriptProvenance makes the statement of the stream script sc for the
// manifest its recipe describes (what push and the stream put).
func scriptProvenance(ctx context.Context, sc *stream.Script, prov func(v1.Descriptor) ([]byte, error)) ([]byte, error) {
	img, _, closeFn, err := sc.Recipe(ctx)
	if err != nil {
		return nil, fmt.Errorf("making the provenance: %w", err)
	}
	defer closeFn()
	d, err := partial.Descriptor(img)
	if err != nil {
		return nil, fmt.Errorf("making the provenance: the manifest of the stream: %w", err)
	}
	return prov(*d)
}

// writeOwnLayers writes the planned layers into w. Into an archive they go
// straight, one after another; into an OCI layout they are written to
// files several at once and hard-linked.
func writeOwnLayers(ctx context.Context, w format.Writer, plan []recipe.Layer, set *spec.Settings) ([]*recipe.Blob, error) {
	if set.Format != format.OCILayout {
		return recipe.ProduceLayers(ctx, w, plan, set.Format, set.LayerOptions())
	}
	tmp, err := os.MkdirTemp(set.TempDir, "nixlayer-layers-")
	if err != nil {
		return nil, fmt.Errorf("making a temporary directory for layers: %w", err)
	}
	defer os.RemoveAll(tmp)
	blobs, err := recipe.WriteLayers(ctx, plan, recipe.WriteOptions{Options: set.LayerOptions(), OCI: set.Format.OCI()}, tmp)
	if err != nil {
		return nil, err
	}
	for _, b := range blobs {
		if err := w.Blob(b.FormatBlob()); err != nil {
			return nil, err
		}
	}
	return blobs, nil
}

// imageConfig returns what the image's config and manifest are made of.
func imageConfig(set *spec.Settings) recipe.ImageConfig {
	return recipe.ImageConfig{Format: set.Format, Config: set.Config, Platform: set.Platform, Created: set.Created}
}
