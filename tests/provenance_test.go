package tests

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/registration"
)

// provDoc is the part of a provenance statement the tests read.
type provDoc struct {
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		BuildDefinition struct {
			ExternalParameters   map[string]any `json:"externalParameters"`
			ResolvedDependencies []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

// printedProvenance runs `nixlayer provenance args...`, validates what it
// prints with the in-toto and SLSA validators and decodes it.
func printedProvenance(t *testing.T, args ...string) provDoc {
	t.Helper()
	out := testutil.Run(t, "", nil, testutil.Exe(t), append([]string{"provenance"}, args...)...)
	if _, err := provenance.Parse(bytes.TrimSpace([]byte(out)), "nixlayer provenance"); err != nil {
		t.Fatalf("nixlayer provenance printed an invalid statement: %v\n%s", err, out)
	}
	var doc provDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// rawManifest is the manifest skopeo reads at ref, and its digest.
func rawManifest(t *testing.T, ref string) (*v1.Manifest, string) {
	t.Helper()
	raw := testutil.Run(t, "", nil, "skopeo", "inspect", "--raw", "--tls-verify=false", ref)
	m, err := v1.ParseManifest(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("skopeo inspect --raw %s: %v\n%s", ref, err, raw)
	}
	h, _, _ := v1.SHA256(strings.NewReader(raw))
	return m, h.Hex
}

// provAnnotations are what the images of TestProvenanceAndAnnotations
// carry: their meta's, the user's, the default created date.
var provAnnotations = map[string]string{
	"org.opencontainers.image.title":       "prov",
	"org.opencontainers.image.description": "an image with provenance",
	"org.opencontainers.image.licenses":    "MIT AND Apache-2.0",
	"org.opencontainers.image.url":         "https://example.com/prov",
	"org.opencontainers.image.revision":    "0123abc",
	"org.opencontainers.image.source":      "https://example.com/prov.git",
	"org.opencontainers.image.created":     "1970-01-01T00:00:01Z",
}

// TestProvenanceAndAnnotations builds a docker-archive, an OCI layout and
// a stream script with Nix in its sandbox: each carries a statement that
// validates, names the manifest skopeo reads after a push (docker-archive,
// stream) or in the layout as its subject, lists every store path of the
// closure with the NAR hash Nix has, and gets the derivation from Nix; the
// manifests carry the annotations; provenance = false leaves none.
func TestProvenanceAndAnnotations(t *testing.T) {
	exe := testutil.Exe(t)
	paths := strings.Fields(testutil.NixBuild(t, `let args = { name = "prov"; contents = [ testPkgs.hello ];
	    meta = { description = "an image with provenance"; homepage = "https://example.com/prov";
	      license = [ { spdxId = "MIT"; } { spdxId = "Apache-2.0"; } ]; };
	    annotations = { "org.opencontainers.image.revision" = "0123abc"; "org.opencontainers.image.source" = "https://example.com/prov.git"; }; };
	  in [ (nl.buildLayeredImage args) (nl.buildLayeredImage (args // { format = "oci-layout"; })) (nl.streamLayeredImage args)
	       (nl.buildLayeredImage { name = "prov-off"; contents = [ testPkgs.hello ]; provenance = false; }) ]`))
	if len(paths) != 4 {
		t.Fatalf("nix-build printed %q", paths)
	}
	hello := testutil.NixBuild(t, "testPkgs.hello")
	closure := strings.Fields(testutil.Run(t, "", nil, "nix-store", "--query", "--requisites", strings.TrimSpace(hello)))
	reg := registrytest.Start(t)
	for i, kind := range []string{"docker-archive", "oci-layout", "stream"} {
		src := paths[i]
		t.Run(kind, func(t *testing.T) {
			doc := printedProvenance(t, src)
			var m *v1.Manifest
			var digest string
			if kind == "oci-layout" {
				m, digest = rawManifest(t, "oci:"+src)
			} else {
				dest := reg.Host + "/prov/" + kind + ":v1"
				testutil.Run(t, "", nil, exe, "push", "--quiet", "--no-sbom", src, dest)
				m, digest = rawManifest(t, "docker://"+dest)
			}
			if len(doc.Subject) != 1 || doc.Subject[0].Name != "prov" || doc.Subject[0].Digest["sha256"] != digest {
				t.Errorf("subject %+v, want prov at the manifest skopeo reads, %s", doc.Subject, digest)
			}
			checkDependencies(t, doc, closure)
			drv := strings.TrimSpace(testutil.Run(t, "", nil, "nix-store", "--query", "--deriver", src))
			if got := doc.Predicate.BuildDefinition.ExternalParameters["derivation"]; got != drv {
				t.Errorf("externalParameters.derivation = %v, want %s", got, drv)
			}
			if bare := printedProvenance(t, "--no-derivation", src); bare.Predicate.BuildDefinition.ExternalParameters["derivation"] != nil {
				t.Error("--no-derivation printed a derivation")
			}
			if !maps.Equal(m.Annotations, provAnnotations) {
				t.Errorf("manifest annotations %v, want %v", m.Annotations, provAnnotations)
			}
			checkNixLayers(t, m, closure)
		})
	}
	t.Run("oci-layout lists one image", func(t *testing.T) {
		index, err := os.ReadFile(filepath.Join(paths[1], "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var idx v1.IndexManifest
		if err := json.Unmarshal(index, &idx); err != nil || len(idx.Manifests) != 1 {
			t.Fatalf("index.json: %v, %s", err, index)
		}
		testutil.Run(t, "", nil, "umoci", "stat", "--image", paths[1]+":"+idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	})
	t.Run("provenance = false", func(t *testing.T) {
		_, errOut, err := testutil.RunErr("", nil, exe, "provenance", paths[3])
		if err == nil || !strings.Contains(errOut, "has no provenance statement") {
			t.Errorf("nixlayer provenance of an image without one: %v\n%s", err, errOut)
		}
	})
}

// checkDependencies: every store path of closure is a resolved dependency
// with the NAR hash Nix has for it.
func checkDependencies(t *testing.T, doc provDoc, closure []string) {
	t.Helper()
	deps := map[string]string{}
	for _, d := range doc.Predicate.BuildDefinition.ResolvedDependencies {
		deps[d.Name] = d.Digest["sha256"]
	}
	for _, p := range closure {
		nix := strings.TrimSpace(testutil.Run(t, "", nil, "nix-store", "--query", "--hash", p))
		want, err := registration.NarHashBase16(nix)
		if err != nil {
			t.Fatal(err)
		}
		if "sha256:"+deps[p] != want {
			t.Errorf("dependency %s has digest %q, Nix has %s", p, deps[p], want)
		}
	}
}

// checkNixLayers: the layers of m that nix-snapshotter may fill from its
// store name store paths of the closure, numbered from 0.
func checkNixLayers(t *testing.T, m *v1.Manifest, closure []string) {
	t.Helper()
	named := 0
	for _, l := range m.Layers {
		if l.Annotations["containerd.io/snapshot/nix-layer"] != "true" {
			continue
		}
		for i := 0; ; i++ {
			p, ok := l.Annotations["containerd.io/snapshot/nix-store-path."+string(rune('0'+i))]
			if !ok {
				break
			}
			if !strings.Contains(strings.Join(closure, " "), p) {
				t.Errorf("layer %s names %s, not in the closure", l.Digest, p)
			}
			named++
		}
	}
	if named != len(closure) {
		t.Errorf("the layers name %d store paths for nix-snapshotter, want the %d of the closure", named, len(closure))
	}
}

// TestIndexAnnotations: buildImageIndex's annotations are the index's
// own; its images keep theirs.
func TestIndexAnnotations(t *testing.T) {
	src := testutil.NixBuild(t, `nl.buildImageIndex { name = "prov-idx"; tag = "v1"; annotations = { "org.opencontainers.image.description" = "both"; };
	  images = [ (nl.buildLayeredImage { name = "prov-idx"; architecture = "amd64"; contents = [ testPkgs.hello ]; annotations = { "arch" = "amd64"; }; })
	             (nl.streamLayeredImage { name = "prov-idx"; architecture = "arm64"; contents = [ testPkgs.hello ]; annotations = { "arch" = "arm64"; }; }) ]; }`)
	raw := testutil.Run(t, "", nil, "skopeo", "inspect", "--raw", "oci:"+src+":v1")
	idx, err := v1.ParseIndexManifest(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if idx.Annotations["org.opencontainers.image.description"] != "both" || len(idx.Manifests) != 2 {
		t.Errorf("index %s", raw)
	}
	for _, d := range idx.Manifests {
		raw, err := os.ReadFile(filepath.Join(src, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		if err != nil {
			t.Fatal(err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.Annotations["arch"] != d.Platform.Architecture {
			t.Errorf("image for %s has annotations %v", d.Platform.Architecture, m.Annotations)
		}
	}
}

// TestProvenanceBadInput: nixlayer provenance refuses, naming the input,
// what is no image, and a statement over provenance.MaxSize.
func TestProvenanceBadInput(t *testing.T) {
	exe := testutil.Exe(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := bigProvenanceArchive(t, dir)
	for _, tc := range []struct{ name, path, want string }{
		{"FIFO", fifo, "not a regular file"},
		{"/dev/zero", "/dev/zero", "not a regular file"},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
		{"directory", dir, "not an OCI image layout"},
		{"statement over the limit", big, "over the 16777216 byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testutil.RunRSS(t, time.Minute, nil, exe, "provenance", tc.path)
			if m.Err == nil || !strings.Contains(m.Stderr, tc.want) || !strings.Contains(m.Stderr, tc.path) {
				t.Errorf("nixlayer provenance %s: %v\n%s\nwant an error naming it and saying %q", tc.path, m.Err, m.Stderr, tc.want)
			}
			if m.PeakRSS > 100<<20 {
				t.Errorf("%s", m)
			}
		})
	}
}

// bigProvenanceArchive writes a docker-archive whose provenance member is
// one byte over provenance.MaxSize (zeros, sparse on disk where it can).
func bigProvenanceArchive(t *testing.T, dir string) string {
	t.Helper()
	var empty bytes.Buffer
	tar.NewWriter(&empty).Close()
	small := testutil.OneLayerArchive(t, "big:v1", func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(empty.Bytes())), nil
	})
	manifest, _ := testutil.DockerArchive(t, small)
	in, err := os.Open(small)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(dir, "big.tar")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	name := strings.TrimSuffix(manifest[0].Config, ".json") + ".intoto.json"
	size := int64(provenance.MaxSize + 1)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
