package sbom

import (
	"fmt"
	"path"

	"github.com/nixlayer/nixlayer/layers"
)

// Format is a document format.
type Format string

// The formats nixlayer writes.
const (
	SPDXJSON      Format = "spdx-json"
	CycloneDXJSON Format = "cyclonedx-json"
)

// Formats lists every format, in the order Entries writes them.
var Formats = []Format{SPDXJSON, CycloneDXJSON}

// Dir is where the documents are in an image, relative to its root:
// /var/lib/db/sbom, the directory Wolfi and apko images keep SBOM
// documents in. Scanners find them by their names' endings (see the
// package documentation).
const Dir = "var/lib/db/sbom"

// ParseFormat checks a format name given by a user.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown SBOM format %q: use %s or %s", s, SPDXJSON, CycloneDXJSON)
}

// Path returns where the document in format f is in an image, relative to
// the root: "var/lib/db/sbom/nixlayer.spdx.json" or
// "var/lib/db/sbom/nixlayer.cdx.json".
func (f Format) Path() string {
	switch f {
	case SPDXJSON:
		return path.Join(Dir, "nixlayer.spdx.json")
	case CycloneDXJSON:
		return path.Join(Dir, "nixlayer.cdx.json")
	}
	return ""
}

// MediaType returns the format's media type, the artifactType of a
// referrer that carries such a document.
func (f Format) MediaType() string {
	switch f {
	case SPDXJSON:
		return "application/spdx+json"
	case CycloneDXJSON:
		return "application/vnd.cyclonedx+json"
	}
	return ""
}

// Documents are an image's documents, one per format.
type Documents struct {
	SPDX      []byte
	CycloneDX []byte
}

// Build makes both documents of in.
func Build(in Input) (*Documents, error) {
	m, err := resolve(in)
	if err != nil {
		return nil, err
	}
	s, err := m.spdx()
	if err != nil {
		return nil, err
	}
	c, err := m.cyclonedx()
	if err != nil {
		return nil, err
	}
	return &Documents{SPDX: s, CycloneDX: c}, nil
}

// Get returns the document in format f.
func (d *Documents) Get(f Format) []byte {
	switch f {
	case SPDXJSON:
		return d.SPDX
	case CycloneDXJSON:
		return d.CycloneDX
	}
	return nil
}

// Entries returns the layer entries that put the documents in an image:
// the directories of Dir (mode 0755) and one file per format (mode 0644),
// owned by root, in write order. The layer's writer sets their mtime.
func Entries(d *Documents) []layers.Entry {
	var out []layers.Entry
	for dir := Dir; dir != "."; dir = path.Dir(dir) {
		out = append(out, layers.Dir(dir, 0o755))
	}
	for _, f := range Formats {
		out = append(out, layers.File(f.Path(), 0o644, d.Get(f)))
	}
	layers.Sort(out)
	return out
}
