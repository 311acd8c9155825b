package image_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/spec"
	"github.com/nixlayer/nixlayer/stream"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/wire"
)

// buildLayer runs image.BuildLayer over the test store and returns the
// output directory and its document.
func buildLayer(t *testing.T, s *testStore, sp *spec.LayerSpec) (string, *wire.LayerFile) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "layer")
	if err := image.BuildLayer(context.Background(), &image.LayerRequest{Spec: sp, Graph: s.graph, Out: out}); err != nil {
		t.Fatalf("BuildLayer: %v", err)
	}
	f, err := wire.ReadLayerFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, f
}

// withOutput returns the test store's graph with out (a layer output that
// references refs) in it, as Nix gives an image's closure.
func withOutput(t *testing.T, s *testStore, out string, refs ...string) *registration.Graph {
	t.Helper()
	infos := append([]registration.PathInfo(nil), s.graph.Paths()...)
	infos = append(infos, registration.PathInfo{Path: out, References: refs})
	g, err := registration.NewGraph(s.dir, infos)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// storeLayer puts a layer output at a store path of the test store.
func storeLayer(t *testing.T, s *testStore, dir, name string) string {
	t.Helper()
	out := filepath.Join(s.dir, "2c9hsfcbdnvywwclq1xxd1wbbi6ngvy"+name+"-layer")
	if err := os.Rename(dir, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildLayerSameBlob: a layer built by BuildLayer and the same store
// paths layered by an image itself, with the same settings, are the same
// blob, for every compression.
func TestBuildLayerSameBlob(t *testing.T) {
	s := newTestStore(t)
	for _, c := range []layers.Compression{layers.Gzip, layers.Zstd, layers.None} {
		t.Run(string(c), func(t *testing.T) {
			perms := permAt(s.hello + "/bin/hello")
			_, f := buildLayer(t, s, &spec.LayerSpec{Function: "buildLayer", Deps: []string{s.hello}, Compression: string(c), Uid: 7, Perms: perms})
			if len(f.Layers) != 1 {
				t.Fatalf("%d layers, want 1", len(f.Layers))
			}
			sp := helloSpec(s, format.OCILayout, c)
			sp.Function, sp.Layered, sp.MaxLayers, sp.Uid, sp.Perms = "buildLayeredImage", ptr(true), ptr(2), 7, perms
			img, _ := readBack(t, format.OCILayout, c, build(t, s, sp, ""))
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ls[0].Digest()
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != f.Layers[0].Digest {
				t.Errorf("the image's own layer of %s is %s, buildLayer's %s", s.hello, got, f.Layers[0].Digest)
			}
		})
	}
}

// TestBuildWithCachedLayers builds an image over a cached layer of busybox,
// in every format and as a stream: the layer goes in first as built, and
// busybox is in no other layer.
func TestBuildWithCachedLayers(t *testing.T) {
	s := newTestStore(t)
	dir, f := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.busybox}, Compression: "zstd"})
	out := storeLayer(t, s, dir, "a")
	graph := withOutput(t, s, out, s.busybox)
	want := f.Layers[0]
	blob := filepath.Join(out, wire.BlobPath(want.Digest))
	if err := os.Chmod(blob, 0o444); err != nil { // as in the store
		t.Fatal(err)
	}
	for _, fm := range []format.Format{format.DockerArchive, format.OCILayout, format.OCIArchive, "stream"} {
		t.Run(string(fm), func(t *testing.T) {
			sp := helloSpec(s, fm, layers.Gzip)
			sp.Function, sp.Layered, sp.Layers = "buildLayeredImage", ptr(true), []string{out}
			if fm == "stream" {
				sp.Format, sp.Stream, sp.Compression = "", true, ""
			}
			res := filepath.Join(t.TempDir(), "image")
			req := &image.Request{Spec: sp, Graph: graph, Out: res, Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}, Interpreter: "/bin/nixlayer"}
			if err := image.Build(context.Background(), req); err != nil {
				t.Fatalf("Build: %v", err)
			}
			if fm == format.OCILayout {
				checkLinked(t, blob, filepath.Join(res, wire.BlobPath(want.Digest)))
			}
			if fm == "stream" {
				archive := filepath.Join(t.TempDir(), "stream.tar")
				if err := stream.StreamScript(context.Background(), res, archive, "", nil); err != nil {
					t.Fatalf("streaming: %v", err)
				}
				checkRecipe(t, res, want)
				script, _ := os.ReadFile(res)
				if !bytes.Contains(script, []byte(`"file":"`+filepath.Join(out, wire.BlobPath(want.Digest))+`"`)) {
					t.Errorf("the stream script does not refer to the layer's blob file:\n%s", script)
				}
				res, fm = archive, format.DockerArchive
			}
			// zstd: ggcr's validate reads gzip only, so checks faster here.
			img, _ := readBack(t, fm, layers.Zstd, res)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != 3 {
				t.Fatalf("%d layers, want 3 (cached busybox, hello, root): %+v", len(m.Layers), m.Layers)
			}
			// A docker-archive's manifest.json has no media types (docker load detects the compression).
			if m.Layers[0].Digest.String() != want.Digest || (fm.OCI() && m.Layers[0].MediaType != layers.Zstd.MediaType(true)) {
				t.Errorf("layer 1 is %s %s, want the cached %s (zstd)", m.Layers[0].Digest, m.Layers[0].MediaType, want.Digest)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if c := cf.History[1].Comment; strings.Contains(c, s.busybox) || !strings.Contains(c, s.hello) {
				t.Errorf("layer 2 is %q: want hello alone, busybox is in the cached layer", c)
			}
			if cf.RootFS.DiffIDs[0].String() != want.DiffID {
				t.Errorf("diffID 1 is %s, want %s", cf.RootFS.DiffIDs[0], want.DiffID)
			}
		})
	}
}

// checkRecipe checks that a stream script's recipe (what inspect shows)
// gives the cached layer its own digest and media type.
func checkRecipe(t *testing.T, script string, want wire.Descriptor) {
	t.Helper()
	sc, err := stream.ReadScript(script)
	if err != nil {
		t.Fatal(err)
	}
	img, _, closeFn, err := sc.Recipe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if l := m.Layers[0]; l.Digest.String() != want.Digest || string(l.MediaType) != string(layers.Zstd.MediaType(false)) {
		t.Errorf("the recipe's layer 1 is %s %s, want the cached %s (zstd)", l.Digest, l.MediaType, want.Digest)
	}
}

// checkLinked checks that an OCI layout's blob is a hard link of the
// cached layer's file (both are on one file system here), which kept its
// read-only mode.
func checkLinked(t *testing.T, cached, inLayout string) {
	t.Helper()
	a, err := os.Stat(cached)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Stat(inLayout)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Errorf("the layout's %s is a copy of %s, want a hard link", inLayout, cached)
	}
	if a.Mode().Perm() != 0o444 {
		t.Errorf("the cached layer's blob is now %v, want it left read-only (0444)", a.Mode().Perm())
	}
}

// fakeLayer writes a layer output of n one-byte layers holding no store
// path, for platform arch.
func fakeLayer(t *testing.T, arch string, n int) string {
	return testutil.FakeLayerOutput(t, arch, n)
}

// TestCachedLayerErrors: what is not a buildLayer output, a layer of
// another architecture, a damaged one, and too many layers are refused
// with an error naming them.
func TestCachedLayerErrors(t *testing.T) {
	s := newTestStore(t)
	damaged := fakeLayer(t, "amd64", 1)
	if err := os.WriteFile(filepath.Join(damaged, wire.BlobPath(fmt.Sprintf("sha256:%064x", 1))), []byte("ab"), 0o644); err != nil {
		t.Fatal(err)
	}
	arm := fakeLayer(t, "arm64", 1)
	many := fakeLayer(t, "amd64", 126)
	for _, tt := range []struct {
		name      string
		layers    []string
		maxLayers int
		want      string
	}{
		{"not a layer", []string{s.hello}, 100, "layers[0] = " + s.hello + " is not a layer built by nl.buildLayer (it has no layer.json)"},
		{"a file", []string{s.hello + "/bin/hello"}, 100, "layers[0] = " + s.hello + "/bin/hello is not a layer built by nl.buildLayer"},
		{"not a path", []string{"hello"}, 100, `layers[0] = "hello" is not a store path`},
		{"twice", []string{arm, arm}, 100, "layers[1] = " + arm + " is given twice"},
		{"architecture", []string{arm}, 100, "layers[0] = " + arm + " was built for linux/arm64, the image is for linux/amd64"},
		{"damaged", []string{damaged}, 100, "is damaged: blob " + damaged},
		{"budget", []string{many}, 100, "maxLayers = 100 leaves no layer for the image's own store paths: 126 layers come from `layers`, 0 from the base image, 0 is the Nix database and 1 the customisation layer"},
		{"too many", []string{many, fakeLayer(t, "amd64", 1)}, 127, "the image would have 128 layers (0 from the base image, 127 from `layers`, 1 of its own); Docker and containerd refuse more than 127"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := helloSpec(s, format.DockerArchive, layers.Gzip)
			sp.Function, sp.Layered, sp.Layers, sp.MaxLayers = "buildLayeredImage", ptr(true), tt.layers, &tt.maxLayers
			if tt.name == "too many" {
				// Every store path in a cached layer: only the root layer is the image's own.
				sp.Contents = nil
				g, err := registration.NewGraph(s.dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				sp.Symlinks = map[string]string{"bin/x": "y"}
				req := &image.Request{Spec: sp, Graph: g, Out: filepath.Join(t.TempDir(), "image"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
				checkErr(t, image.Build(context.Background(), req), tt.want, req.Out)
				return
			}
			req := &image.Request{Spec: sp, Graph: s.graph, Out: filepath.Join(t.TempDir(), "image"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
			checkErr(t, image.Build(context.Background(), req), tt.want, req.Out)
		})
	}
}

func permAt(path string) []customize.Perm {
	return []customize.Perm{{Path: path, Mode: ptr("0644")}}
}

func checkErr(t *testing.T, err error, want, out string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error saying %q", err, want)
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Errorf("%s was written despite the error", out)
	}
}

// TestBuildLayerErrors: bad buildLayer arguments name the field.
func TestBuildLayerErrors(t *testing.T) {
	s := newTestStore(t)
	below, _ := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.hello}})
	for _, tt := range []struct {
		name string
		sp   spec.LayerSpec
		want string
	}{
		{"nothing", spec.LayerSpec{}, "nixlayer.buildLayer: a layer needs deps or copyToRoot"},
		{"max layers", spec.LayerSpec{Deps: []string{s.hello}, MaxLayers: ptr(0)}, "maxLayers = 0: a layer derivation holds 1 to 126 layers"},
		{"compression", spec.LayerSpec{Deps: []string{s.hello}, Compression: "lz4"}, `unknown compression "lz4"`},
		{"layering", spec.LayerSpec{Deps: []string{s.hello}, Layering: "best"}, `unknown layering strategy "best"`},
		{"not in closure", spec.LayerSpec{Deps: []string{s.dir + "/3c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-x"}}, "3c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-x is not in the closure"},
		{"all below", spec.LayerSpec{Deps: []string{s.busybox}, Layers: []string{below}}, "nothing to put in the layer: every store path of deps is in layers already"},
		{"perm matches nothing", spec.LayerSpec{Deps: []string{s.busybox}, Perms: permAt("/etc/shadow")}, "matches nothing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.sp.Function = "buildLayer"
			out := filepath.Join(t.TempDir(), "layer")
			checkErr(t, image.BuildLayer(context.Background(), &image.LayerRequest{Spec: &tt.sp, Graph: s.graph, Out: out}), tt.want, out)
		})
	}
}

// TestBuildLayerSplits: maxLayers splits the closure, copyToRoot goes at
// the root of the top layer, and the layers below are left out.
func TestBuildLayerSplits(t *testing.T) {
	s := newTestStore(t)
	_, f := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.hello}, MaxLayers: ptr(2), CopyToRoot: []string{s.busybox}})
	if len(f.Layers) != 2 || f.Platform != (wire.Platform{Architecture: "amd64", OS: "linux"}) {
		t.Fatalf("got %+v, want 2 layers for linux/amd64", f)
	}
	if !strings.HasSuffix(f.Layers[1].Comment, "contents at the image root") {
		t.Errorf("top layer comment %q: want the copied root", f.Layers[1].Comment)
	}
	below, _ := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.busybox}})
	_, above := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.hello}, Layers: []string{below}})
	if got := above.Layers[0].StorePaths; len(got) != 1 || got[0] != s.hello {
		t.Errorf("above busybox's layer, the layer holds %v, want hello alone", got)
	}
	for _, d := range append(f.Layers, above.Layers...) {
		if _, err := v1.NewHash(d.Digest); err != nil || d.MediaType != string(layers.Gzip.MediaType(true)) {
			t.Errorf("descriptor %+v: want a digest and the OCI gzip media type", d)
		}
	}
}

// TestStreamCachedLayerGone: a stream script whose cached layer's blob is
// gone says so before writing anything.
func TestStreamCachedLayerGone(t *testing.T) {
	s := newTestStore(t)
	dir, f := buildLayer(t, s, &spec.LayerSpec{Deps: []string{s.busybox}})
	out := storeLayer(t, s, dir, "b")
	sp := helloSpec(s, "", "")
	sp.Function, sp.Layered, sp.Layers, sp.Stream = "streamLayeredImage", ptr(true), []string{out}, true
	script := filepath.Join(t.TempDir(), "stream")
	req := &image.Request{Spec: sp, Graph: withOutput(t, s, out, s.busybox), Out: script, Env: spec.Env{DefaultTag: "latest"}, Interpreter: "/bin/nixlayer"}
	if err := image.Build(context.Background(), req); err != nil {
		t.Fatalf("Build: %v", err)
	}
	blob := filepath.Join(out, wire.BlobPath(f.Layers[0].Digest))
	if err := os.Rename(blob, blob+".gone"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := stream.StreamScript(context.Background(), script, "", "", &buf)
	if err == nil || !strings.Contains(err.Error(), "store path "+blob+", which the image needs, is gone") || buf.Len() > 0 {
		t.Errorf("got %v and %d bytes, want an error naming %s and nothing written", err, buf.Len(), blob)
	}
}

// TestCachedLayerSymlinkBlob: a buildLayer output whose blob is a symlink
// (size set to match) is refused for every output format, naming the
// blob, and nothing is written: no archive copies it, no OCI layout links
// to it.
func TestCachedLayerSymlinkBlob(t *testing.T) {
	s := newTestStore(t)
	out := fakeLayer(t, "amd64", 1)
	blob := filepath.Join(out, wire.BlobPath(fmt.Sprintf("sha256:%064x", 1)))
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte{7}, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, blob); err != nil {
		t.Fatal(err)
	}
	for _, f := range []format.Format{format.DockerArchive, format.OCIArchive, format.OCILayout} {
		t.Run(string(f), func(t *testing.T) {
			sp := helloSpec(s, f, layers.Gzip)
			sp.Function, sp.Layered, sp.Layers = "buildLayeredImage", ptr(true), []string{out}
			req := &image.Request{Spec: sp, Graph: s.graph, Out: filepath.Join(t.TempDir(), "image"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
			checkErr(t, image.Build(context.Background(), req), "layers[0] = "+out+" is damaged: opening "+blob+": a symlink, not a regular file", req.Out)
		})
	}
}
