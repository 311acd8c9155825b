package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/sbom"
)

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
func configStorePaths(set *spec.Settings, g *registration.Graph) []string {
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
