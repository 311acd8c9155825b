package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/index"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/spec"
	"github.com/nixlayer/nixlayer/stream"
)

// statementDoc is the part of a statement the tests read.
type statementDoc struct {
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

// pushedDigest is the manifest digest of the image at out as push reads
// it (package source).
func pushedDigest(t *testing.T, out string) string {
	t.Helper()
	s, err := source.Open(context.Background(), out, source.WithRecipe())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := partial.Descriptor(s.Image)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.Hex
}

// TestProvenanceEveryFormat builds the hello image in every format and as
// a stream script: each carries a valid statement whose subject is the
// manifest push would put, whose dependencies are the closure with NAR
// hashes, and whose bytes do not depend on the tag.
func TestProvenanceEveryFormat(t *testing.T) {
	s := newTestStore(t)
	for _, f := range append(allFormats, "stream") {
		t.Run(string(f), func(t *testing.T) {
			sp := helloSpec(s, f, layers.Gzip)
			if f == "stream" {
				sp.Format, sp.Stream, sp.Compression = "", true, "none"
			}
			out := build(t, s, sp, "")
			st, err := provenance.Of(out)
			if err != nil {
				t.Fatal(err)
			}
			var doc statementDoc
			if err := json.Unmarshal(st.JSON, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Subject) != 1 || doc.Subject[0].Name != "hello" || doc.Subject[0].Digest["sha256"] != pushedDigest(t, out) {
				t.Errorf("subject %+v, want hello at the pushed manifest %s", doc.Subject, pushedDigest(t, out))
			}
			deps := map[string]string{}
			for _, d := range doc.Predicate.BuildDefinition.ResolvedDependencies {
				deps[d.Name] = d.Digest["sha256"]
			}
			if len(deps) != 2 || len(deps[s.hello]) != 64 || len(deps[s.busybox]) != 64 {
				t.Errorf("dependencies %v, want hello and busybox with NAR hashes", deps)
			}
			if doc.Predicate.BuildDefinition.ExternalParameters["name"] != "hello" {
				t.Errorf("externalParameters %v", doc.Predicate.BuildDefinition.ExternalParameters)
			}
			// The default tag (under Nix, the output hash) is in no statement.
			sp.Tag = nil
			one := mustOf(t, buildTagged(t, s, sp, "tagone"))
			if bytes.Contains(one, []byte("tagone")) || !bytes.Equal(one, mustOf(t, buildTagged(t, s, sp, "tagtwo"))) {
				t.Errorf("the statement depends on the default tag: %s", one)
			}
		})
	}
}

// buildTagged builds sp with the default tag tag.
func buildTagged(t *testing.T, s *testStore, sp *spec.Spec, tag string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image")
	req := &image.Request{Spec: sp, Graph: s.graph, Out: out, Env: spec.Env{DefaultTag: tag, TempDir: t.TempDir(), Version: "test"}}
	if err := image.Build(context.Background(), req); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out
}

func mustOf(t *testing.T, out string) []byte {
	t.Helper()
	st, err := provenance.Of(out)
	if err != nil {
		t.Fatal(err)
	}
	return st.JSON
}

// TestProvenanceOff: provenance = false leaves none, and Of says so.
func TestProvenanceOff(t *testing.T) {
	s := newTestStore(t)
	for _, f := range append(allFormats, "stream") {
		t.Run(string(f), func(t *testing.T) {
			sp := helloSpec(s, f, layers.Gzip)
			if f == "stream" {
				sp.Format, sp.Stream = "", true
			}
			sp.Provenance = ptr(false)
			_, err := provenance.Of(build(t, s, sp, ""))
			if !errors.Is(err, provenance.ErrNoProvenance) {
				t.Errorf("Of: %v, want ErrNoProvenance", err)
			}
		})
	}
}

// TestProvenanceStreamed: the docker-archive a stream script writes
// carries the script's statement.
func TestProvenanceStreamed(t *testing.T) {
	s := newTestStore(t)
	sp := helloSpec(s, "", layers.None)
	sp.Stream = true
	script := build(t, s, sp, "")
	sc, err := stream.ReadScript(script)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Stream(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := mustOf(t, tarPath); !bytes.Equal(got, mustOf(t, script)) {
		t.Errorf("the streamed archive's statement differs from the script's:\n%s\n%s", got, mustOf(t, script))
	}
}

// TestAnnotationsEveryFormat: with annotations, the manifest push reads
// from every format carries the user's, the defaults, and
// nix-snapshotter's on the store-path layer; the provenance's subject is
// that manifest.
func TestAnnotationsEveryFormat(t *testing.T) {
	s := newTestStore(t)
	for _, f := range append(allFormats, "stream") {
		t.Run(string(f), func(t *testing.T) {
			sp := helloSpec(s, f, layers.Gzip)
			sp.Layered = ptr(true)
			if f == "stream" {
				sp.Format, sp.Stream = "", true
			}
			sp.Annotations = json.RawMessage(`{"org.opencontainers.image.revision": "abc123", "org.opencontainers.image.version": "override"}`)
			out := build(t, s, sp, "")
			src, err := source.Open(context.Background(), out, source.WithRecipe())
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			m, err := src.Image.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"org.opencontainers.image.revision": "abc123", "org.opencontainers.image.version": "override",
				"org.opencontainers.image.created": "1970-01-01T00:00:01Z", spec.AnnotationTitle: "hello"}
			if !maps.Equal(m.Annotations, want) {
				t.Errorf("manifest annotations %v, want %v", m.Annotations, want)
			}
			nixLayers := 0
			for _, l := range m.Layers {
				if l.Annotations["containerd.io/snapshot/nix-layer"] == "true" {
					nixLayers++
					if p := l.Annotations["containerd.io/snapshot/nix-store-path.0"]; p != s.busybox && p != s.hello {
						t.Errorf("layer annotations %v", l.Annotations)
					}
				}
			}
			if nixLayers != 2 {
				t.Errorf("%d layers marked for nix-snapshotter, want 2 (hello's and busybox's): %+v", nixLayers, m.Layers)
			}
			var doc statementDoc
			if err := json.Unmarshal(mustOf(t, out), &doc); err != nil {
				t.Fatal(err)
			}
			if got := doc.Subject[0].Digest["sha256"]; got != pushedDigest(t, out) {
				t.Errorf("provenance subject %s, pushed manifest %s", got, pushedDigest(t, out))
			}
		})
	}
}

// TestProvenanceOnBase: an image on a base lists the base by its manifest
// digest among the dependencies, and annotates its manifest with it.
func TestProvenanceOnBase(t *testing.T) {
	s := newTestStore(t)
	b := craftedBase(t, baseEntry{name: "etc/", typ: tar.TypeDir}, baseEntry{name: "etc/os-release", body: "ID=base\n", typ: tar.TypeReg})
	want := pushedDigest(t, b)
	for _, f := range []imgformat.Format{imgformat.DockerArchive, imgformat.OCILayout} {
		t.Run(string(f), func(t *testing.T) {
			sp := helloSpec(s, f, layers.Gzip)
			sp.FromImage = b
			out := build(t, s, sp, "")
			var doc statementDoc
			if err := json.Unmarshal(mustOf(t, out), &doc); err != nil {
				t.Fatal(err)
			}
			deps := doc.Predicate.BuildDefinition.ResolvedDependencies
			if last := deps[len(deps)-1]; last.Name != b || last.Digest["sha256"] != want {
				t.Errorf("last dependency %+v, want the base %s at %s", last, b, want)
			}
			src, err := source.Open(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			m, err := src.Image.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.Annotations[spec.AnnotationBaseDigest] != "sha256:"+want || m.Annotations[spec.AnnotationBaseName] != "base:v1" {
				t.Errorf("annotations %v, want the base's digest sha256:%s and name", m.Annotations, want)
			}
		})
	}
}

// TestProvenanceInIndex: an index of a docker-archive and a stream script
// carries each image's statement, moved to the OCI manifest the index
// holds, readable with base.WithManifest.
func TestProvenanceInIndex(t *testing.T) {
	s := newTestStore(t)
	amd := helloSpec(s, imgformat.DockerArchive, layers.Gzip)
	amd.Architecture = "amd64"
	arm := helloSpec(s, "", layers.None)
	arm.Architecture, arm.Stream = "arm64", true
	ins := []string{build(t, s, amd, ""), build(t, s, arm, "")}
	set, err := (&index.Spec{Name: "idx", Tag: "v1", Images: ins}).Resolve("latest", "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "index")
	if err := index.Build(context.Background(), index.Request{Settings: set, Out: out, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	src, err := source.Open(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	im, err := src.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range im.Manifests {
		st, err := provenance.Of(out, base.WithManifest(d.Digest))
		if err != nil {
			t.Fatalf("images[%d]: %v", i, err)
		}
		var doc statementDoc
		if err := json.Unmarshal(st.JSON, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Subject[0].Digest["sha256"] != d.Digest.Hex {
			t.Errorf("images[%d] (%s): subject %v, want the index's manifest %s", i, d.Platform.Architecture, doc.Subject, d.Digest)
		}
		if doc.Predicate.BuildDefinition.ExternalParameters["architecture"] != d.Platform.Architecture {
			t.Errorf("images[%d]: the statement of another image: %v", i, doc.Predicate.BuildDefinition.ExternalParameters)
		}
	}
}

// TestProvenanceTamperedLayout: a statement blob of an OCI layout that
// does not match its digest, or an annotation naming no blob, is an error.
func TestProvenanceTamperedLayout(t *testing.T) {
	s := newTestStore(t)
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, out string, artifact v1.Hash)
		want error
	}{
		{"statement changed", func(t *testing.T, out string, artifact v1.Hash) {
			raw, err := os.ReadFile(filepath.Join(out, "blobs", "sha256", artifact.Hex))
			if err != nil {
				t.Fatal(err)
			}
			m, err := v1.ParseManifest(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(out, "blobs", "sha256", m.Layers[0].Digest.Hex)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-2] ^= 1
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, base.ErrDigest},
		{"artifact missing", func(t *testing.T, out string, artifact v1.Hash) {
			if err := os.Remove(filepath.Join(out, "blobs", "sha256", artifact.Hex)); err != nil {
				t.Fatal(err)
			}
		}, base.ErrMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := build(t, s, helloSpec(s, imgformat.OCILayout, layers.Gzip), "")
			raw, err := os.ReadFile(filepath.Join(out, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			artifact, err := v1.NewHash(idx.Manifests[0].Annotations["dev.nixlayer.provenance"])
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, out, artifact)
			if _, err := provenance.Of(out); !errors.Is(err, tc.want) {
				t.Errorf("Of: %v, want %v", err, tc.want)
			}
		})
	}
}
