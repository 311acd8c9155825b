package embedded

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/stream"
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
	fs := []sbom.Format{f}
	var docs map[sbom.Format][]byte
	if script {
		docs, err = fromScript(path, fs)
	} else {
		docs, err = fromImageAll(path, fs)
	}
	return docs[f], err
}

// isScript reports whether path is a stream script (package source tells).
func isScript(path string) (bool, error) {
	kind, err := source.Sniff(path)
	if err != nil {
		return false, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	return kind == base.StreamScript, nil
}

// ReadAll returns both documents of the image at path (see Read), reading
// an image's layers once for the two. opts choose the image of an archive
// or index (base.WithManifest, say); a stream script ignores them.
func ReadAll(path string, opts ...base.Option) (*sbom.Documents, error) {
	script, err := isScript(path)
	if err != nil {
		return nil, err
	}
	var docs map[sbom.Format][]byte
	if script {
		docs, err = fromScript(path, sbom.Formats)
	} else {
		docs, err = fromImageAll(path, sbom.Formats, opts...)
	}
	if err != nil {
		return nil, err
	}
	return &sbom.Documents{SPDX: docs[sbom.SPDXJSON], CycloneDX: docs[sbom.CycloneDXJSON]}, nil
}

// MaxDocumentSize bounds an SBOM read out of an image into memory: a
// document lists each store path in about 1 KiB (the largest CycloneDX
// document of the examples, 1.6 KiB a path), so this allows closures of
// some 40,000 store paths, far larger than any real one.
const MaxDocumentSize = 64 << 20

// fromImageAll reads the documents in formats fs from the image's layers,
// in one pass.
func fromImageAll(path string, fs []sbom.Format, opts ...base.Option) (map[sbom.Format][]byte, error) {
	out := map[sbom.Format][]byte{}
	err := eachDocument(path, fs, opts, func(f sbom.Format, x *base.Index) (bool, error) {
		data, ok, err := x.Content(f.Path(), MaxDocumentSize)
		out[f] = data
		return ok, err
	})
	return out, err
}

// eachDocument opens the image at path, keeping the files of the
// documents in formats fs, and calls read for each format with the
// image's index; read says whether the image has the document.
func eachDocument(path string, fs []sbom.Format, opts []base.Option, read func(sbom.Format, *base.Index) (bool, error)) error {
	var keep []string
	for _, f := range fs {
		keep = append(keep, f.Path())
	}
	img, err := base.Open(path, append(opts, base.WithKeep(keep...))...)
	if err != nil {
		return fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	defer img.Close()
	x, err := img.Index()
	if err != nil {
		return fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	for _, f := range fs {
		ok, err := read(f, x)
		if err != nil {
			return fmt.Errorf("reading the SBOM of %s: %w", path, err)
		}
		if !ok {
			return fmt.Errorf("image %s has no file /%s: %w (built with sbom = false, or not by nixlayer?)", path, f.Path(), ErrNoSBOM)
		}
	}
	return nil
}

// Copy writes the document in format f of the image at path (see Read)
// to w. An image's document is streamed from its layer, not held in
// memory; its size is checked against MaxDocumentSize before a byte is
// written.
func Copy(path string, f sbom.Format, w io.Writer) error {
	script, err := isScript(path)
	if err != nil {
		return err
	}
	if script {
		docs, err := fromScript(path, []sbom.Format{f})
		if err != nil {
			return err
		}
		_, err = w.Write(docs[f])
		return err
	}
	return eachDocument(path, []sbom.Format{f}, nil, func(f sbom.Format, x *base.Index) (bool, error) {
		return x.CopyContent(f.Path(), w, MaxDocumentSize)
	})
}

// fromScript finds the documents in formats fs in the recipe of a stream
// script, read once: the last layer that writes a document's path wins, as
// when the layers are unpacked; when no layer writes one, the documents
// are read from the script's base image, in one pass.
func fromScript(path string, fs []sbom.Format) (map[sbom.Format][]byte, error) {
	s, err := stream.ReadScript(path)
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	out := map[sbom.Format][]byte{}
	var fromBase []sbom.Format
	for _, f := range fs {
		found := lastEntry(s.Layers, f.Path())
		if found == nil {
			if s.Settings.Base == nil {
				return nil, fmt.Errorf("stream script %s writes no file /%s: %w (built with sbom = false?)", path, f.Path(), ErrNoSBOM)
			}
			fromBase = append(fromBase, f)
			continue
		}
		if out[f], err = entryData(path, s, f, found); err != nil {
			return nil, err
		}
	}
	if len(fromBase) > 0 {
		b := s.Settings.Base
		docs, err := fromImageAll(b.Path, fromBase, base.WithName(b.Name), base.WithTag(b.Tag))
		if err != nil {
			return nil, err
		}
		for f, data := range docs {
			out[f] = data
		}
	}
	return out, nil
}

// lastEntry is the extra entry at name of the last layer that writes one,
// or nil.
func lastEntry(ls []recipe.Layer, name string) *layers.Entry {
	var found *layers.Entry
	for i := range ls {
		for j := range ls[i].Extra {
			if e := &ls[i].Extra[j]; e.Name == name {
				found = e
			}
		}
	}
	return found
}

// entryData returns the bytes of the document in format f that entry e of
// the stream script s at path writes: its data, or its source file, which
// must be a regular file inside a store path (or a cached layer's output)
// that the script's layers hold, reached without following a symlink, of
// at most MaxDocumentSize bytes.
func entryData(path string, s *stream.Script, f sbom.Format, e *layers.Entry) ([]byte, error) {
	if e.Type != tar.TypeReg {
		return nil, fmt.Errorf("stream script %s: /%s is not a regular file: %w", path, f.Path(), ErrNoSBOM)
	}
	if e.Source == "" {
		return e.Data, nil
	}
	root, rel, ok := scriptRoot(s.Layers, e.Source)
	if !ok {
		return nil, fmt.Errorf("reading the SBOM of stream script %s: /%s comes from %s, which is in no store path of the script's layers: the script is damaged", path, f.Path(), e.Source)
	}
	var data []byte
	var err error
	if rel == "" {
		data, err = regularfile.ReadAll(root, MaxDocumentSize, true)
	} else {
		data, err = regularfile.ReadAllInside(root, rel, MaxDocumentSize)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the SBOM of stream script %s: /%s from %s: %w", path, f.Path(), e.Source, err)
	}
	return data, nil
}

// scriptRoot finds the store path (or cached layer output) of layers ls
// that holds file p: that root, and p relative to it ("" for the root
// itself).
func scriptRoot(ls []recipe.Layer, p string) (root, rel string, ok bool) {
	p = filepath.Clean(p)
	for i := range ls {
		roots := ls[i].StorePaths
		if c := ls[i].Cached; c != nil {
			roots = append(roots[:len(roots):len(roots)], c.Output)
		}
		for _, r := range roots {
			if p == r {
				return r, "", true
			}
			if rest, found := strings.CutPrefix(p, r+"/"); found {
				return r, rest, true
			}
		}
	}
	return "", "", false
}
