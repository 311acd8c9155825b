package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

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
}

// Layer is a planned layer: its entries and what it holds, for history.
type Layer struct {
	Entries    []layers.Entry
	StorePaths []string
	Comment    string
}

// settings is a spec checked and resolved.
type settings struct {
	ref         name.Tag
	config      v1.Config
	platform    Platform
	created     time.Time
	mtime       time.Time
	format      Format
	compression layers.Compression
}

func (r *Request) resolve() (*settings, error) {
	s := r.Spec
	ref, err := s.Reference(r.DefaultTag)
	if err != nil {
		return nil, err
	}
	cfg, err := s.ImageConfig()
	if err != nil {
		return nil, err
	}
	platform, err := ResolvePlatform(s.Architecture, s.System)
	if err != nil {
		return nil, err
	}
	created, err := s.CreatedTime(time.Now)
	if err != nil {
		return nil, err
	}
	mtime, err := s.LayerTime(r.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	format, err := ParseFormat(s.Format)
	if err != nil {
		return nil, err
	}
	comp, err := layers.ParseCompression(s.Compression)
	if err != nil {
		return nil, err
	}
	if s.Uid < 0 || s.Gid < 0 {
		return nil, fmt.Errorf("uid %d / gid %d must not be negative", s.Uid, s.Gid)
	}
	return &settings{ref: ref, config: cfg, platform: platform, created: created, mtime: mtime, format: format, compression: comp}, nil
}

// Build checks the request, plans and writes every layer, and writes the
// image to r.Out. On error nothing is left at r.Out.
func Build(ctx context.Context, r *Request) error {
	set, err := r.resolve()
	if err != nil {
		return err
	}
	plan, err := r.plan()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(r.TempDir, "nixlayer-layers-")
	if err != nil {
		return fmt.Errorf("making a temporary directory for layers: %w", err)
	}
	defer os.RemoveAll(tmp)
	blobs, err := WriteLayers(ctx, plan, set.mtime, set.compression, set.format.OCI(), tmp)
	if err != nil {
		return err
	}
	img, err := Assemble(blobs, plan, set)
	if err != nil {
		return err
	}
	return set.format.Write(r.Out, set.ref, img, set.mtime)
}

// plan decides the layers: for now the whole closure and the contents in
// one layer, as dockerTools.buildImage makes.
func (r *Request) plan() ([]Layer, error) {
	s := r.Spec
	for _, c := range s.Contents {
		if _, ok := r.Graph.Lookup(c); !ok {
			return nil, fmt.Errorf("contents %s is not in the closure graph", c)
		}
	}
	var paths []string
	for _, p := range r.Graph.Paths() {
		paths = append(paths, p.Path)
	}
	var groups [][]layers.Entry
	for _, p := range paths {
		es, err := layers.StorePath(p)
		if err != nil {
			return nil, err
		}
		groups = append(groups, es)
	}
	root, err := layers.Contents(s.Contents, layers.Copy)
	if err != nil {
		return nil, err
	}
	groups = append(groups, root)
	entries := layers.Merge(append([][]layers.Entry{{layers.Dir("nix", 0o755), layers.Dir("nix/store", 0o755)}}, groups...)...)
	setOwner(entries, s.Uid, s.Gid)
	return []Layer{{Entries: entries, StorePaths: paths, Comment: comment(paths, len(root) > 0)}}, nil
}

// setOwner gives every entry the uid and gid of the spec, as dockerTools'
// tar --owner/--group do.
func setOwner(entries []layers.Entry, uid, gid int) {
	if uid == 0 && gid == 0 {
		return
	}
	for i := range entries {
		entries[i].Uid, entries[i].Gid = uid, gid
		if uid != 0 {
			entries[i].Uname = ""
		}
		if gid != 0 {
			entries[i].Gname = ""
		}
	}
}

func comment(paths []string, contents bool) string {
	var b strings.Builder
	if len(paths) > 0 {
		b.WriteString("store paths: ")
		b.WriteString(strings.Join(paths, " "))
	}
	if contents {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("contents at the image root")
	}
	return b.String()
}

// WriteLayers writes each planned layer to a file in dir, several at once
// (bounded by GOMAXPROCS), and returns them as blobs in plan order.
func WriteLayers(ctx context.Context, plan []Layer, mtime time.Time, c layers.Compression, oci bool, dir string) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	errs := make([]error, len(plan))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range plan {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			path := filepath.Join(dir, fmt.Sprintf("layer-%03d", i))
			d, err := writeLayerFile(path, plan[i].Entries, mtime, c)
			if err != nil {
				errs[i] = fmt.Errorf("writing layer %d (%s): %w", i+1, short(plan[i].Comment), err)
				return
			}
			blobs[i] = FileBlob(path, d, c, c.MediaType(oci))
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return blobs, nil
}

func writeLayerFile(path string, entries []layers.Entry, mtime time.Time, c layers.Compression) (layers.Descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return layers.Descriptor{}, err
	}
	d, err := layers.Write(f, entries, mtime, c)
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

// Assemble makes the image from written blobs: config with the user's
// settings, platform and creation date, one history entry per layer, and
// media types that match the output format.
func Assemble(blobs []*Blob, plan []Layer, set *settings) (v1.Image, error) {
	base := empty.Image
	if set.format.OCI() {
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = set.platform.Architecture
	cf.Variant = set.platform.Variant
	cf.OS = set.platform.OS
	cf.Created = v1.Time{Time: set.created}
	cf.Config = set.config
	img, err := mutate.ConfigFile(base, cf)
	if err != nil {
		return nil, fmt.Errorf("setting image config: %w", err)
	}
	adds := make([]mutate.Addendum, len(blobs))
	for i, b := range blobs {
		adds[i] = mutate.Addendum{
			Layer:     b,
			MediaType: b.Type,
			History: v1.History{
				Created:   v1.Time{Time: set.created},
				CreatedBy: "nixlayer",
				Comment:   plan[i].Comment,
			},
		}
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	return img, nil
}
