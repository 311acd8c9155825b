package pull

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// SourceKind is the format of an image Push reads.
type SourceKind string

// The sources Push reads.
const (
	// SourceDockerArchive is a docker-archive tar (docker save, buildImage).
	SourceDockerArchive SourceKind = "docker-archive"
	// SourceOCILayout is an OCI image layout directory.
	SourceOCILayout SourceKind = "oci-layout"
	// SourceOCIArchive is a tar of an OCI image layout.
	SourceOCIArchive SourceKind = "oci-archive"
	// SourceStream is an executable (streamLayeredImage's script) that
	// writes a docker-archive to its standard output.
	SourceStream SourceKind = "stream"
)

// DetectSource tells which kind of image source the file or directory at
// p is, from its contents.
func DetectSource(p string) (SourceKind, error) {
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
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return detectTar(f, p)
}

// detectTar tells a docker-archive from an oci-archive by the files in r.
func detectTar(r io.Reader, p string) (SourceKind, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("reading image source %q: a tar with neither manifest.json (docker-archive) nor oci-layout (oci-archive)", p)
		}
		if err != nil {
			return "", fmt.Errorf("reading image source %q: not a docker-archive, OCI archive or layout, or executable stream: %w", p, err)
		}
		switch path.Clean(h.Name) {
		case "oci-layout":
			return SourceOCIArchive, nil
		case "manifest.json":
			return SourceDockerArchive, nil
		}
	}
}

// source is an opened image source: an image or an index to push.
type source struct {
	kind    SourceKind
	img     v1.Image      // or
	idx     v1.ImageIndex // when a layout holds several images
	cleanup []func()
}

func (s *source) close() {
	for _, c := range s.cleanup {
		c()
	}
}

func (s *source) taggable() remote.Taggable {
	if s.img != nil {
		return s.img
	}
	return s.idx
}

func (s *source) digest() (v1.Hash, error) {
	if s.img != nil {
		return s.img.Digest()
	}
	return s.idx.Digest()
}

// openSource opens p as an image of kind.
func openSource(ctx context.Context, p string, kind SourceKind, o *options) (_ *source, err error) {
	s := &source{kind: kind}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	switch kind {
	case SourceDockerArchive:
		if s.img, err = tarball.ImageFromPath(p, nil); err != nil {
			return nil, fmt.Errorf("reading docker-archive %q: %w", p, err)
		}
	case SourceOCILayout:
		if err := s.openLayout(p); err != nil {
			return nil, err
		}
	case SourceOCIArchive:
		dir, err := os.MkdirTemp(o.tempDir, "nixlayer-oci-")
		if err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
		if err := extractTar(p, dir); err != nil {
			return nil, fmt.Errorf("reading oci-archive %q: %w", p, err)
		}
		if err := s.openLayout(dir); err != nil {
			return nil, fmt.Errorf("reading oci-archive %q: %w", p, err)
		}
	case SourceStream:
		f, err := os.CreateTemp(o.tempDir, "nixlayer-stream-")
		if err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, func() { os.Remove(f.Name()) })
		err = runStream(ctx, p, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		if s.img, err = tarball.ImageFromPath(f.Name(), nil); err != nil {
			return nil, fmt.Errorf("reading the docker-archive %q writes: %w", p, err)
		}
	default:
		return nil, fmt.Errorf("unknown image source kind %q", kind)
	}
	return s, nil
}

// runStream runs the executable p and copies its standard output to w.
func runStream(ctx context.Context, p string, w io.Writer) error {
	cmd := exec.CommandContext(ctx, p)
	cmd.Stdout, cmd.Stderr = w, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running image stream %q: %w", p, err)
	}
	return nil
}

func (s *source) openLayout(dir string) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading index.json of %q: %w", dir, err)
	}
	if len(im.Manifests) == 0 {
		return fmt.Errorf("reading OCI layout %q: index.json lists no image", dir)
	}
	if len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsImage() {
		s.img, err = idx.Image(im.Manifests[0].Digest)
		if err != nil {
			return fmt.Errorf("reading image %s of %q: %w", im.Manifests[0].Digest, dir, err)
		}
		return nil
	}
	s.idx = idx
	return nil
}

// extractTar unpacks the regular files and directories of the tar file p
// into dir, refusing names that leave dir.
func extractTar(p, dir string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if name == "." {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q leaves the archive", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q is neither a file nor a directory", h.Name)
		}
	}
}
