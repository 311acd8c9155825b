package sbom

import (
	"bytes"
	"fmt"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// SPDX identifiers of the document's elements. A store path's is
// "SPDXRef-Nix-<hash>" with the store path's hash part (nix32, so within
// SPDX's [A-Za-z0-9.-]), an extra package's "SPDXRef-Extra-<n>" in the
// order of Input.Extra sorted by name and version.
const (
	spdxImageID  common.ElementID = "Image"
	noAssertion                   = "NOASSERTION"
	spdxNSPrefix                  = "https://spdx.org/spdxdocs/nixlayer/"
)

func spdxID(p *pkg, i int) common.ElementID {
	if p.storePath != "" {
		return common.ElementID("Nix-" + p.hashPart)
	}
	return common.ElementID(fmt.Sprintf("Extra-%d", i+1))
}

// SPDX returns the SPDX 2.3 JSON document of in.
func SPDX(in Input) ([]byte, error) {
	m, err := resolve(in)
	if err != nil {
		return nil, err
	}
	return m.spdx()
}

func (m *model) spdx() ([]byte, error) {
	creator := "nixlayer"
	if m.tool != "" {
		creator += "-" + m.tool
	}
	doc := &spdx.Document{
		SPDXVersion:    spdx.Version,
		DataLicense:    spdx.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   m.imageRef,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: creator}},
			Created:  m.image.Created.UTC().Format(time.RFC3339),
		},
	}
	doc.Packages = append(doc.Packages, m.spdxImage())
	rel := func(a common.ElementID, typ string, b common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: typ,
		})
	}
	rel("DOCUMENT", common.TypeRelationshipDescribe, spdxImageID)
	ids := map[string]common.ElementID{}
	for i := range m.paths {
		p := &m.paths[i]
		ids[p.storePath] = spdxID(p, i)
		doc.Packages = append(doc.Packages, spdxPackage(p, ids[p.storePath]))
		rel(spdxImageID, common.TypeRelationshipContains, ids[p.storePath])
	}
	for i := range m.extras {
		p := &m.extras[i]
		doc.Packages = append(doc.Packages, spdxPackage(p, spdxID(p, i)))
		rel(spdxImageID, common.TypeRelationshipContains, spdxID(p, i))
	}
	for _, r := range m.roots {
		rel(spdxImageID, common.TypeRelationshipDependsOn, ids[r])
	}
	for i := range m.extras {
		rel(spdxImageID, common.TypeRelationshipDependsOn, spdxID(&m.extras[i], i))
	}
	for i := range m.paths {
		p := &m.paths[i]
		for _, r := range p.refs {
			rel(ids[p.storePath], common.TypeRelationshipDependsOn, ids[r])
		}
	}
	// The namespace is derived from the rest of the document (see
	// contentUUID), so it is unique per content and reproducible.
	return withDerivedID(func(id string) ([]byte, error) {
		doc.DocumentNamespace = spdxNSPrefix + id
		var buf bytes.Buffer
		if err := spdxjson.Write(doc, &buf, spdxjson.Indent(" "), spdxjson.EscapeHTML(false)); err != nil {
			return nil, fmt.Errorf("writing the SPDX document of %s: %w", m.imageRef, err)
		}
		return buf.Bytes(), nil
	})
}

func (m *model) spdxImage() *spdx.Package {
	name, version := m.rootName()
	p := &spdx.Package{
		PackageName:             name,
		PackageSPDXIdentifier:   spdxImageID,
		PackageVersion:          version,
		PackageDownloadLocation: noAssertion,
		PrimaryPackagePurpose:   "CONTAINER",
	}
	if purl := m.imagePURL(); purl != "" {
		p.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl}}
	}
	return p
}

func spdxPackage(p *pkg, id common.ElementID) *spdx.Package {
	sp := &spdx.Package{
		PackageName:             p.name,
		PackageSPDXIdentifier:   id,
		PackageVersion:          p.version,
		PackageFileName:         p.storePath,
		PackageDownloadLocation: noAssertion,
		PackageHomePage:         p.meta.Homepage,
		PackageLicenseDeclared:  p.meta.License,
		PackageDescription:      p.meta.Description,
		PackageExternalReferences: []*spdx.PackageExternalReference{
			{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: p.purl},
		},
	}
	if p.narHex != "" {
		sp.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: p.narHex}}
	}
	return sp
}
