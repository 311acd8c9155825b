package tests

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/source"
)

// annotationsMatrix: the default annotations in every kind of builder and
// format, and the argument that turns them off or removes one. The first
// image has no tag: its tag is its output hash, which a check without the
// sandbox changes and which must never become its version.
const annotationsMatrix = `let
  meta = { description = "default annotations"; homepage = [ "https://example.com/a" "https://example.com/b" ]; license = { spdxId = "MIT"; }; };
  common = { contents = [ testPkgs.hello ]; inherit meta; };
in [
  (nl.buildImage (common // { name = "Ann-Single"; format = "oci-layout"; }))
  (nl.buildLayeredImage (common // { name = "ann-layered"; tag = "1.2.0"; meta = meta // { title = "Ann"; }; annotations = true; }))
  (nl.streamLayeredImage (common // { name = "ann-stream"; }))
  (nl.buildLayeredImage (common // { name = "ann-off"; tag = "1.2.0"; annotations = false; }))
  (nl.buildLayeredImage (common // { name = "ann-null"; format = "oci-layout"; annotations = { "org.opencontainers.image.url" = null; "org.opencontainers.image.created" = null; x = "y"; }; }))
]`

// TestDefaultAnnotations builds annotationsMatrix in the sandbox: without
// the annotations argument each manifest has the defaults from the name,
// meta, created and a given tag (never the default tag) and its store-path
// layers nix-snapshotter's; false gives none and the same layer blobs;
// null removes a default; true is the defaults. Then `nix-build --check`
// without the sandbox builds each at another path: the annotations do not
// depend on $out.
func TestDefaultAnnotations(t *testing.T) {
	testutil.RequireTool(t, "nix-build")
	file := testutil.NixExprFile(t, annotationsMatrix)
	outs := strings.Fields(testutil.Run(t, filepath.Dir(file), testutil.NixEnv(), "nix-build", file, "--no-out-link"))
	if len(outs) != 5 {
		t.Fatalf("nix-build printed %q", outs)
	}
	hello := testutil.NixBuild(t, "testPkgs.hello")
	closure := strings.Fields(testutil.Run(t, "", nil, "nix-store", "--query", "--requisites", strings.TrimSpace(hello)))
	fromMeta := map[string]string{
		"org.opencontainers.image.description": "default annotations",
		"org.opencontainers.image.url":         "https://example.com/a",
		"org.opencontainers.image.licenses":    "MIT",
		"org.opencontainers.image.created":     "1970-01-01T00:00:01Z",
	}
	const title, version = "org.opencontainers.image.title", "org.opencontainers.image.version"
	want := []map[string]string{
		with(fromMeta, title, "ann-single"),
		with(fromMeta, title, "Ann", version, "1.2.0"),
		with(fromMeta, title, "ann-stream"),
		nil,
		with(fromMeta, title, "ann-null", "org.opencontainers.image.url", "", "org.opencontainers.image.created", "", "x", "y"),
	}
	manifests := make([]*v1.Manifest, len(outs))
	for i, out := range outs {
		manifests[i] = builtManifest(t, out)
		if got := manifests[i].Annotations; !maps.Equal(got, want[i]) {
			t.Errorf("%s: manifest annotations %v, want %v", out, got, want[i])
		}
		switch {
		case i == 0:
			// buildImage's one layer holds the contents' files at the
			// root: no layer for nix-snapshotter.
		case want[i] != nil:
			checkNixLayers(t, manifests[i], closure)
		default:
			if n := nixLayerCount(manifests[i]); n != 0 {
				t.Errorf("%s: annotations = false, yet %d layers carry nix-snapshotter's annotations", out, n)
			}
		}
	}
	on, off := manifests[1], manifests[3]
	if len(on.Layers) != len(off.Layers) {
		t.Fatalf("%d layers with annotations, %d without", len(on.Layers), len(off.Layers))
	}
	for i := range on.Layers {
		if on.Layers[i].Digest != off.Layers[i].Digest {
			t.Errorf("layer %d: %s with annotations, %s with annotations = false", i, on.Layers[i].Digest, off.Layers[i].Digest)
		}
	}
	checkSandboxOnAndOff(t, file, outs)
}

// TestAnnotationsFlags: build-image gives the defaults without
// --annotations, none with --annotations=false, the given ones over the
// defaults (a null removing one); build-index --annotations annotates the
// index.
func TestAnnotationsFlags(t *testing.T) {
	hello := strings.TrimSpace(testutil.NixBuild(t, "testPkgs.hello"))
	paths := strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-qR", hello))
	reg := filepath.Join(t.TempDir(), "registration")
	if err := os.WriteFile(reg, []byte(testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"--dump-db"}, paths...)...)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NIX_ATTRS_JSON_FILE=", "SOURCE_DATE_EPOCH="}
	created := map[string]string{"org.opencontainers.image.created": "1970-01-01T00:00:01Z"}
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string
	}{
		{"defaults", nil, with(created, "org.opencontainers.image.title", "flags", "org.opencontainers.image.version", "v2")},
		{"false", []string{"--annotations=false"}, nil},
		{"given", []string{"--annotations", `{"org.opencontainers.image.version": null, "a": "b"}`}, with(created, "org.opencontainers.image.title", "flags", "a", "b")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img")
			testutil.Run(t, "", env, testutil.Exe(t), append([]string{"build-image", "--closure", reg, "--out", out,
				"--name", "Flags", "--tag", "v2", "--contents", hello, "--layering", "popularity", "--format", "oci-layout"}, tc.args...)...)
			if got := builtManifest(t, out).Annotations; !maps.Equal(got, tc.want) {
				t.Errorf("manifest annotations %v, want %v", got, tc.want)
			}
			if tc.name != "defaults" {
				return
			}
			ix := filepath.Join(t.TempDir(), "index")
			testutil.Run(t, "", env, testutil.Exe(t), "build-index", "--name", "flags", "--annotations", `{"org.opencontainers.image.description":"both"}`, "--out", ix, out)
			data, err := os.ReadFile(filepath.Join(ix, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
			if err != nil || len(idx.Manifests) != 1 {
				t.Fatalf("index.json %s: %v", data, err)
			}
			nested, err := os.ReadFile(filepath.Join(ix, "blobs", idx.Manifests[0].Digest.Algorithm, idx.Manifests[0].Digest.Hex))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(nested), `"org.opencontainers.image.description":"both"`) {
				t.Errorf("the index %s lacks the --annotations given", nested)
			}
		})
	}
	_, errOut, err := testutil.RunErr("", env, testutil.Exe(t), "build-index", "--name", "flags", "--annotations", `["a"]`, "--out", filepath.Join(t.TempDir(), "x"), hello)
	if err == nil || !strings.Contains(errOut, "--annotations") {
		t.Errorf("build-index --annotations '[\"a\"]': %v, %s; want an error naming the flag", err, errOut)
	}
}

// with returns m with the pairs k, v added (an empty v removes k).
func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// builtManifest returns the manifest of a built image (any format, or a
// stream script through its recipe).
func builtManifest(t *testing.T, out string) *v1.Manifest {
	t.Helper()
	src, err := source.Open(t.Context(), out, source.WithRecipe())
	if err != nil {
		t.Fatalf("opening %s: %v", out, err)
	}
	defer src.Close()
	m, err := src.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nixLayerCount is the number of m's layers nix-snapshotter would make.
func nixLayerCount(m *v1.Manifest) int {
	n := 0
	for _, l := range m.Layers {
		if l.Annotations["containerd.io/snapshot/nix-layer"] == "true" {
			n++
		}
	}
	return n
}

// TestAnnotationsBadInput: an annotations argument that is neither false
// nor a set of strings (and nulls) fails, naming the argument, and leaves
// no output.
func TestAnnotationsBadInput(t *testing.T) {
	for _, tc := range []struct{ name, arg, want string }{
		{"a string", `"x"`, "annotations must be an attribute set of strings (null removes a default), true or false, not a string"},
		{"a list", `[ "a" ]`, "annotations must be an attribute set of strings (null removes a default), true or false, not a list"},
		{"a number value", `{ a = 1; }`, "reading annotations"},
		{"a set value", `{ a.b = "c"; }`, "reading annotations"},
		{"an empty name", `{ "" = "x"; }`, "annotations: an annotation has an empty name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := testutil.NixBuildErr(t, `nl.buildLayeredImage { name = "ann-bad"; contents = [ testPkgs.hello ]; annotations = `+tc.arg+`; }`)
			if err == nil || !strings.Contains(errOut, tc.want) {
				t.Errorf("nix-build: %v, %s\n%s\nwant an error saying %q", err, out, errOut, tc.want)
			}
		})
	}
}
