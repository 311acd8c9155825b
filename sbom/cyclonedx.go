package sbom

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
	"github.com/package-url/packageurl-go"
)

// CycloneDX bom-refs: the image's is cdxImageRef, a store path's is the
// store path, an extra package's "extra-<n>" (see pkg.ref).
const cdxImageRef = "image"

// CycloneDX returns the CycloneDX 1.6 JSON document of in.
func CycloneDX(in Input) ([]byte, error) {
	m, err := resolve(in)
	if err != nil {
		return nil, err
	}
	return m.cyclonedx()
}

func (m *model) cyclonedx() ([]byte, error) {
	tool := cdx.Component{Type: cdx.ComponentTypeApplication, Name: "nixlayer", Version: m.tool}
	name, version := m.rootName()
	image := cdx.Component{
		BOMRef: cdxImageRef, Type: cdx.ComponentTypeContainer,
		Name: name, Version: version, PackageURL: m.imagePURL(),
	}
	components := make([]cdx.Component, 0, len(m.paths)+len(m.extras))
	deps := make([]cdx.Dependency, 0, len(m.paths)+1)
	imageDeps := append([]string(nil), m.roots...)
	for i := range m.paths {
		p := &m.paths[i]
		components = append(components, cdxComponent(p, i))
		d := cdx.Dependency{Ref: p.ref(i)}
		if len(p.refs) > 0 {
			d.Dependencies = &p.refs
		}
		deps = append(deps, d)
	}
	for i := range m.extras {
		components = append(components, cdxComponent(&m.extras[i], i))
		imageDeps = append(imageDeps, m.extras[i].ref(i))
		deps = append(deps, cdx.Dependency{Ref: m.extras[i].ref(i)})
	}
	imageDep := cdx.Dependency{Ref: cdxImageRef}
	if len(imageDeps) > 0 {
		imageDep.Dependencies = &imageDeps
	}
	deps = append([]cdx.Dependency{imageDep}, deps...)
	bom := &cdx.BOM{
		JSONSchema:  "http://cyclonedx.org/schema/bom-1.6.schema.json",
		BOMFormat:   cdx.BOMFormat,
		SpecVersion: cdx.SpecVersion1_6,
		Version:     1,
		Metadata: &cdx.Metadata{
			Timestamp: m.image.Created.UTC().Format(time.RFC3339),
			Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{tool}},
			Component: &image,
		},
		Components:   &components,
		Dependencies: &deps,
	}
	// The serial number is derived from the rest of the document (see
	// contentUUID), so it is unique per content and reproducible.
	return withDerivedID(func(id string) ([]byte, error) {
		bom.SerialNumber = "urn:uuid:" + id
		var buf bytes.Buffer
		enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
		if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
			return nil, fmt.Errorf("writing the CycloneDX document of %s: %w", m.imageRef, err)
		}
		return buf.Bytes(), nil
	})
}

func cdxComponent(p *pkg, i int) cdx.Component {
	c := cdx.Component{
		BOMRef: p.ref(i), Type: cdx.ComponentTypeLibrary,
		Name: p.name, Version: p.version, Description: p.meta.Description, PackageURL: p.purl,
	}
	if p.narHex != "" {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: p.narHex}}
	}
	if p.meta.License != "" {
		c.Licenses = &cdx.Licenses{{Expression: p.meta.License}}
	}
	if p.meta.Homepage != "" {
		c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeWebsite, URL: p.meta.Homepage}}
	}
	if p.storePath != "" {
		c.Properties = &[]cdx.Property{
			{Name: "nix:store-path", Value: p.storePath},
			{Name: "nix:nar-size", Value: strconv.FormatUint(p.narSize, 10)},
		}
	}
	return c
}

// imagePURL is the image's package URL, pkg:oci/<last name component>@<digest>
// with its repository and tag, when the manifest digest is known.
func (m *model) imagePURL() string {
	if m.image.Digest == "" {
		return ""
	}
	name := m.image.Name
	q := map[string]string{"repository_url": name}
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if m.image.Tag != "" {
		q["tag"] = m.image.Tag
	}
	return packageurl.NewPackageURL("oci", "", name, m.image.Digest, packageurl.QualifiersFromMap(q), "").ToString()
}

// uuidSpace is the name space of the documents' UUIDs (RFC 4122 version 5).
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/nixlayer/nixlayer/sbom"))

// withDerivedID writes a document twice: first with an all-zero ID, then
// with the name-based UUID of the first rendering's SHA-256. The ID thus
// depends on every other byte of the document and on nothing else.
func withDerivedID(write func(id string) ([]byte, error)) ([]byte, error) {
	first, err := write(uuid.Nil.String())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(first)
	return write(uuid.NewSHA1(uuidSpace, sum[:]).String())
}
