package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/atomicfile"
	"github.com/nixlayer/nixlayer/internal/bufpipe"
	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/internal/verify"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// A stream script is what streamLayeredImage leaves in the store: a file
// that starts with "#!<nixlayer> stream" and holds, as JSON, the recipe of
// every layer with its digests. Running it makes the kernel run
// `nixlayer stream <script>`, which writes the docker-archive to stdout,
// producing each layer from the store as it goes: each byte is read once
// and the image costs kilobytes in the store.

// streamMagic follows the interpreter on the script's first line.
const streamMagic = "stream"

// Script is a stream script in memory: what the image depends on besides
// its layers (Settings), the planned layers and their descriptors, Blobs[i]
// for Layers[i]. On disk it is a wire.Script (see wire.go).
type Script struct {
	Settings Settings
	Layers   []recipe.Layer
	Blobs    []layers.Descriptor
	// Provenance is the image's provenance statement (package
	// provenance), or nil.
	Provenance []byte
}

// Settings are what a stream script's image is made of besides its layers
// (all of them set):
// its reference, config, platform, dates, compression (of every layer the
// script makes) and base image. A stream is a docker-archive.
type Settings struct {
	Ref            name.Tag
	Config         v1.Config
	Platform       v1.Platform
	Created, MTime time.Time
	Compression    layers.Compression
	Base           *spec.BaseRef
	// Annotations, when not nil, are the manifest's annotations
	// (recipe.ImageConfig.Annotations).
	Annotations map[string]string
}

// layerOptions returns how the script's layers are written.
func (im *Settings) layerOptions() layers.Options {
	return layers.Options{MTime: im.MTime, Compression: im.Compression}
}

// imageConfig returns what the image's config and manifest are made of.
func (im *Settings) imageConfig() recipe.ImageConfig {
	return recipe.ImageConfig{Format: format.DockerArchive, Config: im.Config, Platform: im.Platform, Created: im.Created, Annotations: im.Annotations}
}

// Describe computes each planned layer's descriptor without keeping its
// bytes, several layers at once.
// A cancelled ctx stops it within a file read.
func Describe(ctx context.Context, plan []recipe.Layer, opts layers.Options) ([]layers.Descriptor, error) {
	descs := make([]layers.Descriptor, len(plan))
	err := recipe.EachLayer(ctx, plan, func(i int) error {
		if c := plan[i].Cached; c != nil {
			descs[i] = c.Desc
			return nil
		}
		d, err := plan[i].Write(ctx, io.Discard, opts)
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, plan[i].Title(), err)
		}
		descs[i] = d
		return nil
	})
	return descs, err
}

// WriteScript writes a stream script to out (atomically, executable),
// whose interpreter is the nixlayer binary at interpreter.
func WriteScript(out, interpreter string, s *Script) error {
	if len(s.Layers) != len(s.Blobs) {
		return fmt.Errorf("writing stream script %s: %d layers, %d descriptors", out, len(s.Layers), len(s.Blobs))
	}
	w, err := s.toWire()
	if err != nil {
		return err
	}
	body, err := wire.EncodeScript(w)
	if err != nil {
		return err
	}
	head := fmt.Sprintf("#!%s %s\n", interpreter, streamMagic)
	if n := len(head) + len(body) + 1; n > MaxScriptBytes {
		return fmt.Errorf("writing stream script %s: it would be %d bytes, more than the %d a stream script may have (it is read whole); put large generated files in a store path", out, n, MaxScriptBytes)
	}
	return atomicfile.FileMode(out, 0o555, func(f *os.File) error {
		// Written as it is: a body of megabytes (a root script's files)
		// is not copied again.
		for _, b := range [][]byte{[]byte(head), body, []byte("\n")} {
			if _, err := f.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// MaxScriptBytes bounds a stream script read into memory: its recipe
// (descriptors, store paths, small generated files) is kilobytes to a few
// megabytes; a file larger than this is not one.
const MaxScriptBytes = 64 << 20

// ReadScript reads a stream script: a regular file of at most
// MaxScriptBytes.
func ReadScript(path string) (*Script, error) {
	data, err := regularfile.ReadAll(path, MaxScriptBytes, false)
	if err != nil {
		return nil, fmt.Errorf("reading stream script %s: %w", path, err)
	}
	first, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok || !bytes.HasPrefix(first, []byte("#!")) || !bytes.HasSuffix(first, []byte(" "+streamMagic)) {
		return nil, fmt.Errorf("%s is not a nixlayer stream script (its first line should be \"#!<nixlayer> %s\")", path, streamMagic)
	}
	what := "stream script " + path
	w, err := wire.DecodeScript(body, what)
	if err != nil {
		return nil, err
	}
	return scriptFromWire(w, what)
}

// Stream writes the image of a stream script to w as a docker-archive.
// Every store path is checked first, so a garbage-collected path is an
// error before anything is written; each layer is produced from the store
// as it is written, and its digest checked at its end.
// A cancelled ctx stops it within a file read.
func (s *Script) Stream(ctx context.Context, w io.Writer) error {
	blobs, from, err := s.open(ctx)
	if err != nil {
		return err
	}
	if from != nil {
		defer from.Close()
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	err = format.Stream(bw, format.DockerArchive, s.Settings.MTime, func(fw format.Writer) error {
		return s.fill(fw, blobs, from)
	})
	if err != nil {
		if errors.Is(err, verify.ErrMismatch) {
			return fmt.Errorf("streaming image: %w: a store path was modified since the image was built; rebuild the image", err)
		}
		return fmt.Errorf("streaming image: %w", err)
	}
	return bw.Flush()
}

// Write gives fw the script's image, produced from the store as Stream
// does, as one image of an archive that may hold others (mergeImages).
func (s *Script) Write(ctx context.Context, fw format.Writer) error {
	blobs, from, err := s.open(ctx)
	if err != nil {
		return err
	}
	if from != nil {
		defer from.Close()
	}
	return s.fill(fw, blobs, from)
}

// fill gives fw the script's image: the base's layers, ours (blobs, from
// open) and the image.
func (s *Script) fill(fw format.Writer, blobs []*recipe.Blob, from *base.Image) error {
	if err := recipe.WriteBase(fw, from, format.DockerArchive); err != nil {
		return err
	}
	for _, b := range blobs {
		if err := fw.Blob(b.FormatBlob()); err != nil {
			return err
		}
	}
	ic := s.Settings.imageConfig()
	ic.Provenance = s.provenanceFor
	return recipe.AddImage(fw, blobs, s.Layers, ic, s.Settings.Ref, from)
}

// provenanceFor returns the script's provenance statement for the
// archive it writes when the statement's subject is manifest m (the
// manifest the build recorded), else nil: the archive then carries none.
func (s *Script) provenanceFor(m v1.Descriptor) ([]byte, error) {
	if s.Provenance == nil {
		return nil, nil
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(s.Provenance, &st); err != nil || len(st.Subject) != 1 || st.Subject[0].Digest[m.Digest.Algorithm] != m.Digest.Hex {
		return nil, nil
	}
	return s.Provenance, nil
}

// open checks the script's store paths and returns its layers as blobs
// produced on demand, and its base image (or nil; the caller closes it).
func (s *Script) open(ctx context.Context) ([]*recipe.Blob, *base.Image, error) {
	for _, l := range s.Layers {
		for _, p := range slices.Concat(l.StorePaths, l.CachedFile()) {
			if _, err := os.Lstat(p); err != nil {
				return nil, nil, fmt.Errorf("store path %s, which the image needs, is gone (garbage-collected?): rebuild the image", p)
			}
		}
	}
	im := &s.Settings
	blobs := make([]*recipe.Blob, len(s.Layers))
	for i := range s.Layers {
		l, d := &s.Layers[i], s.Blobs[i]
		if blobs[i] = l.CachedBlob(false); blobs[i] != nil {
			continue
		}
		c := im.Compression
		blobs[i] = &recipe.Blob{Desc: d, Compression: c, Type: c.MediaType(false), Open: func() (io.ReadCloser, error) {
			return produce(ctx, l, d, im.layerOptions())
		}}
	}
	var from *base.Image
	if im.Base != nil {
		var err error
		if from, err = recipe.OpenBase(ctx, im.Base, ""); err != nil {
			return nil, nil, err
		}
	}
	return blobs, from, nil
}

// Image returns the image of a stream script without writing it anywhere:
// each layer is produced from the store when it is read, and checked
// against its digest at its end (push reads a script this way). Close
// releases the base image.
func (s *Script) Image(ctx context.Context) (img v1.Image, ref name.Tag, close func(), err error) {
	blobs, from, err := s.open(ctx)
	if err != nil {
		return nil, s.Settings.Ref, nil, err
	}
	close = func() {
		if from != nil {
			from.Close()
		}
	}
	if img, err = recipe.Assemble(blobs, s.Layers, s.Settings.imageConfig(), from); err != nil {
		close()
		return nil, s.Settings.Ref, nil, err
	}
	return img, s.Settings.Ref, close, nil
}

// IsScriptHead reports whether a file that starts with head (its first
// 4 KiB or less) is a stream script: its first line is
// "#!<interpreter> stream".
func IsScriptHead(head []byte) bool {
	first, _, ok := bytes.Cut(head, []byte("\n"))
	return ok && bytes.HasPrefix(first, []byte("#!")) && bytes.HasSuffix(first, []byte(" "+streamMagic))
}

// produce returns a reader of layer l, written on the fly by a goroutine
// while the reader hashes what came before, that fails at its end (or as
// soon as it is too long) unless the bytes match d.
func produce(ctx context.Context, l *recipe.Layer, d layers.Descriptor, opts layers.Options) (io.ReadCloser, error) {
	pr, pw := bufpipe.New(4, 1<<20)
	v, err := verify.NewReader(pr, d.Digest, d.Size, "layer "+d.Digest.String())
	if err != nil {
		return nil, err
	}
	go func() {
		_, err := layers.WriteBlob(ctx, pw, l.Each, opts)
		pw.CloseWithError(err)
	}()
	return struct {
		io.Reader
		io.Closer
	}{v, pr}, nil
}

// StreamScript reads the stream script at path and writes its image to the
// file out (atomically) or, when out is empty, to w. A repoTag not empty
// ("name:tag") replaces the image's reference, as the -t/--repo_tag of
// dockerTools' stream scripts does.
func StreamScript(ctx context.Context, path, out, repoTag string, w io.Writer) error {
	s, err := ReadScript(path)
	if err != nil {
		return err
	}
	if repoTag != "" {
		ref, err := name.NewTag(repoTag, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("--repo_tag %q is not an image reference (NAME:TAG): %w", repoTag, err)
		}
		s.Settings.Ref = ref
	}
	if out == "" {
		return s.Stream(ctx, w)
	}
	return atomicfile.File(out, func(f *os.File) error { return s.Stream(ctx, f) })
}
