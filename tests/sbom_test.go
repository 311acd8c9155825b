package tests

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/sbom"
)

// sbomPackage is what a document says of one store path.
type sbomPackage struct {
	SHA256, License, Homepage string
}

// sbomPackages reads a document in format f with its format's library
// (tools-golang, cyclonedx-go; spdxlib validates the SPDX one) and returns
// its packages by store path: SPDX packageFileName and checksum,
// CycloneDX bom-ref and SHA-256 hash.
func sbomPackages(t *testing.T, f sbom.Format, doc []byte) map[string]sbomPackage {
	t.Helper()
	out := map[string]sbomPackage{}
	if f == sbom.SPDXJSON {
		d, err := spdxjson.Read(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("tools-golang cannot read the SPDX document: %v", err)
		}
		if err := spdxlib.ValidateDocument(d); err != nil || d.SPDXVersion != "SPDX-2.3" {
			t.Errorf("the SPDX document (%s) is not valid: %v", d.SPDXVersion, err)
		}
		for _, p := range d.Packages {
			for _, c := range p.PackageChecksums {
				if p.PackageFileName != "" && c.Algorithm == common.SHA256 {
					out[p.PackageFileName] = sbomPackage{c.Value, p.PackageLicenseDeclared, p.PackageHomePage}
				}
			}
		}
		return out
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatJSON).Decode(&bom); err != nil || bom.SpecVersion != cdx.SpecVersion1_6 {
		t.Fatalf("cyclonedx-go cannot read the CycloneDX 1.6 document (%v): version %s", err, bom.SpecVersion)
	}
	if bom.Components == nil {
		return out
	}
	for _, c := range *bom.Components {
		var p sbomPackage
		for _, h := range deref(c.Hashes) {
			if h.Algorithm == cdx.HashAlgoSHA256 {
				p.SHA256 = h.Value
			}
		}
		for _, l := range deref((*[]cdx.LicenseChoice)(c.Licenses)) {
			p.License = l.Expression
		}
		for _, r := range deref(c.ExternalReferences) {
			if r.Type == cdx.ERTypeWebsite {
				p.Homepage = r.URL
			}
		}
		if strings.HasPrefix(c.BOMRef, "/") {
			out[c.BOMRef] = p
		}
	}
	return out
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

// hostClosure returns the closure of roots in the host's store, each path
// with its narHash in base16, as the documents give it.
func hostClosure(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range lines(testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"-q", "--requisites"}, roots...)...)) {
		h, err := registration.ParseNarHash(strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-q", "--hash", p)))
		if err != nil {
			t.Fatal(err)
		}
		out[p] = hex.EncodeToString(h.Digest())
	}
	return out
}

// checkListed fails unless doc (in format f) lists every path of closure
// with its narHash.
func checkListed(t *testing.T, f sbom.Format, doc []byte, closure map[string]string) map[string]sbomPackage {
	t.Helper()
	got := sbomPackages(t, f, doc)
	for p, h := range closure {
		if got[p].SHA256 != h {
			t.Errorf("%s document: %s has SHA-256 %q, want its narHash %s", f, p, got[p].SHA256, h)
		}
	}
	return got
}

// sbomFile reads the document in format f from an unpacked image.
func sbomFile(t *testing.T, rootfs string, f sbom.Format) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(rootfs, f.Path()))
	if err != nil {
		t.Fatalf("the image has no %s document: %v", f, err)
	}
	return data
}

// sbomImagesExpr builds the hello image with meta on hello and an sbom
// entry for busybox as docker-archive (layered), OCI layout (buildImage)
// and stream script, then hello and busybox themselves.
const sbomImagesExpr = `let
  hello = testPkgs.hello // { meta = { license = [ { spdxId = "MIT"; } { spdxId = "Apache-2.0"; } ]; homepage = "https://example.org/hello"; description = "says hello"; }; };
  args = { name = "sbom-img"; tag = "v1"; contents = [ hello testPkgs.bbBin ]; config.Cmd = [ "/bin/hello" ];
    sbom = [ { path = testPkgs.bbBin; license = "GPL-2.0-only"; } { name = "vendored"; version = "1.2"; } ]; };
in [ (nl.buildLayeredImage args) (nl.buildImage (args // { format = "oci-layout"; })) (nl.streamLayeredImage args) testPkgs.hello testPkgs.bbBin ]`

// TestSBOMInImage: every image of the three builders carries both
// documents, listing every store path of its closure with its narHash,
// the derivations' meta and the sbom argument's entries; `nixlayer sbom`
// prints the file the image holds; a rebuild gives the same bytes; syft
// reads each document.
func TestSBOMInImage(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, sbomImagesExpr))
	if len(paths) != 5 {
		t.Fatalf("nix-build printed %q", paths)
	}
	closure := hostClosure(t, paths[3:]...)
	hello, bb := paths[3], paths[4]
	streamed := filepath.Join(t.TempDir(), "streamed.tar")
	testutil.Run(t, "", nil, paths[2], "-o", streamed)
	fromLayout := filepath.Join(t.TempDir(), "layout.tar")
	testutil.Run(t, "", nil, "skopeo", "copy", "-q", "oci:"+paths[1]+":v1", "docker-archive:"+fromLayout)
	images := []struct{ kind, path, unpack string }{
		{"docker-archive", paths[0], paths[0]},
		{"oci-layout", paths[1], fromLayout},
		{"stream script", paths[2], streamed},
	}
	var first map[sbom.Format][]byte
	for _, img := range images {
		t.Run(img.kind, func(t *testing.T) {
			rootfs := testutil.Unpack(t, img.unpack)
			docs := map[sbom.Format][]byte{}
			for _, f := range sbom.Formats {
				doc := sbomFile(t, rootfs, f)
				docs[f] = doc
				got := checkListed(t, f, doc, closure)
				if p := got[hello]; p.License != "MIT AND Apache-2.0" || p.Homepage != "https://example.org/hello" {
					t.Errorf("%s: hello has license %q homepage %q, want hello's meta", f, p.License, p.Homepage)
				}
				if p := got[bb]; p.License != "GPL-2.0-only" {
					t.Errorf("%s: busybox has license %q, want the sbom argument's GPL-2.0-only", f, p.License)
				}
				if !strings.Contains(string(doc), `"vendored"`) {
					t.Errorf("%s: no package vendored (an extra entry of the sbom argument)", f)
				}
				printed := testutil.Run(t, "", nil, testutil.Exe(t), "sbom", "--format", string(f), img.path)
				if printed != string(doc) {
					t.Errorf("nixlayer sbom --format %s %s printed another document than the image's file", f, img.path)
				}
			}
			if first == nil {
				first = docs
			}
		})
	}
	t.Run("reproducible", func(t *testing.T) {
		if out := testutil.NixBuild(t, sbomImagesExpr, "--check"); strings.Fields(out)[0] != paths[0] {
			t.Errorf("nix-build --check gave %s", out)
		}
	})
	t.Run("syft", func(t *testing.T) {
		syft := syftBinary(t)
		dir := t.TempDir()
		for f, doc := range first {
			src := filepath.Join(dir, filepath.Base(f.Path()))
			if err := os.WriteFile(src, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			out := testutil.Run(t, dir, syftEnv, syft, "convert", src, "-o", "spdx-json")
			for p := range closure {
				if hash, _, _ := strings.Cut(filepath.Base(p), "-"); !strings.Contains(out, "outputhash="+hash) {
					t.Errorf("syft convert %s lost %s", filepath.Base(src), p)
				}
			}
		}
		out := testutil.Run(t, "", syftEnv, syft, "scan", "docker-archive:"+paths[0], "-q", "--select-catalogers", "+sbom-cataloger", "-o", "cyclonedx-json")
		for p := range closure {
			if hash, _, _ := strings.Cut(filepath.Base(p), "-"); !strings.Contains(out, "outputhash="+hash) {
				t.Errorf("syft scan of the image found no package for %s", p)
			}
		}
	})
}

var syftEnv = []string{"SYFT_CHECK_FOR_APP_UPDATE=false"}

// syftBinary returns the syft tests/setup.sh installs, or one on PATH.
func syftBinary(t *testing.T) string {
	t.Helper()
	return cachedTool(t, "syft", "version")
}

// TestSBOMBaseAndOff: an image on a base with a Nix database lists the
// base's store paths too; sbom = false leaves the documents out, and
// `nixlayer sbom` says so with a non-zero exit.
func TestSBOMBaseAndOff(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, `let
  base = nl.buildLayeredImageWithNixDb { name = "sbom-base"; tag = "v1"; contents = [ testPkgs.twins ]; };
in [ (nl.buildLayeredImage { name = "on-base"; tag = "v1"; fromImage = base; contents = [ testPkgs.hello ]; })
     (nl.buildLayeredImage { name = "no-sbom"; tag = "v1"; contents = [ testPkgs.hello ]; sbom = false; })
     testPkgs.hello testPkgs.twins ]`))
	if len(paths) != 4 {
		t.Fatalf("nix-build printed %q", paths)
	}
	onBase, off := paths[0], paths[1]
	t.Run("base's paths", func(t *testing.T) {
		closure := hostClosure(t, paths[2:]...)
		rootfs := testutil.Unpack(t, onBase)
		for _, f := range sbom.Formats {
			checkListed(t, f, sbomFile(t, rootfs, f), closure)
		}
	})
	t.Run("sbom = false", func(t *testing.T) {
		rootfs := testutil.Unpack(t, off)
		if _, err := os.Stat(filepath.Join(rootfs, sbom.Dir)); !os.IsNotExist(err) {
			t.Errorf("an image built with sbom = false has /%s: %v", sbom.Dir, err)
		}
		_, errOut, err := testutil.RunErr("", nil, testutil.Exe(t), "sbom", off)
		if err == nil || !strings.Contains(errOut, "sbom = false") {
			t.Errorf("nixlayer sbom of an image without one: %v, %q", err, errOut)
		}
	})
}

// TestSBOMNixMeta evaluates nix/sbom.nix on derivation-like sets: a
// license becomes its spdxId, a list of them "A AND B"; a license without
// an spdxId, or a plain string, leaves the license out; a list of
// homepages gives the first; empty fields and non-derivations give nothing.
func TestSBOMNixMeta(t *testing.T) {
	testutil.RequireTool(t, "nix-instantiate")
	expr := `import ` + filepath.Join(testutil.RepoRoot(t), "nix", "sbom.nix") + ` [
  { outPath = "/nix/store/a-one"; meta = { license = { spdxId = "MIT"; }; homepage = [ "https://one" "https://two" ]; description = "one"; }; }
  { outPath = "/nix/store/b-two"; meta = { license = [ { spdxId = "MIT"; } { shortName = "unfree"; } ]; description = ""; }; }
  { outPath = "/nix/store/c-three"; meta.license = "MIT"; }
  { outPath = "/nix/store/d-four"; }
  "/nix/store/e-five"
  { outPath = "/nix/store/f-six"; meta.license = [ { spdxId = "GPL-2.0-only"; } { spdxId = "BSD-3-Clause"; } ]; }
]`
	got := testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", "-E", expr)
	want := `{"/nix/store/a-one":{"description":"one","homepage":"https://one","license":"MIT"},"/nix/store/f-six":{"license":"GPL-2.0-only AND BSD-3-Clause"}}`
	if strings.TrimSpace(got) != want {
		t.Errorf("nix/sbom.nix gave\n%s\nwant\n%s", got, want)
	}
}
