package image

import (
	"archive/tar"
	"fmt"
	"io"
	"strings"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/refscan"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/spec"
)

// nix/default.nix makes two derivations whose references are the store
// paths the arguments name, so that those are in the closure graph: one
// for config, symlinks, files, directories, perms and users, whose store
// paths are in the image with their closures, and one for extraCommands,
// runAsRoot and fakeRootCommands, whose store paths are the scripts'
// inputs. Of these the image holds only those that what the scripts leave
// refers to (by hash part, as Nix scans a build's output), with their
// closures: dockerTools makes its customisation layer and its root layer
// as derivations, whose references are what Nix finds in them.

// withoutReferences returns g without the store paths refs (the
// derivations above): their references stay, as roots of the graph, and
// they are not part of the image. Empty refs are skipped. A path of g
// that references one is an error (nothing should).
func withoutReferences(g *registration.Graph, refs ...string) (*registration.Graph, error) {
	drop := map[string]bool{}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if _, ok := g.Lookup(ref); !ok {
			return nil, fmt.Errorf("references %s (the store paths the arguments name) is not in the closure graph", ref)
		}
		drop[ref] = true
	}
	for _, info := range g.Paths() {
		for _, r := range info.References {
			if drop[r] && info.Path != r {
				return nil, fmt.Errorf("store path %s references %s, the references of the arguments: it cannot be left out", info.Path, r)
			}
		}
	}
	return without(g, drop)
}

// scriptOnly returns the store paths of g (which still holds the
// references derivations) that only the scripts' references reach: not
// the contents, the cached layers or the other arguments' references, nor
// anything in their closures. The image holds those of them that what the
// scripts leave refers to (keepReferenced).
func scriptOnly(g *registration.Graph, set *spec.Settings) ([]string, error) {
	if set.ScriptReferences == "" {
		return nil, nil
	}
	info, ok := g.Lookup(set.ScriptReferences)
	if !ok {
		return nil, fmt.Errorf("references %s (the store paths the scripts name) is not in the closure graph", set.ScriptReferences)
	}
	roots := append(inGraph(g, set.Contents), inGraph(g, set.Layers)...)
	if set.References != "" {
		if named, ok := g.Lookup(set.References); ok {
			roots = append(roots, named.References...)
		}
	}
	other, err := g.Closure(roots...)
	if err != nil {
		return nil, err
	}
	reached := map[string]bool{set.ScriptReferences: true}
	for _, p := range other {
		reached[p] = true
	}
	var scripts []string
	for _, r := range info.References {
		if r != set.ScriptReferences {
			scripts = append(scripts, r)
		}
	}
	all, err := g.Closure(scripts...)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		if !reached[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// keepReferenced leaves out of the planner's graphs the store paths only
// the scripts name (p.scriptOnly) that the entries of the image's own
// layer, as the scripts left them, do not refer to, nor the closure of
// those they do.
func (p *planner) keepReferenced(entries []layers.Entry) error {
	if len(p.scriptOnly) == 0 {
		return nil
	}
	found, err := scanEntries(entries, p.graph.StoreDir(), p.scriptOnly)
	if err != nil {
		return err
	}
	keep, err := p.graph.Closure(found...)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, c := range p.scriptOnly {
		drop[c] = true
	}
	for _, k := range keep {
		delete(drop, k)
	}
	if p.graph, err = without(p.graph, drop); err != nil {
		return err
	}
	p.stores, err = without(p.stores, drop)
	return err
}

// scanEntries returns the store paths of candidates whose hash parts the
// entries hold: in their names, symlink targets, and the contents of
// their regular files, each read once as a stream. The files of store
// paths (contents copied to the root) are not read: what they refer to
// is in their closure already.
func scanEntries(entries []layers.Entry, storeDir string, candidates []string) ([]string, error) {
	sc, err := refscan.New(candidates)
	if err != nil {
		return nil, err
	}
	var buf []byte
	for _, e := range entries {
		if sc.Done() {
			break
		}
		for _, s := range []string{e.Name, e.Linkname} {
			sc.Next()
			sc.WriteString(s)
		}
		if e.Type != tar.TypeReg {
			continue
		}
		sc.Next()
		switch {
		case e.Source == "":
			sc.Write(e.Data)
		case strings.HasPrefix(e.Source, storeDir+"/"):
		default:
			if buf == nil {
				buf = make([]byte, 256<<10)
			}
			if err := scanFile(sc, e, buf); err != nil {
				return nil, err
			}
		}
	}
	return sc.Found(), nil
}

// scanFile scans the regular file of entry e (not through a symlink), at
// most its size.
func scanFile(sc *refscan.Scanner, e layers.Entry, buf []byte) error {
	f, err := regularfile.Open(e.Source, true)
	if err != nil {
		return fmt.Errorf("scanning /%s for store paths: %w", e.Name, err)
	}
	defer f.Close()
	if _, err := io.CopyBuffer(sc, io.LimitReader(f, e.Size), buf); err != nil {
		return fmt.Errorf("scanning /%s for store paths: %w", e.Name, err)
	}
	return nil
}
