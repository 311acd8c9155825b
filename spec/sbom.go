package spec

import (
	"bytes"
	"fmt"
	"strings"

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
