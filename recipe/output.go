package recipe

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layers"
)

// The image is written through package format, which holds the output
// formats: this file only turns a plan, its layers and a base image into
// the blobs and the image a format.Writer takes.

// WriteBase gives w the base image's layers (from may be nil), in the media
// types of format f.
func WriteBase(w format.Writer, from *base.Image, f format.Format) error {
	if from == nil {
		return nil
	}
	for i, l := range from.Layers() {
		d, err := layerDescriptor(l, f)
		if err != nil {
			return fmt.Errorf("base image layer %d: %w", i+1, err)
		}
		if err := w.Blob(format.Blob{Desc: d, Open: l.Compressed}); err != nil {
			return fmt.Errorf("copying base image layer %d: %w", i+1, err)
		}
	}
	return nil
}

// layerDescriptor is l's descriptor (partial.Descriptor) in the media
// types of format f.
func layerDescriptor(l v1.Layer, f format.Format) (v1.Descriptor, error) {
	d, err := partial.Descriptor(l)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d.MediaType = f.MediaType(d.MediaType)
	return *d, nil
}

// ProduceLayers writes each planned layer straight into w, one after
// another (each layer compresses on every core), in the media types of
// format f, and returns them as blobs.
func ProduceLayers(ctx context.Context, w format.Writer, plan []Layer, f format.Format, opts layers.Options) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	mt := opts.Compression.MediaType(f.OCI())
	for i := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if blobs[i] = plan[i].CachedBlob(f.OCI()); blobs[i] != nil {
			if err := w.Blob(blobs[i].FormatBlob()); err != nil {
				return nil, fmt.Errorf("copying layer %d (%s): %w", i+1, plan[i].Title(), err)
			}
			continue
		}
		d, err := w.Produce(mt, func(dst io.Writer) (layers.Descriptor, error) {
			return plan[i].Write(ctx, dst, opts)
		})
		if err != nil {
			return nil, fmt.Errorf("writing layer %d (%s): %w", i+1, plan[i].Title(), err)
		}
		blobs[i] = &Blob{Desc: d, Compression: opts.Compression, Type: mt}
	}
	return blobs, nil
}

// AddImage gives w the image: config and manifest made by Assemble from
// the blobs (already written) over the base's layers, tagged ref.
func AddImage(w format.Writer, blobs []*Blob, plan []Layer, ic ImageConfig, ref name.Tag, from *base.Image) error {
	img, err := Assemble(blobs, plan, ic, from)
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("making image config: %w", err)
	}
	man, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("making image manifest: %w", err)
	}
	return w.Image(format.Image{Config: cfg, Manifest: man, Name: strings.TrimSuffix(ref.String(), ":"+ref.TagStr()), Tag: ref.TagStr(),
		Provenance: ic.Provenance})
}

// FormatBlob is b as package format takes it.
func (b *Blob) FormatBlob() format.Blob {
	return format.Blob{
		Desc: v1.Descriptor{MediaType: b.Type, Digest: b.Desc.Digest, Size: b.Desc.Size},
		Open: b.Open,
		Path: b.Path,
	}
}

// ImageConfig is what an image's config and manifest are made of besides
// its layers: the user's config (merged over a base's), the platform, the
// creation date, and the output format, whose media types they take.
type ImageConfig struct {
	Format   format.Format
	Config   v1.Config
	Platform v1.Platform
	Created  time.Time
	// Annotations, when not nil, are the manifest's annotations, and the
	// layers that hold store paths only get nix-snapshotter's
	// (NixLayerAnnotations).
	Annotations map[string]string
	// Provenance, when set, makes the provenance statement AddImage has
	// the format store beside the image (format.Image.Provenance).
	Provenance func(manifest v1.Descriptor) ([]byte, error)
}

// Assemble makes the image from blobs on top of the base image's layers
// (from may be nil): config with the user's settings merged over the
// base's, platform and creation date, the base's history followed by one
// entry per layer of ours, and media types that match the output format.
func Assemble(blobs []*Blob, plan []Layer, set ImageConfig, from *base.Image) (v1.Image, error) {
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
		add := mutate.Addendum{Layer: b, MediaType: b.Type}
		if set.Annotations != nil {
			add.Annotations = NixLayerAnnotations(&plan[i])
		}
		adds = append(adds, add)
		history = append(history, v1.History{
			Created:   v1.Time{Time: set.Created},
			CreatedBy: cmp.Or(plan[i].CreatedBy, "nixlayer"),
			Author:    plan[i].Author,
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
	if set.Annotations != nil {
		img = mutate.Annotations(img, set.Annotations).(v1.Image)
	}
	return freeze(img, adds)
}

// OpenBase opens the base image b with its safety limits; the reading of the
// base (its index, its files) stops when ctx is done.
func OpenBase(ctx context.Context, b *spec.BaseRef, tempDir string) (*base.Image, error) {
	// The files the build reads from the base: its users and groups, and its
	// Nix database (read again from their layers when asked for).
	opts := []base.Option{base.WithContext(ctx), base.WithKeep(append([]string{"etc/passwd", "etc/group"}, BaseDBFiles...)...)}
	if b.Name != "" {
		opts = append(opts, base.WithName(b.Name))
	}
	if b.Tag != "" {
		opts = append(opts, base.WithTag(b.Tag))
	}
	if tempDir != "" {
		opts = append(opts, base.WithTempDir(tempDir))
	}
	img, err := base.Open(b.Path, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening base image (fromImage) %s: %w", b.Path, err)
	}
	return img, nil
}

// BaseDBFiles are the files of a Nix database that nixdb.ReadDB reads:
// OpenBase keeps them so that a build can read the base's database.
var BaseDBFiles = []string{"nix/var/nix/db/db.sqlite", "nix/var/nix/db/db.sqlite-wal", "nix/var/nix/db/schema"}
