package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// contentName is the name of the image's root package when the image is
// named by its contents: the SPDX root package and CycloneDX
// metadata.component are "image-contents" at version ContentID, and the
// SPDX document name is "image-contents-" + ContentID.
const contentName = "image-contents"

// contentRecord is one package as the content ID sees it: everything the
// documents say of it.
type contentRecord struct {
	Path        string   `json:"path,omitempty"`
	NarHash     string   `json:"narHash,omitempty"`
	NarSize     uint64   `json:"narSize,omitempty"`
	Name        string   `json:"name"`
	Version     string   `json:"version,omitempty"`
	License     string   `json:"license,omitempty"`
	Homepage    string   `json:"homepage,omitempty"`
	Description string   `json:"description,omitempty"`
	PURL        string   `json:"purl"`
	References  []string `json:"references,omitempty"`
}

// contentID returns "sha256:<hex>" of the model's packages (store paths
// sorted by path, each with its narHash, narSize, references, names and
// metadata; extra packages sorted by name and version) and the image's
// roots, in a canonical JSON encoding. It depends on what the image holds
// and nothing else: not its name, tag, date, output path or nixlayer's
// version.
func (m *model) contentID() (string, error) {
	rec := func(p *pkg) contentRecord {
		return contentRecord{
			Path: p.storePath, NarHash: p.narHex, NarSize: p.narSize, Name: p.name, Version: p.version,
			License: p.meta.License, Homepage: p.meta.Homepage, Description: p.meta.Description,
			PURL: p.purl, References: p.refs,
		}
	}
	var c struct {
		Paths  []contentRecord `json:"paths"`
		Extras []contentRecord `json:"extras"`
		Roots  []string        `json:"roots"`
	}
	for i := range m.paths {
		c.Paths = append(c.Paths, rec(&m.paths[i]))
	}
	for i := range m.extras {
		c.Extras = append(c.Extras, rec(&m.extras[i]))
	}
	c.Roots = m.roots
	data, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("making the SBOM's content ID: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// ContentID returns the ID the documents of in name the image by when it
// has no name: "sha256:<hex>" over the packages the documents list, their
// metadata and the image's roots. Two images of the same contents have
// the same ID whatever their names, tags and dates.
func ContentID(in Input) (string, error) {
	m, err := resolve(in)
	if err != nil {
		return "", err
	}
	return m.content, nil
}

// rootName returns the name and version of the image's root package: its
// name and tag when given, else contentName at the content ID.
func (m *model) rootName() (name, version string) {
	if m.image.Name == "" {
		return contentName, m.content
	}
	return m.image.Name, m.image.Tag
}
