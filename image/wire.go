package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// The conversions between the in-memory types of a build (Settings, Layer,
// layers.Entry, customize.Rule, layers.Descriptor) and the wire types that
// outlive the binary (package wire): the one place where the two meet.

// LayerDescriptor returns the wire descriptor of layer l written as d with
// compression c and media type mt.
func LayerDescriptor(l *Layer, d layers.Descriptor, c layers.Compression, mt types.MediaType) wire.Descriptor {
	return wire.Descriptor{
		Digest:           d.Digest.String(),
		DiffID:           d.DiffID.String(),
		Size:             d.Size,
		UncompressedSize: d.UncompressedSize,
		MediaType:        string(mt),
		Compression:      string(c),
		StorePaths:       l.StorePaths,
		Comment:          l.Comment,
	}
}

// FromDescriptor returns the descriptor and compression a wire descriptor
// holds; what names the document in errors.
func FromDescriptor(w wire.Descriptor, what string) (layers.Descriptor, layers.Compression, error) {
	digest, err := v1.NewHash(w.Digest)
	if err != nil {
		return layers.Descriptor{}, "", fmt.Errorf("%s: layer digest %q: %w", what, w.Digest, err)
	}
	diffID, err := v1.NewHash(w.DiffID)
	if err != nil {
		return layers.Descriptor{}, "", fmt.Errorf("%s: layer diffID %q: %w", what, w.DiffID, err)
	}
	c, err := layers.ParseCompression(w.Compression)
	if err != nil || w.Compression == "" {
		return layers.Descriptor{}, "", fmt.Errorf("%s: layer %s: compression %q: use gzip, zstd or none", what, w.Digest, w.Compression)
	}
	return layers.Descriptor{DiffID: diffID, Digest: digest, Size: w.Size, UncompressedSize: w.UncompressedSize}, c, nil
}

// toWire returns the wire form of a stream script.
func (s *Script) toWire() (*wire.Script, error) {
	set := s.Settings
	config, err := json.Marshal(set.Config)
	if err != nil {
		return nil, fmt.Errorf("encoding the image config: %w", err)
	}
	w := &wire.Script{
		Ref:         set.Ref.String(),
		Config:      config,
		Platform:    wire.PlatformOf(set.Platform),
		Created:     set.Created.UTC().Format(time.RFC3339),
		MTime:       set.MTime.Unix(),
		Compression: string(set.Compression),
	}
	if set.Base != nil {
		w.Base = &wire.Base{Path: set.Base.Path, Name: set.Base.Name, Tag: set.Base.Tag}
	}
	mt := set.Compression.MediaType(false)
	for i := range s.Layers {
		l := &s.Layers[i]
		if l.Cached != nil {
			w.Layers = append(w.Layers, cachedToWire(l))
			continue
		}
		w.Layers = append(w.Layers, wire.Layer{
			Descriptor: LayerDescriptor(l, s.Blobs[i], set.Compression, mt),
			Extra:      entriesToWire(l.Extra),
			Uid:        l.Uid,
			Gid:        l.Gid,
			Rules:      rulesToWire(l.Rules),
			Size:       l.Size,
		})
	}
	return w, nil
}

// scriptFromWire returns the stream script w describes; what names it in
// errors.
func scriptFromWire(w *wire.Script, what string) (*Script, error) {
	ref, err := name.NewTag(w.Ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("%s names an invalid reference %q: %w", what, w.Ref, err)
	}
	set := &spec.Settings{Ref: ref, Format: format.DockerArchive, Stream: true, MTime: time.Unix(w.MTime, 0).UTC(),
		Platform: w.Platform.V1()}
	if err := json.Unmarshal(w.Config, &set.Config); err != nil {
		return nil, fmt.Errorf("%s: reading the image config: %w", what, err)
	}
	if set.Created, err = time.Parse(time.RFC3339, w.Created); err != nil {
		return nil, fmt.Errorf("%s: created %q: %w", what, w.Created, err)
	}
	if w.Base != nil {
		set.Base = &spec.BaseRef{Path: w.Base.Path, Name: w.Base.Name, Tag: w.Base.Tag}
	}
	s := &Script{Settings: set}
	if set.Compression, err = layers.ParseCompression(w.Compression); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for i, wl := range w.Layers {
		d, c, err := FromDescriptor(wl.Descriptor, what)
		if err != nil {
			return nil, err
		}
		if wl.File != "" {
			s.Blobs = append(s.Blobs, d)
			s.Layers = append(s.Layers, cachedFromWire(wl, d, c))
			continue
		}
		if c != set.Compression {
			return nil, fmt.Errorf("%s is damaged: layer %d is %s, the image %s", what, i+1, c, set.Compression)
		}
		extra, err := entriesFromWire(wl.Extra, what)
		if err != nil {
			return nil, err
		}
		s.Blobs = append(s.Blobs, d)
		s.Layers = append(s.Layers, Layer{StorePaths: wl.Descriptor.StorePaths, Extra: extra, Uid: wl.Uid, Gid: wl.Gid,
			Comment: wl.Descriptor.Comment, Size: wl.Size, Rules: rulesFromWire(wl.Rules)})
	}
	return s, nil
}

var entryTypes = map[byte]string{tar.TypeDir: "dir", tar.TypeReg: "file", tar.TypeSymlink: "symlink",
	tar.TypeLink: "hardlink", tar.TypeChar: "char", tar.TypeBlock: "block", tar.TypeFifo: "fifo"}

func entriesToWire(es []layers.Entry) []wire.Entry {
	var out []wire.Entry
	for _, e := range es {
		out = append(out, wire.Entry{Name: e.Name, Type: entryTypes[e.Type], Mode: e.Mode, Uid: e.Uid, Gid: e.Gid,
			Uname: e.Uname, Gname: e.Gname, Linkname: e.Linkname, Size: e.Size, Source: e.Source, Data: e.Data,
			Devmajor: e.Devmajor, Devminor: e.Devminor})
	}
	return out
}

func entriesFromWire(ws []wire.Entry, what string) ([]layers.Entry, error) {
	var out []layers.Entry
	for _, w := range ws {
		var typ byte
		for t, n := range entryTypes {
			if n == w.Type {
				typ = t
			}
		}
		if typ == 0 {
			return nil, fmt.Errorf("%s is damaged: entry /%s has type %q (want dir, file, symlink, hardlink, char, block or fifo)", what, w.Name, w.Type)
		}
		out = append(out, layers.Entry{Name: w.Name, Type: typ, Mode: w.Mode, Uid: w.Uid, Gid: w.Gid,
			Uname: w.Uname, Gname: w.Gname, Linkname: w.Linkname, Size: w.Size, Source: w.Source, Data: w.Data,
			Devmajor: w.Devmajor, Devminor: w.Devminor})
	}
	return out, nil
}

func rulesToWire(rs customize.Rules) []wire.Rule {
	var out []wire.Rule
	for _, r := range rs {
		out = append(out, wire.Rule{Path: r.Path, Regex: r.Regex, Mode: r.Mode, Uid: r.Uid, Gid: r.Gid, Uname: r.Uname, Gname: r.Gname, Source: r.Source})
	}
	return out
}

func rulesFromWire(ws []wire.Rule) customize.Rules {
	var out customize.Rules
	for _, w := range ws {
		out = append(out, customize.Rule{Path: w.Path, Regex: w.Regex, Mode: w.Mode, Uid: w.Uid, Gid: w.Gid, Uname: w.Uname, Gname: w.Gname, Source: w.Source})
	}
	return out
}
