package sbom

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// syft returns the syft that tests/setup.sh builds, or one on PATH. Its
// absence skips the test on a developer's machine and fails it in CI,
// where tests/setup.sh has run.
func syft(t *testing.T) string {
	t.Helper()
	if dir, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(dir, "nixlayer-tools", "bin", "syft"); isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath("syft"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("syft is not installed: tests/setup.sh builds it into ~/.cache/nixlayer-tools/bin")
	}
	t.Skip("SKIP: syft is not installed (tests/setup.sh builds it into ~/.cache/nixlayer-tools/bin)")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// TestSyftReads converts each document with `syft convert` to both
// formats and checks that every store path of the closure is still there
// with its narHash (syft keeps a package's URL, which names both).
func TestSyftReads(t *testing.T) {
	bin := syft(t)
	in := testInput(t)
	docs, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, from := range Formats {
		src := filepath.Join(dir, filepath.Base(from.Path()))
		if err := os.WriteFile(src, docs.Get(from), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, to := range Formats {
			t.Run(string(from)+"-to-"+string(to), func(t *testing.T) {
				out := testutil.Run(t, dir, []string{"SYFT_CHECK_FOR_APP_UPDATE=false"}, bin, "convert", src, "-o", string(to))
				purls := convertedPURLs(t, to, []byte(out))
				for _, p := range missingStorePaths(t, in.Graph, purls) {
					t.Errorf("syft's %s output has no package for %s with its narHash; its package URLs:\n%s", to, p, strings.Join(purls, "\n"))
				}
			})
		}
	}
}

// convertedPURLs reads a document with the format's own library and
// returns its packages' URLs.
func convertedPURLs(t *testing.T, f Format, doc []byte) []string {
	var out []string
	if f == SPDXJSON {
		for _, p := range readSPDX(t, doc).Packages {
			for _, r := range p.PackageExternalReferences {
				if r.RefType == "purl" {
					out = append(out, r.Locator)
				}
			}
		}
		return out
	}
	bom := readCDX(t, bytes.Clone(doc))
	if bom.Components != nil {
		for _, c := range *bom.Components {
			out = append(out, c.PackageURL)
		}
	}
	return out
}

// missingStorePaths returns the store paths of g that no package URL of
// purls names with its narHash.
func missingStorePaths(t *testing.T, g *registration.Graph, purls []string) []string {
	var out []string
	for _, p := range g.Paths() {
		hashPart, _, _ := strings.Cut(filepath.Base(p.Path), "-")
		if !hasStorePath(purls, hashPart, "sha256:"+narHex(t, p)) {
			out = append(out, p.Path)
		}
	}
	return out
}

// hasStorePath reports whether a package URL of list names the store path
// of hash part hashPart and its narHash (syft writes them in canonical
// form, "sha256%3A…", where packageurl-go keeps the colon).
func hasStorePath(list []string, hashPart, narHash string) bool {
	for _, s := range list {
		u, err := packageurl.FromString(s)
		if err != nil {
			continue
		}
		q := u.Qualifiers.Map()
		if u.Type == "nix" && q["outputhash"] == hashPart && q["checksum"] == narHash {
			return true
		}
	}
	return false
}

// TestSyftFindsInImage scans an image whose one layer holds Entries with
// syft's sbom-cataloger (not a default one for images) and checks that it
// finds every store path there, from both documents.
func TestSyftFindsInImage(t *testing.T) {
	bin := syft(t)
	in := testInput(t)
	docs, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var layer bytes.Buffer
	if _, err := layers.WriteFunc(context.Background(), &layer, layers.Entries(Entries(docs)), layers.Options{MTime: time.Unix(1, 0), Compression: layers.None}); err != nil {
		t.Fatal(err)
	}
	archive := testutil.OneLayerArchive(t, "app:v1", func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	out := testutil.Run(t, "", []string{"SYFT_CHECK_FOR_APP_UPDATE=false"}, bin, "scan", "docker-archive:"+archive,
		"-q", "--select-catalogers", "+sbom-cataloger", "-o", "cyclonedx-json")
	purls := convertedPURLs(t, CycloneDXJSON, []byte(out))
	for _, p := range missingStorePaths(t, in.Graph, purls) {
		t.Errorf("syft found no package for %s in the image; its package URLs:\n%s", p, strings.Join(purls, "\n"))
	}
	// Syft lists the two document files too, as components without a URL.
	purls = slices.DeleteFunc(purls, func(s string) bool { return s == "" })
	if n := len(purls); n != 2*(in.Graph.Len()+len(in.Extra)) {
		t.Errorf("syft found %d packages, want each of %d twice (once per document):\n%s", n, in.Graph.Len()+len(in.Extra), strings.Join(purls, "\n"))
	}
}
