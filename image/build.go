package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
	Spec  *Spec
	Graph *registration.Graph
	// Out is the path of the result; it is written under a temporary name
	// and renamed when complete.
	Out string
	// DefaultTag is the tag used when the spec has none (the output hash
	// when run by Nix, as dockerTools does).
	DefaultTag string
	// SourceDateEpoch is $SOURCE_DATE_EPOCH, or empty.
	SourceDateEpoch string
	// TempDir holds the layer blobs while the output is assembled.
	TempDir string
	// Interpreter is the nixlayer binary a stream script runs with.
	Interpreter string

	// base is the opened base image (fromImage), or nil.
	base *base.Image
}

// resolve checks the spec and returns the image reference and settings.
func (r *Request) resolve() (name.Tag, *Resolved, error) {
	s := r.Spec
	ref, err := s.Reference(r.DefaultTag)
	if err != nil {
		return ref, nil, err
	}
	var set Resolved
	if set.Config, err = s.ImageConfig(); err != nil {
		return ref, nil, err
	}
	if set.Platform, err = ResolvePlatform(s.Architecture, s.System); err != nil {
		return ref, nil, err
	}
	if set.Created, err = s.CreatedTime(time.Now); err != nil {
		return ref, nil, err
	}
	if set.MTime, err = s.LayerTime(r.SourceDateEpoch); err != nil {
		return ref, nil, err
	}
	if set.Format, err = format.Parse(s.Format); err != nil {
		return ref, nil, err
	}
	if set.Compression, err = layers.ParseCompression(s.Compression); err != nil {
		return ref, nil, err
	}
	if s.Stream && set.Format != format.DockerArchive {
		return ref, nil, fmt.Errorf("a streamed image is a docker-archive; format %q cannot be streamed", s.Format)
	}
	if s.Uid < 0 || s.Gid < 0 {
		return ref, nil, fmt.Errorf("uid %d / gid %d must not be negative", s.Uid, s.Gid)
	}
	if s.FromImage != "" {
		set.Base = &BaseRef{Path: s.FromImage, Name: s.FromImageName, Tag: s.FromImageTag}
	} else if s.FromImageName != "" || s.FromImageTag != "" {
		return ref, nil, fmt.Errorf("fromImageName/fromImageTag given without fromImage")
	}
	return ref, &set, nil
}

// Build checks the request, plans and writes every layer, and writes the
// image (or, for a streamed image, the stream script) to r.Out. On error
// nothing is left at r.Out.
func Build(ctx context.Context, r *Request) error {
	ref, set, err := r.resolve()
	if err != nil {
		return err
	}
	if set.Base != nil {
		if r.base, err = set.Base.open(r.TempDir); err != nil {
			return err
		}
		defer r.base.Close()
	}
	plan, err := r.plan(ctx, set)
	if err != nil {
		return err
	}
	if r.Spec.Stream {
		descs, err := Describe(ctx, plan, set.MTime, set.Compression)
		if err != nil {
			return err
		}
		interp := r.Interpreter
		if interp == "" {
			if interp, err = os.Executable(); err != nil {
				return fmt.Errorf("finding the nixlayer binary for the stream script: %w", err)
			}
		}
		return WriteScript(r.Out, interp, &Script{Ref: ref.String(), Settings: *set, Layers: plan, Blobs: descs})
	}
	return format.Create(r.Out, set.Format, set.MTime, func(w format.Writer) error {
		if err := writeBase(w, r.base, set.Format); err != nil {
			return err
		}
		blobs, err := r.layers(ctx, w, plan, set)
		if err != nil {
			return err
		}
		return addImage(w, ref, blobs, plan, set, r.base)
	})
}

// layers writes the planned layers into w. Into an archive they go
// straight, one after another; into an OCI layout they are written to
// files several at once and hard-linked.
func (r *Request) layers(ctx context.Context, w format.Writer, plan []Layer, set *Resolved) ([]*Blob, error) {
	if set.Format != format.OCILayout {
		return produceLayers(ctx, w, plan, set)
	}
	tmp, err := os.MkdirTemp(r.TempDir, "nixlayer-layers-")
	if err != nil {
		return nil, fmt.Errorf("making a temporary directory for layers: %w", err)
	}
	defer os.RemoveAll(tmp)
	blobs, err := WriteLayers(ctx, plan, set.MTime, set.Compression, true, tmp)
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

// WriteLayers writes each planned layer to a file in dir, several at once
// (bounded by GOMAXPROCS), and returns them as blobs in plan order.
func WriteLayers(ctx context.Context, plan []Layer, mtime time.Time, c layers.Compression, oci bool, dir string) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	err := eachLayer(ctx, plan, func(i int) error {
		path := filepath.Join(dir, fmt.Sprintf("layer-%03d", i))
		d, err := writeLayerFile(path, &plan[i], mtime, c)
		if err != nil {
			return fmt.Errorf("writing layer %d (%s): %w", i+1, short(plan[i].Comment), err)
		}
		blobs[i] = FileBlob(path, d, c, c.MediaType(oci))
		return nil
	})
	return blobs, err
}

func writeLayerFile(path string, l *Layer, mtime time.Time, c layers.Compression) (layers.Descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return layers.Descriptor{}, err
	}
	d, err := l.Write(f, mtime, c)
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
func Assemble(blobs []*Blob, plan []Layer, set *Resolved, from *base.Image) (v1.Image, error) {
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
			adds = append(adds, mutate.Addendum{Layer: l, MediaType: convertMediaType(mt, set.Format.OCI())})
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
