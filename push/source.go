package push

import (
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
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/index"
	"github.com/nixlayer/nixlayer/registry"
)

// SourceKind is the format of an image Push reads: one of package format's
// archive formats, or a stream.
type SourceKind string

// The sources Push reads.
const (
	// SourceDockerArchive is a docker-archive tar (docker save, buildImage).
	SourceDockerArchive = SourceKind(format.DockerArchive)
	// SourceOCILayout is an OCI image layout directory.
	SourceOCILayout = SourceKind(format.OCILayout)
	// SourceOCIArchive is a tar of an OCI image layout.
	SourceOCIArchive = SourceKind(format.OCIArchive)
	// SourceStream is an executable (streamLayeredImage's script) that
	// writes a docker-archive to its standard output.
	SourceStream SourceKind = "stream"
)

// Every image Push reads goes through image/base's reader, which streams
// blobs out of the archive within its limits and writes nothing of the
// image to the host: a docker-archive, an OCI layout or an oci-archive,
// also compressed. A nixlayer stream script is read in process (its layers
// are produced from the store as they are uploaded); any other executable
// is run by its absolute path and its output, a docker-archive, spooled to
// a temporary file (within base's size limit) that base then reads. The one
// exception is an OCI layout directory whose index.json lists several
// images: it is pushed as that index with go-containerregistry's layout
// reader, which reads the directory in place. A layout or archive whose
// one entry is a multi-platform index (buildImageIndex) is pushed as that
// index, its images read by base (package index).

// DetectSource tells which kind of image source the file or directory at
// p is, from its contents.
func DetectSource(p string) (SourceKind, error) {
	kind, err := sniffSource(p)
	if err != nil || kind == SourceStream {
		return kind, err
	}
	img, err := openArchive(p, "")
	if err != nil {
		return "", err
	}
	defer img.Close()
	return archiveKind(img), nil
}

// sniffSource tells an executable stream from an archive or layout.
func sniffSource(p string) (SourceKind, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("reading image source: %w", err)
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err != nil {
			return "", fmt.Errorf("reading image source %q: a directory without an oci-layout file is not an OCI image layout", p)
		}
		return SourceOCILayout, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("reading image source: %w", err)
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if fi.Mode()&0o111 != 0 && (bytes.HasPrefix(head[:n], []byte("#!")) || bytes.Equal(head[:n], []byte("\x7fELF"))) {
		return SourceStream, nil
	}
	return "", nil
}

// openArchive opens p with image/base's reader.
func openArchive(p, tempDir string) (*base.Image, error) {
	img, err := base.Open(p, base.WithTempDir(tempDir))
	if err != nil {
		return nil, fmt.Errorf("reading image source %q: not a docker-archive, OCI archive or layout, or executable stream: %w", p, err)
	}
	return img, nil
}

func archiveKind(img *base.Image) SourceKind {
	if img.Format() == base.DockerArchiveLegacy {
		return SourceDockerArchive
	}
	return SourceKind(img.Format())
}

// source is an opened image source: an image or an index to push.
type source struct {
	kind    SourceKind
	img     v1.Image      // or
	idx     v1.ImageIndex // when a layout holds several images
	ref     string        // the name:tag the source gives the image, or ""
	cleanup []func()
}

func (s *source) close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

func (s *source) taggable() remote.Taggable {
	if s.img != nil {
		return s.img
	}
	return s.idx
}

// descriptor is the descriptor of the manifest (or index) to push.
func (s *source) descriptor() (*v1.Descriptor, error) {
	if s.img != nil {
		return partial.Descriptor(s.img)
	}
	return partial.Descriptor(s.idx)
}

// openSource opens the image at p.
func openSource(ctx context.Context, p string, o registry.Options) (_ *source, err error) {
	kind, err := sniffSource(p)
	if err != nil {
		return nil, err
	}
	s := &source{kind: kind}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	switch {
	case kind == SourceStream && image.IsScript(p):
		sc, err := image.ReadScript(p)
		if err != nil {
			return nil, err
		}
		img, ref, closeFn, err := sc.Image(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading stream script %q: %w", p, err)
		}
		s.img, s.ref = img, ref.String()
		s.cleanup = append(s.cleanup, closeFn)
		return s, nil
	case kind == SourceStream:
		if p, err = spoolStream(ctx, p, s, o); err != nil {
			return nil, err
		}
	case kind == SourceOCILayout:
		if idx, err := layoutIndex(p); err != nil || idx != nil {
			s.idx = idx
			return s, err
		}
	}
	img, err := openArchive(p, o.TempDir())
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { img.Close() })
	if kind == "" {
		s.kind = archiveKind(img)
	}
	if img.RawIndex() != nil {
		return s, s.openIndex(p, o)
	}
	s.img, s.ref = img.V1(), img.Ref()
	return s, nil
}

// openIndex opens the multi-platform index at p (buildImageIndex's
// output), read through image/base, to push as that index.
func (s *source) openIndex(p string, o registry.Options) error {
	r, err := index.Open(p, base.WithTempDir(o.TempDir()))
	if err != nil {
		return fmt.Errorf("reading image index %q: %w", p, err)
	}
	s.cleanup = append(s.cleanup, func() { r.Close() })
	s.idx = r
	return nil
}

// layoutIndex returns the index of the OCI layout dir when it lists more
// than one image (pushed as an index), else nil.
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

// spoolStream runs the executable p and keeps the docker-archive it writes
// in a temporary file (removed by s.close), within base's size limit.
func spoolStream(ctx context.Context, p string, s *source, o registry.Options) (string, error) {
	f, err := os.CreateTemp(o.TempDir(), "nixlayer-stream-")
	if err != nil {
		return "", err
	}
	s.cleanup = append(s.cleanup, func() { os.Remove(f.Name()) })
	err = runStream(ctx, p, &limitWriter{w: f, n: maxStreamBytes})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// runStream runs the executable p, by its absolute path (a bare name is a
// file in the current directory, never a command looked up in $PATH), and
// copies its standard output to w.
func runStream(ctx context.Context, p string, w io.Writer) error {
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

// errTooLarge stops a stream that writes more than base reads.
var errTooLarge = errors.New("the stream is larger than the image size limit")

// maxStreamBytes bounds the spooled output of a stream executable: what
// image/base reads at most (a variable so that tests can lower it).
var maxStreamBytes = base.DefaultMaxBytes

// limitWriter writes at most n bytes to w.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("%w (%d bytes)", errTooLarge, maxStreamBytes)
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	return n, err
}
