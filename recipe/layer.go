package recipe

import (
	"context"
	"io"
	"sort"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
)

// Layer is a planned layer: the store paths it holds and the other entries
// it has (contents at the root, generated files). Its tar is made from this
// recipe when it is written, and again, identically, when it is streamed.
type Layer struct {
	StorePaths []string       `json:"storePaths,omitempty"`
	Extra      []layers.Entry `json:"extra,omitempty"`
	// Uid and Gid, when not 0, own every entry (dockerTools' uid/gid).
	Uid     int    `json:"uid,omitempty"`
	Gid     int    `json:"gid,omitempty"`
	Comment string `json:"comment"`
	// Size estimates the bytes of StorePaths (see pathSize), so that the
	// heaviest layers are written first (eachLayer); 0 where a plan has
	// nothing to order.
	Size int64 `json:"size,omitempty"`
	// Rules are the spec's permission rules, applied to every entry.
	Rules customize.Rules `json:"rules,omitempty"`
	// Cached, when set, is the layer as nl.buildLayer built it: its blob
	// is used as it is and StorePaths only say what it holds (cached.go).
	Cached *Cached `json:"-"`
}

// Each reads the layer's store paths from disk and gives every entry of the
// layer to emit in write order. It holds one store path's entries at a time
// (and the extra entries), not the whole layer: memory stays flat however
// large the closure. An extra entry replaces a store entry of the same name.
func (l *Layer) Each(emit func(layers.Entry) error) error {
	var extra []layers.Entry
	if len(l.StorePaths) > 0 {
		extra = layers.StoreDirs(l.StorePaths)
	}
	extra = layers.Merge(extra, l.Extra)
	finish, err := l.Finisher()
	if err != nil {
		return err
	}
	finish(extra)
	paths := append([]string(nil), l.StorePaths...)
	sort.Strings(paths)
	next := 0
	for _, p := range paths {
		batch, err := layers.StorePath(p)
		if err != nil {
			return err
		}
		finish(batch)
		for _, e := range batch {
			for ; next < len(extra) && layers.Less(extra[next].Name, e.Name); next++ {
				if err := emit(extra[next]); err != nil {
					return err
				}
			}
			if next < len(extra) && extra[next].Name == e.Name {
				continue
			}
			if err := emit(e); err != nil {
				return err
			}
		}
	}
	for ; next < len(extra); next++ {
		if err := emit(extra[next]); err != nil {
			return err
		}
	}
	return nil
}

// Write writes the layer's tar, as opts says, to dst. It stops with ctx's
// error when ctx is done, within the file it is reading.
func (l *Layer) Write(ctx context.Context, dst io.Writer, opts layers.Options) (layers.Descriptor, error) {
	return layers.WriteFunc(ctx, dst, l.Each, opts)
}

// Finisher returns what gives entries the layer's owner and permission
// rules, with the rules compiled once for all the batches of a layer.
func (l *Layer) Finisher() (func([]layers.Entry), error) {
	ms, err := l.Rules.Compile()
	if err != nil {
		return nil, err
	}
	return func(entries []layers.Entry) {
		setOwner(entries, l.Uid, l.Gid)
		ms.Apply(entries)
	}, nil
}

// setOwner gives every entry uid and gid, as dockerTools' tar --owner and
// --group do.
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

// Title is the layer's comment shortened for messages.
func (l *Layer) Title() string {
	if len(l.Comment) > 120 {
		return l.Comment[:117] + "..."
	}
	return l.Comment
}
