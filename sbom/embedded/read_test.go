package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/stream"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/sbom"
)

var testDocs = &sbom.Documents{SPDX: []byte("{\"spdx\":2}\n"), CycloneDX: []byte("{\"cdx\":2}\n")}

// writeScript writes a stream script of two layers: an old SBOM in the
// first (as a base made by nixlayer would have), the one to find in the
// second, the customisation layer. With docs nil the image has none.
func writeScript(t *testing.T, docs *sbom.Documents) string {
	t.Helper()
	mtime := time.Unix(1, 0)
	plan := []recipe.Layer{
		{Extra: []layers.Entry{layers.File("etc/hostname", 0o644, []byte("x\n"))}, Comment: "first"},
		{Extra: []layers.Entry{layers.File("etc/motd", 0o644, []byte("hi\n"))}, Comment: "customisation"},
	}
	if docs != nil {
		old := sbom.Entries(&sbom.Documents{SPDX: []byte("old"), CycloneDX: []byte("old")})
		plan[0].Extra = layers.Merge(plan[0].Extra, old)
		plan[1].Extra = layers.Merge(plan[1].Extra, sbom.Entries(docs))
	}
	set := stream.Settings{Ref: name.MustParseReference("app:v1").(name.Tag), Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, MTime: mtime, Compression: layers.Gzip}
	descs, err := stream.Describe(t.Context(), plan, layers.Options{MTime: set.MTime, Compression: set.Compression})
	if err != nil {
		t.Fatal(err)
	}
	s := &stream.Script{Settings: set, Layers: plan, Blobs: descs}
	p := filepath.Join(t.TempDir(), "stream")
	if err := stream.WriteScript(p, "/nonexistent/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	return p
}

// formats writes the image of a stream script in every format Read takes.
func formats(t *testing.T, script string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	s, err := stream.ReadScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := s.Stream(t.Context(), &archive); err != nil {
		t.Fatal(err)
	}
	docker := filepath.Join(dir, "docker.tar")
	if err := os.WriteFile(docker, archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(docker, nil)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"stream script": script, "docker-archive": docker, "oci-layout": filepath.Join(dir, "oci")}
}

func TestRead(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, testDocs)) {
		for _, f := range sbom.Formats {
			t.Run(kind+"/"+string(f), func(t *testing.T) {
				got, err := Read(p, f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, testDocs.Get(f)) {
					t.Errorf("got %q, want %q", got, testDocs.Get(f))
				}
			})
		}
	}
}

// TestReadAll reads both documents at once from every kind of image.
func TestReadAll(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, testDocs)) {
		t.Run(kind, func(t *testing.T) {
			got, err := ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.SPDX, testDocs.SPDX) || !bytes.Equal(got.CycloneDX, testDocs.CycloneDX) {
				t.Errorf("got %q and %q, want %q and %q", got.SPDX, got.CycloneDX, testDocs.SPDX, testDocs.CycloneDX)
			}
		})
	}
	for kind, p := range formats(t, writeScript(t, nil)) {
		if _, err := ReadAll(p); !errors.Is(err, ErrNoSBOM) {
			t.Errorf("%s without documents: error %v, want ErrNoSBOM", kind, err)
		}
	}
}

func TestReadNone(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, nil)) {
		t.Run(kind, func(t *testing.T) {
			_, err := Read(p, sbom.SPDXJSON)
			if !errors.Is(err, ErrNoSBOM) {
				t.Errorf("error %v, want ErrNoSBOM", err)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing"), sbom.SPDXJSON); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

// TestReadScriptSource reads a document that a stream script's recipe
// names by its file on disk (Entry.Source) rather than holding it.
func TestReadScriptSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(src, testDocs.SPDX, 0o644); err != nil {
		t.Fatal(err)
	}
	e := layers.File(sbom.SPDXJSON.Path(), 0o644, nil)
	e.Source, e.Size = src, int64(len(testDocs.SPDX))
	plan := []recipe.Layer{{Extra: layers.Merge([]layers.Entry{e}), Comment: "customisation"}}
	set := stream.Settings{Ref: name.MustParseReference("app:v1").(name.Tag), MTime: time.Unix(1, 0), Compression: layers.None}
	descs, err := stream.Describe(t.Context(), plan, layers.Options{MTime: set.MTime, Compression: set.Compression})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "stream")
	s := &stream.Script{Settings: set, Layers: plan, Blobs: descs}
	if err := stream.WriteScript(p, "/nonexistent/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	got, err := Read(p, sbom.SPDXJSON)
	if err != nil || !bytes.Equal(got, testDocs.SPDX) {
		t.Errorf("got %q, %v; want %q", got, err, testDocs.SPDX)
	}
}
