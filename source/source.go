package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/stream"
)

// Detect tells what the file or directory at p holds: an OCI layout, a
// nixlayer stream script, another executable, or the format of an archive
// as package base reads it (docker-archive or oci-archive, compressed or
// not, which it opens to tell).
func Detect(p string) (base.Format, error) {
	kind, err := Sniff(p)
	if err != nil || kind != "" {
		return kind, err
	}
	img, err := base.Open(p)
	if err != nil {
		return "", fmt.Errorf("reading image source %q: not a docker-archive, OCI archive or layout, or executable stream: %w", p, err)
	}
	defer img.Close()
	if img.Format() == base.DockerArchiveLegacy {
		return base.DockerArchive, nil
	}
	return img.Format(), nil
}

// Sniff tells what the file or directory at p holds from its first bytes,
// without reading it further: an OCI layout (a directory with an
// oci-layout file), a nixlayer stream script, another executable (a "#!"
// script or an ELF binary with an execute bit), or an archive, whose
// format only base.Open tells: Sniff returns "" for it. It is the one
// place that dispatches on what a file is.
func Sniff(p string) (base.Format, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("reading image source: %w", err)
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err != nil {
			return "", fmt.Errorf("reading image source %q: a directory without an oci-layout file is not an OCI image layout", p)
		}
		return base.OCILayout, nil
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("reading image source %q: not a regular file or directory (%s)", p, fi.Mode().Type())
	}
	f, err := regularfile.Open(p, false)
	if err != nil {
		return "", fmt.Errorf("reading image source: %w", err)
	}
	defer f.Close()
	first, _ := bufio.NewReaderSize(f, 4096).Peek(4096)
	switch {
	case stream.IsScriptHead(first):
		return base.StreamScript, nil
	case fi.Mode()&0o111 != 0 && (bytes.HasPrefix(first, []byte("#!")) || bytes.HasPrefix(first, []byte("\x7fELF"))):
		return base.Executable, nil
	}
	return "", nil
}

// Source is an opened image source: one image, or an index of several.
// Close releases what it holds (base's temporary files, a spooled stream).
type Source struct {
	// Format is what the path holds.
	Format base.Format
	// Image is the image, or nil when Index is set.
	Image v1.Image
	// Index is an OCI layout's index.json when it lists several images,
	// or the multi-platform index of a layout or archive (buildImageIndex).
	Index v1.ImageIndex
	// Ref is the name:tag the source gives the image, or "".
	Ref string
	// Archive is the image as package base read it (its files, names and
	// position), or, for a stream script, its base image (may be nil).
	Archive *base.Image
	// Script is the stream script, when Format is base.StreamScript.
	Script *stream.Script

	closers []func()
}

// Close releases the source.
func (s *Source) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Option changes how Open reads a source.
type Option func(*options)

type options struct {
	tempDir string
	base    []base.Option
	recipe  bool
}

// WithTempDir puts what Open spools or extracts in dir.
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// WithBase passes options to package base's reader (which image of an
// archive, limits); a stream script ignores them.
func WithBase(opts ...base.Option) Option {
	return func(o *options) { o.base = append(o.base, opts...) }
}

// WithRecipe opens a stream script as its recipe says (stream.Recipe):
// its layers are described, never produced, and no store path is read.
func WithRecipe() Option { return func(o *options) { o.recipe = true } }

// Open opens the image at p: a docker-archive, an OCI layout or archive
// (also compressed) through package base, which streams blobs out within
// its limits and extracts nothing; a nixlayer stream script in process
// (its layers produced from the store when read, or described only with
// WithRecipe); another executable by its absolute path, its docker-archive
// spooled to a temporary file within base's size limit. An OCI layout
// whose index.json lists several images, and a layout or archive whose
// entry is a multi-platform index, open as an Index. ctx stops the reading.
func Open(ctx context.Context, p string, opts ...Option) (_ *Source, err error) {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	kind, err := Sniff(p)
	if err != nil {
		return nil, err
	}
	s := &Source{Format: kind}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	switch kind {
	case base.StreamScript:
		return s, s.openScript(ctx, p, o)
	case base.Executable:
		if p, err = s.spool(ctx, p, o); err != nil {
			return nil, err
		}
	case base.OCILayout:
		if s.Index, err = layoutIndex(p); err != nil || s.Index != nil {
			return s, err
		}
	}
	bopts := append([]base.Option{base.WithContext(ctx), base.WithTempDir(o.tempDir)}, o.base...)
	img, err := base.Open(p, bopts...)
	if err != nil {
		return nil, fmt.Errorf("reading image source %q: not a docker-archive, OCI archive or layout, or executable stream: %w", p, err)
	}
	s.closers = append(s.closers, func() { img.Close() })
	if kind == "" {
		s.Format = img.Format()
	}
	if img.RawIndex() != nil {
		r, err := OpenIndex(p, bopts...)
		if err != nil {
			return nil, fmt.Errorf("reading image index %q: %w", p, err)
		}
		s.closers = append(s.closers, func() { r.Close() })
		s.Index = r
		return s, nil
	}
	s.Archive, s.Image, s.Ref = img, img.V1(), img.Ref()
	return s, nil
}

// openScript reads the stream script at p and opens its image.
func (s *Source) openScript(ctx context.Context, p string, o *options) error {
	sc, err := stream.ReadScript(p)
	if err != nil {
		return err
	}
	s.Script, s.Ref = sc, sc.Settings.Ref.String()
	var closeFn func()
	if o.recipe {
		s.Image, s.Archive, closeFn, err = sc.Recipe(ctx)
	} else {
		s.Image, _, closeFn, err = sc.Image(ctx)
	}
	if err != nil {
		return fmt.Errorf("reading stream script %q: %w", p, err)
	}
	s.closers = append(s.closers, closeFn)
	return nil
}

// layoutIndex returns the index of the OCI layout dir when it lists more
// than one image (an index of images), else nil.
func layoutIndex(dir string) (v1.ImageIndex, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index.json of %q: %w", dir, err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("reading OCI layout %q: index.json lists no image", dir)
	}
	if len(im.Manifests) == 1 {
		return nil, nil // an image, or a multi-platform index: base reads it
	}
	return idx, nil
}

// spool runs the executable p and keeps the docker-archive it writes in a
// temporary file (removed by Close), within base's size limit.
func (s *Source) spool(ctx context.Context, p string, o *options) (string, error) {
	f, err := os.CreateTemp(o.tempDir, "nixlayer-stream-")
	if err != nil {
		return "", err
	}
	s.closers = append(s.closers, func() { os.Remove(f.Name()) })
	err = Run(ctx, p, &limitWriter{w: f, n: MaxStreamBytes})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// Run runs the executable p, by its absolute path (a bare name is a file
// in the current directory, never a command looked up in $PATH), and
// copies its standard output to w.
func Run(ctx context.Context, p string, w io.Writer) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("running image stream %q: %w", p, err)
	}
	cmd := exec.CommandContext(ctx, abs)
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running image stream %q: %w", p, err)
	}
	return nil
}

// ErrTooLarge stops a stream that writes more than base reads.
var ErrTooLarge = errors.New("the stream is larger than the image size limit")

// MaxStreamBytes bounds the spooled output of a stream executable: what
// image/base reads at most (a variable so that tests can lower it).
var MaxStreamBytes = base.DefaultMaxBytes

// limitWriter writes at most n bytes to w.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, MaxStreamBytes)
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	return n, err
}
