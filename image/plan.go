package image

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/rootscript"
)

// planner decides the layers of one image: everything it reads is given
// when it is made.
type planner struct {
	set   *spec.Settings
	graph *registration.Graph
	base  *base.Image         // nil without a base image
	full  *registration.Graph // see fullGraph
	// union is the union closure of the image's set, nil outside a set
	// (imageset.go).
	union *registration.Graph
	// cached are the layers of set.Layers; stores is graph without their
	// store paths, what the image's own layering splits (withCached).
	cached []recipe.Layer
	stores *registration.Graph
	// tree is the root script's tree, which the customisation layer's
	// entries read from (nil without a root script, or for a stream).
	tree *rootscript.Tree
}

// Plan decides the layers of the image set describes, from the closure g
// and the opened base image from (nil without one): the store-path layers
// the strategy set.Layering gives, the customisation layer (or, for
// ContentsMode Copy, the contents in the top store layer), and the Nix
// database layer. Cached layers (set.Layers) go first, above the base's,
// as they were built. union is the union closure of the image's set (see
// imageset.go), nil outside a set. ctx stops the NAR hashing the database may need.
// The layers may read from files of the build besides the store (what a
// root script made stays in its tree, not in memory): done removes them,
// once the layers are written. On error there is nothing to remove.
func Plan(ctx context.Context, set *spec.Settings, g, union *registration.Graph, from *base.Image) (plan []recipe.Layer, done func(), err error) {
	p := &planner{set: set, graph: g, base: from, union: union}
	done = func() {
		if p.tree != nil {
			p.tree.Close()
		}
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	plan, err = p.plan(ctx)
	return plan, done, err
}

func (p *planner) plan(ctx context.Context) ([]recipe.Layer, error) {
	set, from, g := p.set, p.base, p.graph
	if err := p.withCached(); err != nil {
		return nil, err
	}
	plan, err := p.own(ctx)
	if err != nil {
		return nil, err
	}
	if from != nil {
		x, err := from.Index()
		if err != nil {
			return nil, fmt.Errorf("reading base image %s: %w", set.Base.Path, err)
		}
		if plan, err = onBase(x, plan, g.StoreDir()); err != nil {
			return nil, err
		}
		if len(plan) == 0 && set.ContentsMode == layers.Copy && set.NixDB == nil {
			// dockerTools' buildImage always adds its one layer, even when
			// it brings nothing the base lacks: an empty tar.
			plan = append(plan, recipe.Layer{Comment: "nothing new over the base image"})
		}
	}
	plan = append(append([]recipe.Layer(nil), p.cached...), plan...)
	if set.NixDB != nil {
		db, err := p.nixDBLayer(ctx)
		if err != nil {
			return nil, err
		}
		plan = append(plan, db)
	}
	if err := p.checkCount(plan); err != nil {
		return nil, err
	}
	return plan, nil
}

func (p *planner) baseLayers() int {
	if p.base == nil {
		return 0
	}
	return len(p.base.Layers())
}

// reserved counts the layers of the image besides its store-path layers
// and the customisation layer (which layering.AvailableLayers already keeps):
// the Nix database above, the base image's and the cached layers below.
func (p *planner) reserved() int {
	n := p.baseLayers() + len(p.cached)
	if p.set.NixDB != nil {
		n++
	}
	return n
}

// nixDBLayer makes the layer holding the Nix database that registers every
// store path of the image, with hashes computed where the closure lacks them.
func (p *planner) nixDBLayer(ctx context.Context) (recipe.Layer, error) {
	g, err := p.fullGraph(ctx)
	if err != nil {
		return recipe.Layer{}, err
	}
	db := p.set.NixDB
	entries, err := nixdb.Entries(g, nixdb.Options{
		RegistrationTime: p.set.MTime.Unix(),
		Roots:            p.set.Contents,
		Uid:              db.Uid,
		Gid:              db.Gid,
		Uname:            db.Uname,
		Gname:            db.Gname,
	})
	if err != nil {
		return recipe.Layer{}, err
	}
	return recipe.Layer{Extra: entries, Comment: fmt.Sprintf("Nix database registering %d store paths", g.Len())}, nil
}

// own decides the layers of the closure and the root: the store-path
// groups of the strategy, then the root entries (contents and
// customisation, the SBOM documents) in a layer of their own, or, when the
// contents are copied, in the top store layer.
func (p *planner) own(ctx context.Context) ([]recipe.Layer, error) {
	set := p.set
	for _, c := range set.Contents {
		if _, ok := p.graph.Lookup(c); !ok {
			return nil, fmt.Errorf("contents %s is not in the closure graph", c)
		}
	}
	all := storePaths(p.graph)
	// The names at the root are the same whether contents are copied or
	// linked: the root and the customisation's checks share one walk.
	linked := sync.OnceValues(func() ([]layers.Entry, error) { return layers.Contents(set.Contents, layers.Link) })
	custom, rules, err := p.customisation(linked, all)
	if err != nil {
		return nil, err
	}
	size := pathSize(p.graph)
	groups, err := p.storeGroups(size)
	if err != nil {
		return nil, err
	}
	var root []layers.Entry
	if set.ContentsMode == layers.Copy {
		root, err = layers.Contents(set.Contents, layers.Copy)
	} else {
		root, err = linked()
	}
	if err != nil {
		return nil, err
	}
	docs, err := p.sbomEntries(ctx)
	if err != nil {
		return nil, err
	}
	// Later entries win (Layer.Each merges): the contents' and the user's
	// files over the SBOM's directories.
	root = append(append(docs, root...), custom...)
	if set.Script != nil {
		if root, err = p.runScript(ctx, layers.Merge(root)); err != nil {
			return nil, err
		}
	}
	plan := make([]recipe.Layer, 0, len(groups)+1)
	for _, g := range groups {
		var n int64
		for _, sp := range g {
			n += size(sp)
		}
		plan = append(plan, recipe.Layer{StorePaths: g, Uid: set.Uid, Gid: set.Gid, Comment: comment(g, false), Rules: rules, Size: n})
	}
	switch {
	case set.ContentsMode == layers.Copy && len(plan) > 0:
		top := &plan[len(plan)-1]
		top.Extra, top.Comment, top.Size = root, comment(top.StorePaths, len(root) > 0), 0
	case set.ContentsMode == layers.Copy || len(root) > 0:
		plan = append(plan, recipe.Layer{Extra: root, Uid: set.Uid, Gid: set.Gid, Comment: comment(nil, len(root) > 0), Rules: rules})
	}
	return plan, nil
}

// storeGroups splits the closure into layers of store paths with the
// strategy of the settings, leaving room for the reserved other layers (a
// base image's, the Nix database) besides the customisation layer.
func (p *planner) storeGroups(size func(string) int64) ([][]string, error) {
	if !p.set.IncludeStorePaths {
		return nil, nil
	}
	if p.stores.Len() == 0 {
		return nil, nil // every store path is in a cached layer
	}
	n, err := p.budget()
	if err != nil {
		return nil, err
	}
	strategy, err := layering.Lookup(p.set.Layering)
	if err != nil {
		return nil, err
	}
	inSet, err := p.layeringSet()
	if err != nil {
		return nil, err
	}
	return strategy(layering.Input{Graph: p.stores, Roots: inGraph(p.stores, p.set.Contents), Size: size, Budget: n, Set: inSet, Pipeline: p.set.Pipeline})
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

// storePaths returns the store paths of g, in its order.
func storePaths(g *registration.Graph) []string {
	out := make([]string, 0, g.Len())
	for _, info := range g.Paths() {
		out = append(out, info.Path)
	}
	return out
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
