package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/sbom"
)

// SBOM is what the image's SBOM documents say beyond its closure: the
// metadata of store paths (Nix's meta of the contents' derivations with the
// user's sbom entries over it, field by field) and extra packages that are
// not store paths.
type SBOM struct {
	Meta  map[string]sbom.Meta
	Extra []sbom.Meta
}

// sbomEntry is one entry of the sbom argument: a store path's metadata
// (Path set) or an extra package that is not a store path (Name set).
type sbomEntry struct {
	Path string `json:"path"`
	sbom.Meta
}

// resolveSBOM reads the sbom and sbomMeta fields: nil when sbom is false.
func resolveSBOM(s *Spec) (*SBOM, error) {
	raw := bytes.TrimSpace(s.SBOM)
	switch string(raw) {
	case "false":
		return nil, nil
	case "", "null", "true":
		raw = nil
	}
	var user []sbomEntry
	if raw != nil {
		if raw[0] != '[' {
			return nil, fmt.Errorf("sbom must be true, false or a list of entries ({ path = <store path>; license = ...; } or { name = ...; version = ...; }), not %s", raw)
		}
		if err := decodeStrict(raw, &user); err != nil {
			return nil, fmt.Errorf("reading sbom (entries of path, name, version, license, homepage, description, purl): %w", err)
		}
	}
	out := &SBOM{}
	set := func(p string, m sbom.Meta) {
		if out.Meta == nil {
			out.Meta = map[string]sbom.Meta{}
		}
		out.Meta[p] = overMeta(out.Meta[p], m)
	}
	for p, m := range s.SBOMMeta {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("sbomMeta: %q is not a store path", p)
		}
		set(p, m)
	}
	seen := map[string]bool{}
	for i, e := range user {
		switch {
		case e.Path == "":
			out.Extra = append(out.Extra, e.Meta)
		case !strings.HasPrefix(e.Path, "/"):
			return nil, fmt.Errorf("sbom entry %d: path %q is not a store path", i+1, e.Path)
		case seen[e.Path]:
			return nil, fmt.Errorf("sbom entry %d: store path %s has an entry already", i+1, e.Path)
		default:
			seen[e.Path] = true
			set(e.Path, e.Meta)
		}
	}
	return out, nil
}

// overMeta returns base with every field that m sets replaced.
func overMeta(base, m sbom.Meta) sbom.Meta {
	for _, f := range []struct{ dst, src *string }{
		{&base.Name, &m.Name}, {&base.Version, &m.Version}, {&base.License, &m.License},
		{&base.Homepage, &m.Homepage}, {&base.Description, &m.Description}, {&base.PURL, &m.PURL},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return base
}

// fullGraph returns the image's closure with every narHash (nixdb.Complete
// hashes the paths that lack one) and the store paths of the base image's
// Nix database, if it has one: what the Nix database layer registers and
// the SBOM lists. It is computed once per plan.
func (p *planner) fullGraph(ctx context.Context) (*registration.Graph, error) {
	if p.full != nil {
		return p.full, nil
	}
	g, err := nixdb.Complete(ctx, p.graph, false)
	if err != nil {
		return nil, err
	}
	if p.base != nil {
		bg, err := baseGraph(ctx, p.base, p.graph.StoreDir(), p.set.TempDir)
		if err != nil {
			return nil, err
		}
		if bg != nil {
			if g, err = nixdb.Merge(bg, g); err != nil {
				return nil, fmt.Errorf("merging the base image's Nix database: %w", err)
			}
		}
	}
	p.full = g
	return g, nil
}

// sbomEntries returns the entries of the SBOM documents for the
// customisation layer, or none when the settings have no SBOM.
func (p *planner) sbomEntries(ctx context.Context) ([]layers.Entry, error) {
	if p.set.SBOM == nil {
		return nil, nil
	}
	g, err := p.fullGraph(ctx)
	if err != nil {
		return nil, err
	}
	// No name, tag or created date: the documents sit in a layer, which
	// must depend on the image's contents only (see sbom.Image).
	docs, err := sbom.Build(sbom.Input{
		Graph: g,
		Image: sbom.Image{Created: p.set.MTime},
		Roots: append(append([]string(nil), p.set.Contents...), configStorePaths(p.set, g)...),
		Meta:  p.set.SBOM.Meta,
		Extra: p.set.SBOM.Extra,
	})
	if err != nil {
		return nil, err
	}
	return sbom.Entries(docs), nil
}

// storePathRE matches a store path's name part in a string of the config.
var storePathRE = regexp.MustCompile(`[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+`)

// configStorePaths returns the store paths of g that the image config
// names (Entrypoint = [ "${hello}/bin/hello" ], Env, Labels...): roots of
// the image besides its contents.
func configStorePaths(set *Settings, g *registration.Graph) []string {
	raw, err := json.Marshal(set.Config)
	if err != nil {
		return nil
	}
	prefix := g.StoreDir() + "/"
	var out []string
	for _, loc := range storePathRE.FindAllIndex(raw, -1) {
		if !bytes.HasSuffix(raw[:loc[0]], []byte(prefix)) {
			continue
		}
		p := prefix + string(raw[loc[0]:loc[1]])
		if _, ok := g.Lookup(p); ok {
			out = append(out, p)
		}
	}
	return out
}
