package recipe

import (
	"archive/tar"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/wire"
)

// The conversions between a planned layer (Layer, layers.Entry,
// customize.Rule, layers.Descriptor) and the wire types that outlive the
// binary (package wire): the one place where the two meet for layers;
// package stream converts the rest of a stream script.

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
		CreatedBy:        l.CreatedBy,
		Author:           l.Author,
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
	c, err := compression.Parse(w.Compression)
	if err != nil || w.Compression == "" {
		return layers.Descriptor{}, "", fmt.Errorf("%s: layer %s: compression %q: use gzip, zstd or none", what, w.Digest, w.Compression)
	}
	return layers.Descriptor{DiffID: diffID, Digest: digest, Size: w.Size, UncompressedSize: w.UncompressedSize}, c, nil
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

// ToWire returns the wire form of layer l, written as d in compression c,
// in a stream script: a cached layer's descriptor and blob file, or the
// recipe that makes the layer again.
func ToWire(l *Layer, d layers.Descriptor, c layers.Compression) wire.Layer {
	if l.Cached != nil {
		return cachedToWire(l)
	}
	return wire.Layer{
		Descriptor: LayerDescriptor(l, d, c, c.MediaType(false)),
		Extra:      entriesToWire(l.Extra),
		Uid:        l.Uid,
		Gid:        l.Gid,
		Rules:      rulesToWire(l.Rules),
		Size:       l.Size,
	}
}

// FromWire returns the layer and the descriptor that a stream script's
// layer wl describes: a layer of the script's own compression c, or a
// cached layer of its own. what names the script in errors, i the layer.
func FromWire(wl wire.Layer, c layers.Compression, what string, i int) (Layer, layers.Descriptor, error) {
	d, lc, err := FromDescriptor(wl.Descriptor, what)
	if err != nil {
		return Layer{}, d, err
	}
	if wl.File != "" {
		l, err := cachedFromWire(wl, d, lc, what, i)
		return l, d, err
	}
	if lc != c {
		return Layer{}, d, fmt.Errorf("%s is damaged: layer %d is %s, the image %s", what, i+1, lc, c)
	}
	extra, err := entriesFromWire(wl.Extra, what)
	if err != nil {
		return Layer{}, d, err
	}
	return Layer{StorePaths: wl.Descriptor.StorePaths, Extra: extra, Uid: wl.Uid, Gid: wl.Gid,
		Comment: wl.Descriptor.Comment, CreatedBy: wl.Descriptor.CreatedBy, Author: wl.Descriptor.Author, Size: wl.Size, Rules: rulesFromWire(wl.Rules)}, d, nil
}
