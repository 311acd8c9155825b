package image

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
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
}

// storeDirs are the directory entries every layer with store paths starts with.
func storeDirs() []layers.Entry {
	return []layers.Entry{layers.Dir("nix", 0o755), layers.Dir("nix/store", 0o755)}
}

// Each reads the layer's store paths from disk and gives every entry of the
// layer to emit in write order. It holds one store path's entries at a time
// (and the extra entries), not the whole layer: memory stays flat however
// large the closure. An extra entry replaces a store entry of the same name.
func (l *Layer) Each(emit func(layers.Entry) error) error {
	var extra []layers.Entry
	if len(l.StorePaths) > 0 {
		extra = storeDirs()
	}
	extra = layers.Merge(extra, l.Extra)
	finish, err := l.finisher()
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

// Write writes the layer's tar, compressed with c, to dst.
func (l *Layer) Write(dst io.Writer, mtime time.Time, c layers.Compression) (layers.Descriptor, error) {
	return layers.WriteFunc(dst, l.Each, mtime, c)
}

// finisher returns what gives entries the layer's owner and permission
// rules, with the rules compiled once for all the batches of a layer.
func (l *Layer) finisher() (func([]layers.Entry), error) {
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

// Layering strategies besides those of package layers.
const (
	// LayeringNone puts the closure and the contents in one layer, as
	// dockerTools.buildImage does.
	LayeringNone = "none"
)

// plan decides the layers of the image.
func (r *Request) plan(ctx context.Context, set *Resolved) ([]Layer, error) {
	plan, err := r.planOwn(set)
	if err != nil {
		return nil, err
	}
	if r.base != nil {
		x, err := r.base.Index()
		if err != nil {
			return nil, fmt.Errorf("reading base image %s: %w", r.Spec.FromImage, err)
		}
		if plan, err = onBase(x, plan); err != nil {
			return nil, err
		}
	}
	if r.Spec.IncludeNixDB {
		db, err := r.nixDBLayer(ctx, set.MTime)
		if err != nil {
			return nil, err
		}
		plan = append(plan, db)
	}
	total := len(plan)
	if r.base != nil {
		total += len(r.base.Layers())
	}
	if total > layers.MaxImageLayers {
		return nil, fmt.Errorf("the image would have %d layers (%d of them from the base image); Docker and containerd refuse more than %d", total, total-len(plan), layers.MaxImageLayers)
	}
	return plan, nil
}

// topLayers counts the layers of the image besides its store-path layers
// and the customisation layer (which layers.AvailableLayers already keeps):
// the Nix database above and the base image's layers below.
func (r *Request) topLayers() int {
	n := 0
	if r.base != nil {
		n += len(r.base.Layers())
	}
	if r.Spec.IncludeNixDB {
		n++
	}
	return n
}

// nixDBLayer makes the layer holding the Nix database that registers every
// store path of the image, with hashes computed where the closure lacks them.
func (r *Request) nixDBLayer(ctx context.Context, mtime time.Time) (Layer, error) {
	s := r.Spec
	g, err := nixdb.Complete(ctx, r.Graph, false)
	if err != nil {
		return Layer{}, err
	}
	if r.base != nil {
		bg, err := baseGraph(r.base, r.Graph.StoreDir(), r.TempDir)
		if err != nil {
			return Layer{}, err
		}
		if bg != nil {
			if g, err = nixdb.Merge(bg, g); err != nil {
				return Layer{}, fmt.Errorf("merging the base image's Nix database: %w", err)
			}
		}
	}
	uname := s.NixUname
	if uname == "" && s.NixUid != 0 {
		uname = "nix"
	}
	entries, err := nixdb.Entries(g, nixdb.Options{
		RegistrationTime: mtime.Unix(),
		Roots:            s.Contents,
		Uid:              s.NixUid,
		Gid:              s.NixGid,
		Uname:            uname,
		Gname:            s.NixGname,
	})
	if err != nil {
		return Layer{}, err
	}
	return Layer{Extra: entries, Comment: fmt.Sprintf("Nix database registering %d store paths", g.Len())}, nil
}

// planOwn decides the layers of the closure and the customisation layer.
func (r *Request) planOwn(set *Resolved) ([]Layer, error) {
	s := r.Spec
	for _, c := range s.Contents {
		if _, ok := r.Graph.Lookup(c); !ok {
			return nil, fmt.Errorf("contents %s is not in the closure graph", c)
		}
	}
	all := make([]string, 0, r.Graph.Len())
	for _, p := range r.Graph.Paths() {
		all = append(all, p.Path)
	}
	// The names at the root are the same whether contents are copied or
	// linked: the layered plan and the customisation's checks share one walk.
	linked := sync.OnceValues(func() ([]layers.Entry, error) { return layers.Contents(s.Contents, layers.Link) })
	custom, rules, err := r.customisation(set.Config, linked, all)
	if err != nil {
		return nil, err
	}
	if s.Layering == "" || s.Layering == LayeringNone {
		root, err := layers.Contents(s.Contents, layers.Copy)
		if err != nil {
			return nil, err
		}
		root = append(root, custom...)
		return []Layer{{StorePaths: all, Extra: root, Uid: s.Uid, Gid: s.Gid, Comment: comment(all, len(root) > 0), Rules: rules}}, nil
	}

	size := pathSize(r.Graph)
	groups, err := r.storeGroups(r.topLayers(), size)
	if err != nil {
		return nil, err
	}
	plan := make([]Layer, 0, len(groups)+1)
	for _, g := range groups {
		var n int64
		for _, p := range g {
			n += size(p)
		}
		plan = append(plan, Layer{StorePaths: g, Uid: s.Uid, Gid: s.Gid, Comment: comment(g, false), Rules: rules, Size: n})
	}
	linkedRoot, err := linked()
	if err != nil {
		return nil, err
	}
	root := append(append([]layers.Entry(nil), linkedRoot...), custom...)
	if len(root) > 0 {
		plan = append(plan, Layer{Extra: root, Uid: s.Uid, Gid: s.Gid, Comment: comment(nil, true), Rules: rules})
	}
	return plan, nil
}

// storeGroups splits the closure into layers of store paths with the
// spec's strategy, leaving room for reserved other layers (a base image's,
// the Nix database) besides the customisation layer.
func (r *Request) storeGroups(reserved int, size func(string) int64) ([][]string, error) {
	s := r.Spec
	maxLayers := s.MaxLayers
	if maxLayers == 0 {
		maxLayers = layers.DefaultMaxLayers
	}
	n, err := layers.AvailableLayers(maxLayers, reserved)
	if err != nil {
		return nil, err
	}
	if s.Layering == layers.DefaultStrategy {
		// As buildLayeredImage: the contents are referenced by the
		// customisation layer, which is not part of the contest.
		order, err := layers.PopularityOrder(r.Graph, s.Contents)
		if err != nil {
			return nil, err
		}
		return layers.SplitOrder(order, n)
	}
	strategy, err := layers.LookupStrategy(s.Layering)
	if err != nil {
		return nil, err
	}
	return strategy(r.Graph, n, size)
}

// pathSize returns the size of a store path: its narSize when the graph
// has it, else the sum of its file sizes on disk (exportReferencesGraph
// text has no narSize), walked once per path however often it is asked.
func pathSize(g *registration.Graph) func(string) int64 {
	walked := map[string]int64{}
	return func(p string) int64 {
		if info, ok := g.Lookup(p); ok && info.NarSize > 0 {
			return int64(info.NarSize)
		}
		if n, ok := walked[p]; ok {
			return n
		}
		var n int64
		filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		walked[p] = n
		return n
	}
}

func comment(paths []string, contents bool) string {
	var b strings.Builder
	if len(paths) > 0 {
		b.WriteString("store paths: ")
		b.WriteString(strings.Join(paths, " "))
	}
	if contents {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("contents at the image root")
	}
	return b.String()
}
