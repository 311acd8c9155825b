package setreport

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/source"
)

// Image names one image of the set and where it is.
type Image struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Layer is one blob of an image.
type Layer struct {
	Digest string
	Size   int64
}

// Report is what Describe finds.
type Report struct {
	// Names are the images, in the order given.
	Names []string
	// Layers are each image's layer blobs, bottom first.
	Layers map[string][]Layer
}

// Describe opens every image and reads its layers' digests and sizes.
func Describe(ctx context.Context, images []Image) (*Report, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("describing an image set: no image")
	}
	r := &Report{Layers: map[string][]Layer{}}
	for _, im := range images {
		if _, dup := r.Layers[im.Name]; dup {
			return nil, fmt.Errorf("describing an image set: image name %s given twice", im.Name)
		}
		ls, err := layersOf(ctx, im.Path)
		if err != nil {
			return nil, fmt.Errorf("describing image %s of the set (%s): %w", im.Name, im.Path, err)
		}
		r.Names = append(r.Names, im.Name)
		r.Layers[im.Name] = ls
	}
	return r, nil
}

func layersOf(ctx context.Context, p string) ([]Layer, error) {
	src, err := source.Open(ctx, p, source.WithRecipe())
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if src.Image == nil {
		return nil, fmt.Errorf("it holds an index of several images, not one image")
	}
	return imageLayers(src.Image)
}

func imageLayers(img v1.Image) ([]Layer, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]Layer, 0, len(ls))
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		n, err := l.Size()
		if err != nil {
			return nil, err
		}
		out = append(out, Layer{Digest: d.String(), Size: n})
	}
	return out, nil
}

// UniqueBytes is the bytes of the set's distinct blobs: what a registry
// stores for the set.
func (r *Report) UniqueBytes() int64 { return r.NewBytes(nil) }

// NewBytes is the bytes of the set's distinct blobs that old (nil: none)
// lacks: what pushing the set uploads to a registry that holds old.
func (r *Report) NewBytes(old *Report) int64 {
	seen := map[string]bool{}
	if old != nil {
		for _, name := range old.Names {
			for _, l := range old.Layers[name] {
				seen[l.Digest] = true
			}
		}
	}
	var n int64
	for _, name := range r.Names {
		for _, l := range r.Layers[name] {
			if !seen[l.Digest] {
				seen[l.Digest] = true
				n += l.Size
			}
		}
	}
	return n
}

// TotalBytes is the sum of every image's blobs, as if none were shared.
func (r *Report) TotalBytes() int64 {
	var n int64
	for _, name := range r.Names {
		for _, l := range r.Layers[name] {
			n += l.Size
		}
	}
	return n
}

// Shared returns the layers images a and b both have.
func (r *Report) Shared(a, b string) []Layer {
	in := map[string]bool{}
	for _, l := range r.Layers[a] {
		in[l.Digest] = true
	}
	var out []Layer
	seen := map[string]bool{}
	for _, l := range r.Layers[b] {
		if in[l.Digest] && !seen[l.Digest] {
			seen[l.Digest] = true
			out = append(out, l)
		}
	}
	return out
}

// PullBytes is what a node holding image a pulls to run image b: the
// bytes of b's blobs a lacks.
func (r *Report) PullBytes(a, b string) int64 {
	have := map[string]bool{}
	for _, l := range r.Layers[a] {
		have[l.Digest] = true
	}
	var n int64
	for _, l := range r.Layers[b] {
		if !have[l.Digest] {
			have[l.Digest] = true
			n += l.Size
		}
	}
	return n
}

// Write prints the report as text.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unique blob bytes: %d (%d images; %d bytes if nothing were shared)\n", r.UniqueBytes(), len(r.Names), r.TotalBytes())
	names := append([]string(nil), r.Names...)
	sort.Strings(names)
	b.WriteString("layers per image:\n")
	for _, n := range names {
		var size int64
		for _, l := range r.Layers[n] {
			size += l.Size
		}
		fmt.Fprintf(&b, "  %s: %d layers, %d bytes\n", n, len(r.Layers[n]), size)
	}
	b.WriteString("shared layers per pair:\n")
	for i, a := range names {
		for _, c := range names[i+1:] {
			sh := r.Shared(a, c)
			var size int64
			ds := make([]string, len(sh))
			for k, l := range sh {
				size += l.Size
				ds[k] = short(l.Digest)
			}
			fmt.Fprintf(&b, "  %s & %s: %d layers, %d bytes", a, c, len(sh), size)
			if len(ds) > 0 {
				fmt.Fprintf(&b, " (%s)", strings.Join(ds, " "))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// short is a digest's first 12 hex digits, as docker prints layer IDs.
func short(d string) string {
	_, hex, _ := strings.Cut(d, ":")
	return hex[:min(12, len(hex))]
}
