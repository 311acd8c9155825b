package sbom

import (
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"

	"github.com/nixlayer/nixlayer/registration"
)

// Input is everything the documents are made from. Nothing else enters
// them: no clock, no randomness, no host.
type Input struct {
	// Graph is the image's closure, every path with its narHash (see
	// nixdb.Complete for a graph read without them). A base image's Nix
	// store paths belong here too when its Nix database lists them.
	Graph *registration.Graph
	// Image names the image: the documents' root.
	Image Image
	// Roots are the store paths the image was made from (its contents and
	// the store paths its config names): the image depends on them directly.
	// Empty means the paths of Graph that no other path references.
	Roots []string
	// Meta adds to or overrides, by store path, what the closure says of a
	// path: Nix's meta of a derivation, or the user's sbom argument.
	Meta map[string]Meta
	// Extra are packages that are not store paths (software the user
	// vendored, say), added by the sbom argument. Each needs a Name.
	Extra []Meta
	// ToolVersion is nixlayer's version, written in the documents'
	// creator/tool fields; empty writes none.
	ToolVersion string
}

// Image identifies the image a document describes. The documents written
// into an image leave Name, Tag and Digest empty: nothing in a layer may
// depend on the image's name or tag (they would keep two images of the
// same contents from sharing the layer, and a tag that is Nix's output
// hash would leave the temporary hash of a `nix-build --check` or a
// content-addressed build inside a compressed layer). The image is then
// named by its contents (see ContentID).
type Image struct {
	// Name is the image's name as in its reference ("hello",
	// "registry/app"), for documents made outside an image; empty names
	// the image by its contents.
	Name string
	Tag  string
	// Created is the documents' date: the layers' mtime when they go into
	// an image (not the image's created date, which no layer holds).
	Created time.Time
	// Digest is the image's manifest digest ("sha256:<hex>") when known,
	// with Name. The documents written into an image cannot know it (it
	// depends on them); a document made after a push can.
	Digest string
}

// Meta is what is known of a package beyond its store path. Empty fields
// keep what the closure says: the name and version parsed from the store
// path name, no license, homepage or description.
type Meta struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// License is an SPDX license expression: "MIT", "GPL-3.0-or-later",
	// "MIT OR Apache-2.0", "LicenseRef-custom".
	License     string `json:"license,omitempty"`
	Homepage    string `json:"homepage,omitempty"`
	Description string `json:"description,omitempty"`
	// PURL replaces the package URL nixlayer makes ("pkg:nix/…"), for
	// example to name the upstream package ("pkg:generic/openssl@3.0.13").
	PURL string `json:"purl,omitempty"`
}

// pkg is one package of the documents, resolved from the input.
type pkg struct {
	storePath string // empty for an extra package
	hashPart  string // the store path's hash (nix32)
	name      string
	version   string
	narHex    string // sha256 of the NAR, base16
	narSize   uint64
	meta      Meta
	purl      string
	refs      []string // store paths it references, itself left out
}

// ref is the package's identity in a CycloneDX document (bom-ref).
func (p *pkg) ref(i int) string {
	if p.storePath != "" {
		return p.storePath
	}
	return fmt.Sprintf("extra-%d", i)
}

// model is the input resolved: every package, sorted, and the image's
// direct dependencies.
type model struct {
	image    Image
	imageRef string // "name:tag", or the content ID when the image has no name
	content  string // ContentID of the packages and roots
	paths    []pkg  // sorted by store path
	extras   []pkg  // sorted by name, version
	roots    []string
	tool     string
}

func resolve(in Input) (*model, error) {
	if in.Image.Created.IsZero() {
		return nil, fmt.Errorf("making the SBOM of %s: the image's created date is not set", in.Image.Name)
	}
	if in.Image.Digest != "" {
		if in.Image.Name == "" {
			return nil, fmt.Errorf("making the SBOM: image digest %s given without the image's name", in.Image.Digest)
		}
		if _, err := v1.NewHash(in.Image.Digest); err != nil {
			return nil, fmt.Errorf("making the SBOM of %s: image digest %q: %w", in.Image.Name, in.Image.Digest, err)
		}
	}
	m := &model{image: in.Image, tool: in.ToolVersion}
	for p := range in.Meta {
		if _, ok := in.Graph.Lookup(p); !ok {
			return nil, fmt.Errorf("sbom entry for %s: the store path is not in the image's closure", p)
		}
	}
	for _, info := range in.Graph.Paths() {
		p, err := storePackage(info, in.Meta[info.Path])
		if err != nil {
			return nil, err
		}
		m.paths = append(m.paths, p)
	}
	extras, err := extraPackages(in.Extra)
	if err != nil {
		return nil, err
	}
	m.extras = extras
	if m.roots, err = roots(in.Graph, in.Roots); err != nil {
		return nil, err
	}
	if m.content, err = m.contentID(); err != nil {
		return nil, err
	}
	m.imageRef = in.Image.Name
	switch {
	case m.imageRef == "":
		m.imageRef = contentName + "-" + m.content
	case in.Image.Tag != "":
		m.imageRef += ":" + in.Image.Tag
	}
	return m, nil
}

func storePackage(info registration.PathInfo, meta Meta) (pkg, error) {
	if info.NarHash == "" {
		return pkg{}, fmt.Errorf("store path %s has no narHash: complete the closure graph first", info.Path)
	}
	h, err := registration.ParseNarHash(info.NarHash)
	if err != nil {
		return pkg{}, fmt.Errorf("store path %s: %w", info.Path, err)
	}
	hashPart, storeName, _ := strings.Cut(path.Base(info.Path), "-")
	name, version := ParseDrvName(storeName)
	if name == "" {
		// "-1.0": Nix's name is empty, which no format allows.
		name = storeName
	}
	p := pkg{
		storePath: info.Path, hashPart: hashPart, name: name, version: version,
		narHex: hex.EncodeToString(h.Digest()), narSize: info.NarSize, meta: meta,
	}
	overrideNames(&p)
	if err := checkMeta(meta, info.Path); err != nil {
		return pkg{}, err
	}
	p.purl = meta.PURL
	if p.purl == "" {
		p.purl = packageurl.NewPackageURL("nix", "", p.name, p.version, packageurl.QualifiersFromMap(map[string]string{
			"checksum":   "sha256:" + p.narHex,
			"outputhash": hashPart,
		}), "").ToString()
	}
	for _, r := range info.References {
		if r != info.Path {
			p.refs = append(p.refs, r)
		}
	}
	return p, nil
}

func overrideNames(p *pkg) {
	if p.meta.Name != "" {
		p.name = p.meta.Name
	}
	if p.meta.Version != "" {
		p.version = p.meta.Version
	}
}

func extraPackages(extras []Meta) ([]pkg, error) {
	out := make([]pkg, 0, len(extras))
	for i, e := range extras {
		if e.Name == "" {
			return nil, fmt.Errorf("sbom extra entry %d has no name", i+1)
		}
		if err := checkMeta(e, e.Name); err != nil {
			return nil, err
		}
		p := pkg{meta: e, purl: e.PURL}
		overrideNames(&p)
		if p.purl == "" {
			p.purl = packageurl.NewPackageURL("generic", "", p.name, p.version, nil, "").ToString()
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].version < out[j].version
	})
	for i := 1; i < len(out); i++ {
		if out[i].name == out[i-1].name && out[i].version == out[i-1].version {
			return nil, fmt.Errorf("sbom extra entry %s %s is given twice", out[i].name, out[i].version)
		}
	}
	return out, nil
}

// checkMeta rejects what would make a document invalid.
func checkMeta(m Meta, what string) error {
	if m.License != "" {
		if err := CheckLicense(m.License); err != nil {
			return fmt.Errorf("sbom entry for %s: %w", what, err)
		}
	}
	if m.PURL != "" {
		if _, err := packageurl.FromString(m.PURL); err != nil {
			return fmt.Errorf("sbom entry for %s: purl %q: %w", what, m.PURL, err)
		}
	}
	for _, f := range [][2]string{{"name", m.Name}, {"version", m.Version}, {"homepage", m.Homepage}, {"purl", m.PURL}} {
		if strings.ContainsFunc(f[1], unicode.IsControl) {
			return fmt.Errorf("sbom entry for %s: %s %q has a control character", what, f[0], f[1])
		}
	}
	return nil
}

// roots returns the image's direct dependencies: the given roots, sorted,
// or else every path of g that no other path references.
func roots(g *registration.Graph, given []string) ([]string, error) {
	if len(given) > 0 {
		out := append([]string(nil), given...)
		sort.Strings(out)
		out = slices.Compact(out)
		for _, r := range out {
			if _, ok := g.Lookup(r); !ok {
				return nil, fmt.Errorf("sbom root %s is not in the image's closure", r)
			}
		}
		return out, nil
	}
	referenced := map[string]bool{}
	for _, p := range g.Paths() {
		for _, r := range p.References {
			if r != p.Path {
				referenced[r] = true
			}
		}
	}
	var out []string
	for _, p := range g.Paths() {
		if !referenced[p.Path] {
			out = append(out, p.Path)
		}
	}
	return out, nil
}
