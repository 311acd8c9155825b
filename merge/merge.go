package merge

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/stream"
)

// Merging (dockerTools' mergeImages) puts several images into one
// docker-archive: every image of every input, in input order, each blob
// stored once however many images share it. An input is a docker-archive
// (any compression), an OCI layout or oci-archive (converted: the blobs are
// copied as they are, the manifest becomes a manifest.json entry), or a
// stream script, whose layers are produced from the store as they are
// written. The archive is deterministic: its bytes depend only on the
// inputs, their order and the mtime.

// LikeLast is the Options.Compression that compresses the merged
// archive as its last input file is compressed (gzip or zstd; a stream
// script or OCI layout directory counts as uncompressed), as dockerTools'
// mergeImages does.
const LikeLast = "last"

// Input is one image file Merge reads.
type Input struct {
	Path string
	// Name and Tag name the input's image when the file does not (an OCI
	// layout written by nixlayer names its tag only): the image
	// derivation's imageName and imageTag. An image the file names keeps
	// its names.
	Name, Tag string
}

// Options says how Merge writes its archive.
type Options struct {
	// Compression of the whole archive file: "gzip", "zstd", "none" or
	// LikeLast (also when empty).
	Compression string
	// MTime stamps the archive's entries.
	MTime time.Time
	// TempDir holds the decompressed copies of compressed inputs.
	TempDir string
}

// Images writes to out (atomically) one docker-archive holding every image
// of every input, in order. An image given twice under the same name is
// written once.
func Images(ctx context.Context, out string, inputs []Input, opts Options) error {
	if len(inputs) == 0 {
		return fmt.Errorf("merging images into %s: no image given", out)
	}
	c, err := mergeCompression(opts.Compression, inputs[len(inputs)-1].Path)
	if err != nil {
		return err
	}
	fill := func(fw format.Writer) error {
		m := &merger{ctx: ctx, w: fw, tempDir: opts.TempDir, seen: map[string]bool{}}
		for _, in := range inputs {
			if err := m.add(in); err != nil {
				return fmt.Errorf("merging image %s: %w", in.Path, err)
			}
		}
		return nil
	}
	if c == compression.None {
		return format.Create(out, format.DockerArchive, opts.MTime, fill)
	}
	return atomicfile.File(out, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		cw, err := c.NewWriter(bw)
		if err != nil {
			return err
		}
		err = format.Stream(cw, format.DockerArchive, opts.MTime, fill)
		if cerr := cw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return bw.Flush()
	})
}

// mergeCompression resolves the compression of a merged archive; last is
// the last input.
func mergeCompression(s, last string) (compression.Compression, error) {
	if s != "" && s != LikeLast {
		c, err := compression.Parse(s)
		if err != nil {
			return "", fmt.Errorf("merging images: %w (or %q: as the last image)", err, LikeLast)
		}
		return c, nil
	}
	f, err := os.Open(last)
	if err != nil {
		return "", fmt.Errorf("merging images: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return compression.None, nil // a layout directory
	}
	magic := make([]byte, compression.MagicLen)
	n, _ := io.ReadFull(f, magic)
	switch compression.Sniff(magic[:n]) {
	case compression.Gzip:
		return compression.Gzip, nil
	case compression.Zstd:
		return compression.Zstd, nil
	}
	return compression.None, nil
}

// merger writes the images of the inputs into one archive.
type merger struct {
	ctx     context.Context
	w       format.Writer
	tempDir string
	seen    map[string]bool // config digest and reference of each image written
}

func (m *merger) add(in Input) error {
	kind, err := source.Sniff(in.Path)
	if err != nil {
		return err
	}
	if kind == base.StreamScript {
		s, err := stream.ReadScript(in.Path)
		if err != nil {
			return err
		}
		return s.Write(m.ctx, m.w)
	}
	// The archive is opened (and decompressed, and indexed) once; each of
	// its images is selected from it.
	archive, err := base.Open(in.Path, base.WithContext(m.ctx), base.WithTempDir(m.tempDir))
	if err != nil {
		return err
	}
	defer archive.Close()
	n := archive.Count()
	for i := 0; i < n; i++ {
		img, err := archive.Select(i)
		if err == nil {
			err = m.addArchived(img, in)
		}
		if err != nil {
			return fmt.Errorf("image %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

// addArchived copies the blobs of an image read by image/base and adds it
// under each of its names (or untagged when it has none).
func (m *merger) addArchived(img *base.Image, in Input) error {
	if err := recipe.WriteBase(m.w, img, format.DockerArchive); err != nil {
		return err
	}
	cfg := img.RawConfigFile()
	man, err := img.V1().RawManifest()
	if err != nil {
		return fmt.Errorf("reading the manifest: %w", err)
	}
	digest, err := img.V1().ConfigName()
	if err != nil {
		return err
	}
	names := imageNames(img, in)
	if len(names) == 0 {
		names = [][2]string{{"", ""}}
	}
	for _, nt := range names {
		key := digest.String() + " " + nt[0] + ":" + nt[1]
		if m.seen[key] {
			continue
		}
		m.seen[key] = true
		if err := m.w.Image(format.Image{Config: cfg, Manifest: man, Name: nt[0], Tag: nt[1]}); err != nil {
			return err
		}
	}
	return nil
}

// imageNames returns the names and tags of an archived image: those the
// archive gives, with the input's Name where the archive names a tag only,
// or the input's Name and Tag when the archive names nothing and holds
// this one image.
func imageNames(img *base.Image, in Input) [][2]string {
	var out [][2]string
	for _, r := range img.Refs() {
		name, tag := r, ""
		if i := strings.LastIndexByte(r, ':'); i > strings.LastIndexByte(r, '/') {
			name, tag = r[:i], r[i+1:]
		}
		if name == "" {
			name = in.Name
		}
		if name != "" {
			out = append(out, [2]string{name, tag})
		}
	}
	if len(out) == 0 && in.Name != "" && img.Count() == 1 {
		out = append(out, [2]string{in.Name, in.Tag})
	}
	return out
}
