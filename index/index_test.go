package index

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/source"
)

// tarOf is a layer holding one file.
func tarOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(content))
	tw.Close()
	return buf.Bytes()
}

// writeImage writes a docker-archive (oci false) or an OCI layout of an
// image for arch/variant holding the shared layer and one of its own.
func writeImage(t *testing.T, dir, arch, variant string, oci bool) string {
	t.Helper()
	img := empty.Image
	mt := types.DockerUncompressedLayer
	if oci {
		img = mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
		mt = types.OCIUncompressedLayer
	}
	for _, l := range [][]byte{tarOf(t, "shared", "same in every image\n"), tarOf(t, "own", arch+variant+"\n")} {
		var err error
		if img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l, mt), MediaType: mt}); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.Variant, cf.OS = arch, variant, "linux"
	if arch == "-" {
		cf.Architecture = ""
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, arch+variant)
	if oci {
		lp, err := layout.Write(p, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := lp.AppendImage(img); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p += ".tar"
	if err := tarball.WriteToFile(p, nil, img); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, out, format string, images ...string) error {
	t.Helper()
	set, err := (&Spec{Name: "multi", Tag: "v1", Format: format, Images: images}).Resolve("x", "")
	if err != nil {
		return err
	}
	return Build(context.Background(), Request{Settings: set, Out: out, TempDir: t.TempDir()})
}

// TestBuildIndex joins a docker-archive (amd64) and an OCI layout (arm64)
// and reads the index back with go-containerregistry.
func TestBuildIndex(t *testing.T) {
	dir := t.TempDir()
	amd := writeImage(t, dir, "amd64", "", false)
	arm := writeImage(t, dir, "arm64", "v8", true)
	out := filepath.Join(dir, "index")
	if err := build(t, out, "", amd, arm); err != nil {
		t.Fatal(err)
	}
	top, tm := testutil.LayoutIndex(t, out)
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1" {
		t.Fatalf("index.json: %+v, want one index entry named v1", tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	// go-containerregistry's validate takes every layer for gzip.
	if err := validate.Index(idx, validate.Fast); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	im, _ := idx.IndexManifest()
	var got []string
	for _, m := range im.Manifests {
		got = append(got, m.Platform.OS+"/"+m.Platform.Architecture+"/"+m.Platform.Variant+" "+string(m.MediaType))
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		man, _ := img.Manifest()
		for _, l := range man.Layers {
			if l.MediaType != types.OCIUncompressedLayer {
				t.Errorf("%s: layer media type %s, want %s", m.Platform.Architecture, l.MediaType, types.OCIUncompressedLayer)
			}
		}
	}
	want := []string{"linux/amd64/ " + string(types.OCIManifestSchema1), "linux/arm64/v8 " + string(types.OCIManifestSchema1)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("entries %v, want %v", got, want)
	}
	// 2 own layers + 1 shared + 2 configs + 2 manifests + 1 index.
	blobs, _ := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
	if len(blobs) != 8 {
		t.Errorf("%d blobs, want 8 (the shared layer once)", len(blobs))
	}
	// The arm64 entry is the OCI input's manifest, byte for byte.
	lp, _ := layout.ImageIndexFromPath(arm)
	lm, _ := lp.IndexManifest()
	if im.Manifests[1].Digest != lm.Manifests[0].Digest {
		t.Errorf("arm64 manifest %s, the input's is %s", im.Manifests[1].Digest, lm.Manifests[0].Digest)
	}

	// Read back through image/base, as push does.
	r, err := source.OpenIndex(out)
	if err != nil || r == nil {
		t.Fatalf("Open: %v, %v", r, err)
	}
	defer r.Close()
	if err := validate.Index(r, validate.Fast); err != nil {
		t.Errorf("validate.Index of the base reader: %v", err)
	}
	if d, _ := r.Digest(); d != tm.Manifests[0].Digest {
		t.Errorf("reader digest %s, want %s", d, tm.Manifests[0].Digest)
	}
}

// TestReproducible builds an oci-archive twice and compares the bytes
// with a golden digest.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	amd := writeImage(t, dir, "amd64", "", false)
	arm := writeImage(t, dir, "arm", "v7", false)
	var sums []v1.Hash
	for i := range 2 {
		out := filepath.Join(dir, "index"+string(rune('0'+i))+".tar")
		if err := build(t, out, "oci-archive", amd, arm); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(out)
		h, _, _ := v1.SHA256(f)
		f.Close()
		sums = append(sums, h)
	}
	if sums[0] != sums[1] {
		t.Fatalf("two builds differ: %s, %s", sums[0], sums[1])
	}
	golden := filepath.Join("testdata", "archive.sha256")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, []byte(sums[0].String()+"\n"), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != sums[0].String() {
		t.Errorf("archive %s, golden %s", sums[0], want)
	}
}

// TestBadInput: each error names the entry and says what to do.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	amd := writeImage(t, dir, "amd64", "", false)
	amd2 := writeImage(t, dir, "amd64", "", true)
	armNo := writeImage(t, dir, "arm64", "", true)
	arm8 := writeImage(t, dir, "arm64", "v8", false)
	noArch := writeImage(t, dir, "-", "", false)
	sparc := writeImage(t, dir, "sparc", "", false)
	badVariant := writeImage(t, dir, "arm", "v9", false)
	nested := filepath.Join(dir, "nested")
	if err := build(t, nested, "", amd, arm8); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		format string
		images []string
		want   string
	}{
		{"same platform", "", []string{amd, amd2}, "images[0] (" + amd + ") and images[1] (" + amd2 + ") are both for linux/amd64"},
		{"arm64 with and without v8", "", []string{armNo, arm8}, "are both for linux/arm64/v8"},
		{"no architecture", "", []string{amd, noArch}, "images[1] (" + noArch + "): the image config has no architecture"},
		{"unknown architecture", "", []string{sparc}, `images[0] (` + sparc + `): unknown architecture "sparc"`},
		{"unknown variant", "", []string{badVariant}, `unknown variant "v9" of architecture "arm"`},
		{"empty", "", nil, "images is empty"},
		{"docker-archive", "docker-archive", []string{amd}, `format "docker-archive": ` + format.ErrDockerIndex.Error()},
		{"unknown format", "tar", []string{amd}, `format: unknown format "tar"`},
		{"an index as input", "", []string{nested}, "images[0] (" + nested + "): the image is itself a multi-platform index"},
		{"missing file", "", []string{filepath.Join(dir, "nope")}, "images[0] (" + filepath.Join(dir, "nope") + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := build(t, out, tt.format, tt.images...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "nixlayer.buildImageIndex: ") {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("an output was left at %s", out)
			}
		})
	}
}

// TestFormatErrors: the format errors wrap format's, so that callers can
// tell them with errors.Is.
func TestFormatErrors(t *testing.T) {
	_, err := (&Spec{Name: "multi", Format: "docker-archive", Images: []string{"/x"}}).Resolve("x", "")
	if !errors.Is(err, format.ErrDockerIndex) {
		t.Errorf("docker-archive: %v is not format.ErrDockerIndex", err)
	}
	_, want := format.Parse("tar")
	if _, err := (&Spec{Name: "multi", Format: "tar", Images: []string{"/x"}}).Resolve("x", ""); err == nil || !strings.HasSuffix(err.Error(), want.Error()) {
		t.Errorf("unknown format: %v, want it to end with %q", err, want)
	}
}

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(`{"name":"a","images":["/x"]}`), "attrs")
	if err != nil || s.Name != "a" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseSpec([]byte(`{"name":"a","imgs":[]}`), "attrs"); err == nil || !strings.Contains(err.Error(), `unknown field "imgs"`) {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := (&Spec{Name: "a", Images: []string{"/x"}, Annotations: map[string]string{"": "x"}}).Resolve("x", ""); err == nil || !strings.Contains(err.Error(), "annotations: an annotation has an empty name") {
		t.Errorf("an empty annotation name: %v", err)
	}
}
