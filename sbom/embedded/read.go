package embedded

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/sbom"
)

// ErrNoSBOM means the image has no document in the format asked for: it
// was built with sbom = false, or not by nixlayer.
var ErrNoSBOM = errors.New("no SBOM document")

// Read returns the document in format f of the image at path: a
// docker-archive, an OCI layout or oci-archive (compressed too), or a
// nixlayer stream script. The document is the file at f.Path() as the
// image's layers leave it.
func Read(path string, f sbom.Format) ([]byte, error) {
	script, err := isScript(path)
	if err != nil {
		return nil, err
	}
	if script {
		return fromScript(path, f)
	}
	return fromImage(path, f)
}

// isScript reports whether path is a file that starts with "#!": a stream
// script (image archives start with a tar header or compression magic).
func isScript(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	if fi.IsDir() {
		return false, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	defer fh.Close()
	head := make([]byte, 2)
	n, _ := io.ReadFull(fh, head)
	return bytes.Equal(head[:n], []byte("#!")), nil
}

// ReadAll returns both documents of the image at path (see Read), reading
// an image's layers once for the two. opts choose the image of an archive
// or index (base.WithManifest, say); a stream script ignores them.
func ReadAll(path string, opts ...base.Option) (*sbom.Documents, error) {
	script, err := isScript(path)
	if err != nil {
		return nil, err
	}
	docs := map[sbom.Format][]byte{}
	if script {
		for _, f := range sbom.Formats {
			if docs[f], err = fromScript(path, f); err != nil {
				return nil, err
			}
		}
	} else if docs, err = fromImageAll(path, sbom.Formats, opts...); err != nil {
		return nil, err
	}
	return &sbom.Documents{SPDX: docs[sbom.SPDXJSON], CycloneDX: docs[sbom.CycloneDXJSON]}, nil
}

// MaxDocumentSize bounds an SBOM read out of an image into memory: a
// document lists each store path in about 1 KiB, so this allows closures
// far larger than any real one.
const MaxDocumentSize = 256 << 20

func fromImage(path string, f sbom.Format, opts ...base.Option) ([]byte, error) {
	docs, err := fromImageAll(path, []sbom.Format{f}, opts...)
	return docs[f], err
}

// fromImageAll reads the documents in formats fs from the image's layers,
// in one pass.
func fromImageAll(path string, fs []sbom.Format, opts ...base.Option) (map[sbom.Format][]byte, error) {
	var keep []string
	for _, f := range fs {
		keep = append(keep, f.Path())
	}
	img, err := base.Open(path, append(opts, base.WithKeep(keep...))...)
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	defer img.Close()
	x, err := img.Index()
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	out := map[sbom.Format][]byte{}
	for _, f := range fs {
		data, ok, err := x.Content(f.Path(), MaxDocumentSize)
		if err != nil {
			return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
		}
		if !ok {
			return nil, fmt.Errorf("image %s has no file /%s: %w (built with sbom = false, or not by nixlayer?)", path, f.Path(), ErrNoSBOM)
		}
		out[f] = data
	}
	return out, nil
}

// fromScript finds the document in the recipe of a stream script: the
// last layer that writes f.Path() wins, as when the layers are unpacked;
// without one, the script's base image is read.
func fromScript(path string, f sbom.Format) ([]byte, error) {
	s, err := image.ReadScript(path)
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	var found *layers.Entry
	for i := range s.Layers {
		for j := range s.Layers[i].Extra {
			if e := &s.Layers[i].Extra[j]; e.Name == f.Path() {
				found = e
			}
		}
	}
	if found == nil {
		if b := s.Settings.Base; b != nil {
			return fromImage(b.Path, f, base.WithName(b.Name), base.WithTag(b.Tag))
		}
		return nil, fmt.Errorf("stream script %s writes no file /%s: %w (built with sbom = false?)", path, f.Path(), ErrNoSBOM)
	}
	if found.Type != tar.TypeReg {
		return nil, fmt.Errorf("stream script %s: /%s is not a regular file: %w", path, f.Path(), ErrNoSBOM)
	}
	if found.Source == "" {
		return found.Data, nil
	}
	data, err := os.ReadFile(found.Source)
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of stream script %s: %w", path, err)
	}
	return data, nil
}
