package image_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
	"github.com/nixlayer/nixlayer/spec"
)

// spdxDoc is the part of an SPDX document the tests read.
type spdxDoc struct {
	Packages []struct {
		SPDXID          string `json:"SPDXID"`
		Name            string `json:"name"`
		Version         string `json:"versionInfo"`
		FileName        string `json:"packageFileName"`
		LicenseDeclared string `json:"licenseDeclared"`
		Homepage        string `json:"homepage"`
		Checksums       []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
	} `json:"packages"`
	Relationships []struct {
		From string `json:"spdxElementId"`
		To   string `json:"relatedSpdxElement"`
		Type string `json:"relationshipType"`
	} `json:"relationships"`
}

func readSPDX(t *testing.T, path string) *spdxDoc {
	t.Helper()
	data, err := embedded.Read(path, sbom.SPDXJSON)
	if err != nil {
		t.Fatal(err)
	}
	var d spdxDoc
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("reading the SPDX document of %s: %v", path, err)
	}
	return &d
}

// TestBuildSBOM: a built image's SPDX document lists every store path of
// the closure with its narHash, the stream script of the same image
// carries the same documents, and the image depends on its contents and
// on the store paths its config names.
func TestBuildSBOM(t *testing.T) {
	s := newTestStore(t)
	full, err := nixdb.Complete(context.Background(), s.graph, false)
	if err != nil {
		t.Fatal(err)
	}
	sp := helloSpec(s, imgformat.DockerArchive, layers.Gzip)
	sp.Config = json.RawMessage(`{"Entrypoint":["` + s.busybox + `/bin/sh"]}`)
	out := build(t, s, sp, "")
	d := readSPDX(t, out)
	byPath, sums := map[string]string{}, map[string]string{}
	for _, p := range d.Packages {
		if p.FileName != "" && len(p.Checksums) == 1 && p.Checksums[0].Algorithm == "SHA256" {
			byPath[p.FileName], sums[p.SPDXID] = p.SPDXID, p.Checksums[0].Value
		}
	}
	for _, info := range full.Paths() {
		id, ok := byPath[info.Path]
		if !ok {
			t.Errorf("the SPDX document has no package for %s with a SHA256", info.Path)
			continue
		}
		h, err := registration.ParseNarHash(info.NarHash)
		if err != nil {
			t.Fatal(err)
		}
		if got := sums[id]; got != hex.EncodeToString(h.Digest()) {
			t.Errorf("%s: SHA256 %s, want the narHash %s", info.Path, got, info.NarHash)
		}
	}
	depends := map[string]bool{}
	for _, r := range d.Relationships {
		if r.From == "SPDXRef-Image" && r.Type == "DEPENDS_ON" {
			depends[r.To] = true
		}
	}
	for _, root := range []string{s.hello, s.busybox} {
		if !depends[byPath[root]] {
			t.Errorf("the image does not DEPENDS_ON %s (contents, config): %v", root, depends)
		}
	}

	sp.Stream, sp.Compression = true, ""
	script := build(t, s, sp, "")
	for _, f := range sbom.Formats {
		a, err := embedded.Read(out, f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := embedded.Read(script, f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the stream script's document differs from the built image's", f)
		}
	}
}

// TestBuildSBOMArgument: sbom = false leaves the documents out; entries
// of the sbom argument override the derivations' meta field by field and
// add packages that are not store paths; bad entries are errors.
func TestBuildSBOMArgument(t *testing.T) {
	s := newTestStore(t)
	t.Run("false", func(t *testing.T) {
		sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
		sp.SBOM = json.RawMessage(`false`)
		out := build(t, s, sp, "")
		for _, f := range sbom.Formats {
			if _, err := embedded.Read(out, f); !errors.Is(err, embedded.ErrNoSBOM) {
				t.Errorf("%s: error %v, want ErrNoSBOM", f, err)
			}
		}
	})
	t.Run("entries", func(t *testing.T) {
		sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
		sp.SBOMMeta = map[string]sbom.Meta{s.hello: {License: "GPL-3.0-or-later", Homepage: "https://example.org/hello", Description: "says hello"}}
		sp.SBOM = json.RawMessage(`[{"path":"` + s.hello + `","license":"MIT"},{"name":"vendored-lib","version":"1.2","license":"Apache-2.0"}]`)
		d := readSPDX(t, build(t, s, sp, ""))
		var hello, vendored bool
		for _, p := range d.Packages {
			switch {
			case p.FileName == s.hello:
				hello = true
				if p.LicenseDeclared != "MIT" || p.Homepage != "https://example.org/hello" {
					t.Errorf("hello: license %q homepage %q, want the sbom argument's MIT over the meta's license, the meta's homepage", p.LicenseDeclared, p.Homepage)
				}
			case p.Name == "vendored-lib":
				vendored = true
				if p.Version != "1.2" || p.LicenseDeclared != "Apache-2.0" {
					t.Errorf("vendored-lib: version %q license %q", p.Version, p.LicenseDeclared)
				}
			}
		}
		if !hello || !vendored {
			t.Errorf("packages: hello %v, vendored-lib %v", hello, vendored)
		}
	})
	for _, tt := range []struct{ name, sbom, want string }{
		{"not a list", `{"x":{}}`, "sbom must be true, false or a list of entries"},
		{"unknown field", `[{"path":"/nix/store/x","licence":"MIT"}]`, "licence"},
		{"not a store path", `[{"path":"hello","license":"MIT"}]`, `sbom entry 1: path "hello" is not a store path`},
		{"twice", `[{"path":"` + s.hello + `"},{"path":"` + s.hello + `"}]`, "sbom entry 2: store path " + s.hello + " has an entry already"},
		{"extra without a name", `[{"version":"1"}]`, "sbom extra entry 1 has no name"},
		{"not in the closure", `[{"path":"` + filepath.Join(s.dir, "00000000000000000000000000000000-gone") + `","license":"MIT"}]`, "not in the image's closure"},
		{"bad license", `[{"path":"` + s.hello + `","license":"MIT and"}]`, "not an SPDX license expression"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := helloSpec(s, imgformat.OCILayout, layers.Gzip)
			sp.SBOM = json.RawMessage(tt.sbom)
			err := image.Build(context.Background(), &image.Request{Spec: sp, Graph: s.graph, Out: filepath.Join(t.TempDir(), "img"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}
