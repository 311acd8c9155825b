package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/nixlayer/nixlayer/registration"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	appPath   = "/nix/store/s7j39mbjnp2l1hag1zjr963mpds7qr6p-app-0.1"
	helloPath = "/nix/store/ahs5xmynmva59nzxiac2pdyb3p9hnb6k-hello-1.0"
	libbPath  = "/nix/store/zmzbi16ryiiihy4vi4zgnra6x76aapl3-libb-2.0"
)

// testGraph is testdata/closure.json: six store paths built by
// tests/nix, with a self-reference (libb).
func testGraph(t testing.TB) *registration.Graph {
	t.Helper()
	g, err := registration.ReadFile(filepath.Join("testdata", "closure.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// testInput is the golden files' input: every kind of metadata, an image
// named by its contents as in a layer.
func testInput(t testing.TB) Input {
	return Input{
		Graph: testGraph(t),
		Image: Image{Created: time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)},
		Roots: []string{appPath},
		Meta: map[string]Meta{
			appPath:   {Description: "the test app", License: "MIT OR Apache-2.0", Homepage: "https://example.test/app?x=1&y=2"},
			helloPath: {Name: "gnu-hello", Version: "2.12.1", License: "GPL-3.0-or-later"},
		},
		Extra:       []Meta{{Name: "vendored-lib", Version: "3.1", License: "BSD-3-Clause", PURL: "pkg:generic/vendored-lib@3.1"}},
		ToolVersion: "test",
	}
}

func TestGolden(t *testing.T) {
	docs, err := Build(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			golden := filepath.Join("testdata", "golden"+strings.TrimPrefix(filepath.Base(f.Path()), "nixlayer"))
			got := docs.Get(f)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./sbom -run TestGolden -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the %s document differs from %s (sha256 %x, want %x); if the change is meant, run with -update and review the diff",
					f, golden, sha256.Sum256(got), sha256.Sum256(want))
			}
		})
	}
}

func TestReproducible(t *testing.T) {
	a, err := Build(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	// The same closure read again, the metadata in another map, the roots
	// given twice: the same bytes.
	in := testInput(t)
	in.Roots = []string{appPath, appPath}
	b, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	// Named (a document made outside an image): another ID.
	in.Image.Name, in.Image.Tag = "registry.test/app", "v2"
	c, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		if !bytes.Equal(a.Get(f), b.Get(f)) {
			t.Errorf("%s: two builds of the same input differ", f)
		}
		if idOf(t, f, a.Get(f)) == idOf(t, f, c.Get(f)) {
			t.Errorf("%s: the image named by its contents and registry.test/app:v2 have the same document ID %s", f, idOf(t, f, a.Get(f)))
		}
	}
}

// idOf returns a document's namespace (SPDX) or serial number (CycloneDX).
func idOf(t *testing.T, f Format, doc []byte) string {
	t.Helper()
	if f == SPDXJSON {
		return readSPDX(t, doc).DocumentNamespace
	}
	return readCDX(t, doc).SerialNumber
}

func readSPDX(t testing.TB, doc []byte) *spdx.Document {
	t.Helper()
	d, err := spdxjson.Read(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("tools-golang cannot read the SPDX document: %v", err)
	}
	return d
}

func readCDX(t testing.TB, doc []byte) *cdx.BOM {
	t.Helper()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("cyclonedx-go cannot read the CycloneDX document: %v", err)
	}
	return &bom
}

// narHex is the base16 NAR hash of a path of g.
func narHex(t testing.TB, p registration.PathInfo) string {
	t.Helper()
	h, err := registration.ParseNarHash(p.NarHash)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Digest())
}

// TestSPDXContent reads the document back with tools-golang, validates it
// with spdxlib and checks every store path, checksum and dependency.
func TestSPDXContent(t *testing.T) {
	in := testInput(t)
	out, err := SPDX(in)
	if err != nil {
		t.Fatal(err)
	}
	doc := readSPDX(t, out)
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Errorf("spdxlib: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "1970-01-01T00:00:01Z" {
		t.Errorf("version %q, created %q", doc.SPDXVersion, doc.CreationInfo.Created)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, spdxNSPrefix) {
		t.Errorf("namespace %q", doc.DocumentNamespace)
	}
	byFile := map[string]common.ElementID{}
	for _, p := range doc.Packages {
		if p.PackageFileName == "" {
			continue
		}
		byFile[p.PackageFileName] = p.PackageSPDXIdentifier
		info, ok := in.Graph.Lookup(p.PackageFileName)
		if !ok {
			t.Errorf("package %s: %s is not in the closure", p.PackageSPDXIdentifier, p.PackageFileName)
			continue
		}
		if len(p.PackageChecksums) != 1 || p.PackageChecksums[0].Algorithm != common.SHA256 || p.PackageChecksums[0].Value != narHex(t, info) {
			t.Errorf("%s: checksums %v, want the narHash %s", info.Path, p.PackageChecksums, narHex(t, info))
		}
	}
	rels := map[string]bool{}
	for _, r := range doc.Relationships {
		rels[fmt.Sprintf("%s %s %s", r.RefA.ElementRefID, r.Relationship, r.RefB.ElementRefID)] = true
	}
	for _, p := range in.Graph.Paths() {
		id, ok := byFile[p.Path]
		if !ok {
			t.Errorf("store path %s is not a package", p.Path)
			continue
		}
		if !rels["Image CONTAINS "+string(id)] {
			t.Errorf("the image does not contain %s", p.Path)
		}
		for _, r := range p.References {
			want := fmt.Sprintf("%s DEPENDS_ON %s", id, byFile[r])
			if r != p.Path && !rels[want] {
				t.Errorf("missing relationship %s", want)
			}
			if r == p.Path && rels[want] {
				t.Errorf("%s depends on itself", p.Path)
			}
		}
	}
	for _, want := range []string{"DOCUMENT DESCRIBES Image", "Image DEPENDS_ON " + string(byFile[appPath]), "Image CONTAINS Extra-1"} {
		if !rels[want] {
			t.Errorf("missing relationship %s", want)
		}
	}
}

// TestCycloneDXContent reads the document back with cyclonedx-go and
// checks every store path, hash and dependency.
func TestCycloneDXContent(t *testing.T) {
	in := testInput(t)
	out, err := CycloneDX(in)
	if err != nil {
		t.Fatal(err)
	}
	bom := readCDX(t, out)
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Timestamp != "1970-01-01T00:00:01Z" || bom.Metadata.Component.Type != cdx.ComponentTypeContainer {
		t.Errorf("spec %v, timestamp %q, root %+v", bom.SpecVersion, bom.Metadata.Timestamp, bom.Metadata.Component)
	}
	comps := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		comps[c.BOMRef] = c
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		if d.Dependencies != nil {
			deps[d.Ref] = *d.Dependencies
		}
	}
	for _, p := range in.Graph.Paths() {
		c, ok := comps[p.Path]
		if !ok {
			t.Errorf("store path %s is not a component", p.Path)
			continue
		}
		if c.Hashes == nil || len(*c.Hashes) != 1 || (*c.Hashes)[0].Value != narHex(t, p) || (*c.Hashes)[0].Algorithm != cdx.HashAlgoSHA256 {
			t.Errorf("%s: hashes %v, want the narHash %s", p.Path, c.Hashes, narHex(t, p))
		}
		var want []string
		for _, r := range p.References {
			if r != p.Path {
				want = append(want, r)
			}
		}
		if fmt.Sprint(deps[p.Path]) != fmt.Sprint(want) {
			t.Errorf("%s depends on %v, want %v", p.Path, deps[p.Path], want)
		}
	}
	if got := fmt.Sprint(deps[cdxImageRef]); got != "["+appPath+" extra-0]" {
		t.Errorf("the image depends on %s", got)
	}
	if c := comps[helloPath]; c.Name != "gnu-hello" || c.Version != "2.12.1" || (*c.Licenses)[0].Expression != "GPL-3.0-or-later" {
		t.Errorf("hello's metadata was not applied: %+v", c)
	}
}

func TestDefaultRoots(t *testing.T) {
	in := testInput(t)
	in.Roots = nil
	m, err := resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.roots) != "["+appPath+"]" {
		t.Errorf("roots %v, want the one path nothing references", m.roots)
	}
}

func TestPURL(t *testing.T) {
	in := testInput(t)
	in.Image = Image{Name: "registry.test/app", Tag: "v1", Created: in.Image.Created, Digest: "sha256:" + strings.Repeat("ab", 32)}
	m, err := resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want string }{
		{m.paths[0].purl, "pkg:nix/busybox?checksum=sha256:" + narHex(t, in.Graph.Paths()[0]) + "&outputhash=269xkzc4cra8a3pfdrpcd6c2sf9nv873"},
		{m.imagePURL(), "pkg:oci/app@sha256:" + strings.Repeat("ab", 32) + "?repository_url=registry.test%2Fapp&tag=v1"},
		{m.extras[0].purl, "pkg:generic/vendored-lib@3.1"},
	} {
		if c.got != c.want {
			t.Errorf("purl %s, want %s", c.got, c.want)
		}
	}
}

func TestInputErrors(t *testing.T) {
	noHash := []registration.PathInfo{{Path: helloPath}}
	g, err := registration.NewGraph("", noHash)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*Input)
		want   string
	}{
		{"no narHash", func(in *Input) { in.Graph = g; in.Roots = nil; in.Meta = nil }, "store path " + helloPath + " has no narHash"},
		{"meta for a path not in the closure", func(in *Input) { in.Meta["/nix/store/00000000000000000000000000000000-x"] = Meta{} }, "not in the image's closure"},
		{"root not in the closure", func(in *Input) { in.Roots = []string{"/nix/store/00000000000000000000000000000000-x"} }, "sbom root"},
		{"bad license", func(in *Input) { in.Meta[appPath] = Meta{License: "MIT OR"} }, `license "MIT OR"`},
		{"bad purl", func(in *Input) { in.Meta[appPath] = Meta{PURL: "openssl"} }, `purl "openssl"`},
		{"control character", func(in *Input) { in.Meta[appPath] = Meta{Version: "1\n2"} }, "control character"},
		{"extra without name", func(in *Input) { in.Extra = append(in.Extra, Meta{Version: "1"}) }, "extra entry 2 has no name"},
		{"extra twice", func(in *Input) { in.Extra = append(in.Extra, in.Extra[0]) }, "given twice"},
		{"digest without a name", func(in *Input) { in.Image.Digest = "sha256:" + strings.Repeat("ab", 32) }, "without the image's name"},
		{"no created", func(in *Input) { in.Image.Created = time.Time{} }, "created date"},
		{"bad digest", func(in *Input) { in.Image.Name, in.Image.Digest = "app", "sha256:12" }, "image digest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testInput(t)
			c.change(&in)
			_, err := Build(in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestCheckLicense(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"MIT", true},
		{"GPL-2.0+", true},
		{"MIT OR Apache-2.0", true},
		{"(MIT OR Apache-2.0) AND BSD-3-Clause", true},
		{"GPL-2.0-or-later WITH Classpath-exception-2.0", true},
		{"LicenseRef-custom", true},
		{"DocumentRef-other:LicenseRef-x", true},
		{"((MIT))", true},
		{"", false},
		{"MIT OR", false},
		{"AND", false},
		{"(MIT", false},
		{"MIT)", false},
		{"MIT Apache-2.0", false},
		{"GPL WITH", false},
		{"my license", false},
		{"MIT/X11", false},
		{"Ref:LicenseRef-x", false},
	} {
		t.Run(c.in, func(t *testing.T) {
			if err := CheckLicense(c.in); (err == nil) != c.ok {
				t.Errorf("CheckLicense(%q) = %v, want ok=%v", c.in, err, c.ok)
			}
		})
	}
}
