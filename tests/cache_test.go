package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/wire"
)

// busyboxLayer is a cached layer of busybox (bbBin and busybox-static).
const busyboxLayer = `(nl.buildLayer { name = "busybox-layer"; deps = [ testPkgs.bbBin ]; })`

// readLayerFile reads a buildLayer output's descriptor.
func readLayerFile(t *testing.T, out string) *wire.LayerFile {
	t.Helper()
	f, err := wire.ReadLayerFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCachedLayers builds a cached layer of busybox with Nix, then every
// builder over it: the layer is the image's first, the same blob, and its
// store paths are in no other layer; skopeo reads each image, and the Nix
// database still registers busybox.
func TestCachedLayers(t *testing.T) {
	builders := []struct{ name, expr string }{
		{"buildLayeredImage", `nl.buildLayeredImage { name = "c"; tag = "v1"; contents = [ testPkgs.hello testPkgs.bbBin ]; layers = [ layer ]; config.Cmd = [ "/bin/hello" ]; }`},
		{"oci-layout", `nl.buildLayeredImage { name = "c"; tag = "v1"; contents = [ testPkgs.hello testPkgs.bbBin ]; layers = [ layer ]; format = "oci-layout"; compression = "zstd"; }`},
		{"oci-archive", `nl.buildLayeredImage { name = "c"; tag = "v1"; contents = [ testPkgs.hello ]; layers = [ layer ]; format = "oci-archive"; }`},
		{"buildImage", `nl.buildImage { name = "c"; tag = "v1"; copyToRoot = [ testPkgs.hello testPkgs.bbBin ]; layers = [ layer ]; }`},
		{"buildLayeredImageWithNixDb", `nl.buildLayeredImageWithNixDb { name = "c"; tag = "v1"; contents = [ testPkgs.hello ]; layers = [ layer ]; }`},
		{"buildImageWithNixDb", `nl.buildImageWithNixDb { name = "c"; tag = "v1"; contents = [ testPkgs.hello ]; layers = [ layer ]; }`},
	}
	exprs := []string{"layer", "testPkgs.hello", "testPkgs.bbBin"}
	for _, b := range builders {
		exprs = append(exprs, "("+b.expr+")")
	}
	paths := strings.Fields(testutil.NixBuild(t, "let layer = "+busyboxLayer+"; in [ "+strings.Join(exprs, "\n")+" ]"))
	if len(paths) != len(exprs) {
		t.Fatalf("nix-build gave %q", paths)
	}
	layerOut, hello := paths[0], paths[1]
	f := readLayerFile(t, layerOut)
	if len(f.Layers) != 1 || f.Layers[0].Compression != "gzip" || f.Platform.Architecture != "amd64" {
		t.Fatalf("layer descriptor %+v: want one gzip layer for amd64", f)
	}
	want := f.Layers[0]
	for i, b := range builders {
		image := paths[i+3]
		t.Run(b.name, func(t *testing.T) {
			r := nixlayerInspect(t, image)
			if r.Layers[0].Digest != want.Digest || r.Layers[0].DiffID != want.DiffID || r.Layers[0].Size != want.Size {
				t.Fatalf("layer 1 is %+v, want the cached %+v", r.Layers[0], want)
			}
			for j, l := range r.Layers[1:] {
				for _, p := range l.StorePaths {
					if slices.Contains(want.StorePaths, p) {
						t.Errorf("layer %d repeats %s, which the cached layer holds", j+2, p)
					}
				}
			}
			format := r.Format
			testutil.RequireTool(t, "skopeo")
			testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", skopeoRef(format, image), "oci:"+filepath.Join(t.TempDir(), "oci")+":v1")
			if strings.Contains(b.name, "NixDb") {
				rootfs := testutil.Unpack(t, image)
				if stderr, err := verifyStore(rootfs); err != nil {
					t.Fatalf("nix-store --verify --check-contents in the image: %v\n%s", err, stderr)
				}
				got := lines(nixStore(t, rootfs, "-q", "--requisites", hello))
				for _, p := range want.StorePaths {
					if !slices.Contains(got, p) {
						t.Errorf("the image's Nix database does not register %s (requisites of hello: %v)", p, got)
					}
				}
			}
		})
	}
}

// TestCachedLayerStream: a stream script over a cached layer names the
// layer's blob file and streams it as it is.
func TestCachedLayerStream(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, "let layer = "+busyboxLayer+"; in [ layer (nl.streamLayeredImage { name = \"s\"; tag = \"v1\"; contents = [ testPkgs.hello testPkgs.bbBin ]; layers = [ layer ]; config.Cmd = [ \"/bin/hello\" ]; }) ]"))
	if len(paths) != 2 {
		t.Fatalf("nix-build gave %q", paths)
	}
	want := readLayerFile(t, paths[0]).Layers[0]
	file := filepath.Join(paths[0], wire.BlobPath(want.Digest))
	script, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte(`"file":"`+file+`"`)) {
		t.Errorf("the stream script does not name the blob file %s:\n%s", file, script)
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	testutil.Run(t, "", nil, paths[1], "-o", archive)
	r := nixlayerInspect(t, archive)
	if r.Layers[0].Digest != want.Digest {
		t.Fatalf("streamed layer 1 is %+v, want the cached %+v", r.Layers[0], want)
	}
	blob, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := blobBytes(t, "docker-archive", archive, want.Digest); !bytes.Equal(got, blob) {
		t.Errorf("the streamed layer (%d bytes) is not the layer's blob file (%d bytes)", len(got), len(blob))
	}
	testutil.RequireTool(t, "skopeo")
	testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+archive, "oci:"+filepath.Join(t.TempDir(), "oci")+":v1")
	if !testutil.DockerAvailable() {
		t.Log("no Docker engine (docker info fails): docker load and run not checked")
		return
	}
	// Mixed compressions: the cached layer is gzip, the stream's own are not compressed.
	testutil.Run(t, "", nil, "docker", "load", "-i", archive)
	t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", "s:v1") })
	if out := testutil.Run(t, "", nil, "docker", "run", "--rm", "s:v1"); !strings.Contains(out, "Hello from nixlayer") {
		t.Errorf("docker run printed %q", out)
	}
}

// TestCachedLayerSameBlob: buildLayer and an image's own layering of the
// same store paths with the same settings give the same blob.
func TestCachedLayerSameBlob(t *testing.T) {
	for _, c := range []string{"gzip", "zstd", "none"} {
		t.Run(c, func(t *testing.T) {
			settings := `compression = "` + c + `"; uid = 5; gid = 6; mtime = 12345;`
			paths := strings.Fields(testutil.NixBuild(t, `[
  (nl.buildLayer { deps = [ testPkgs.hello ]; `+settings+` })
  (nl.buildLayeredImage { name = "same"; contents = [ testPkgs.hello ]; maxLayers = 2; `+settings+` })
]`))
			if len(paths) != 2 {
				t.Fatalf("nix-build gave %q", paths)
			}
			want := readLayerFile(t, paths[0]).Layers[0]
			r := nixlayerInspect(t, paths[1])
			if r.Layers[0].Digest != want.Digest {
				t.Errorf("the image's own layer of hello's closure is %s, buildLayer's %s", r.Layers[0].Digest, want.Digest)
			}
		})
	}
}

// TestCachedLayerBadInput: what is not a buildLayer output, a layer for
// another architecture, and a layer budget too small are refused by the
// build, naming them.
func TestCachedLayerBadInput(t *testing.T) {
	for _, c := range []struct{ name, expr, want string }{
		{"not a layer", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; layers = [ testPkgs.bbBin ]; }`,
			"is not a layer built by nl.buildLayer (it has no layer.json): give layers only what buildLayer returns"},
		{"architecture", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; layers = [ (nl.buildLayer { deps = [ testPkgs.bbBin ]; architecture = "arm64"; }) ]; }`,
			"was built for linux/arm64/v8, the image is for linux/amd64"},
		{"maxLayers", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; maxLayers = 2; layers = [ (nl.buildLayer { deps = [ testPkgs.bbBin ]; }) ]; }`,
			"maxLayers = 2 leaves no layer for the image's own store paths: 1 layers come from `layers`"},
		{"unknown argument", `nl.buildLayer { deps = [ testPkgs.bbBin ]; maxLayer = 2; }`,
			"nixlayer.buildLayer: unknown argument maxLayer; did you mean maxLayers?"},
		// A layer output whose blob is a symlink out (a file of the
		// closure here), for each format: refused, never copied or linked.
		{"symlinked blob", fakeLayer(`ln -s ${testPkgs.hello}/bin/hello $out/blobs/sha256/$hex`, "docker-archive"), "-fake-layer/blobs/sha256/"},
		{"symlinked blob, oci-archive", fakeLayer(`ln -s ${testPkgs.hello}/bin/hello $out/blobs/sha256/$hex`, "oci-archive"), ": a symlink, not a regular file"},
		{"symlinked blob, oci-layout", fakeLayer(`ln -s ${testPkgs.hello}/bin/hello $out/blobs/sha256/$hex`, "oci-layout"), ": a symlink, not a regular file"},
		{"layer.json a link to /dev/zero", fakeLayer(`cp $real/blobs/sha256/$hex $out/blobs/sha256/; rm $out/layer.json; ln -s /dev/zero $out/layer.json`, "docker-archive"),
			"/layer.json: a symlink, not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := testutil.NixBuildErr(t, c.expr)
			if err == nil {
				t.Fatalf("built %s", out)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, c.want)
			}
		})
	}
}

// fakeLayer is an image of format over a copy of a buildLayer output
// whose blob (blobs/sha256/$hex) the shell commands make.
func fakeLayer(make, format string) string {
	return `nl.buildLayeredImage { name = "x"; format = "` + format + `"; contents = [ testPkgs.hello ]; layers = [
	  (testPkgs.runCommand "fake-layer" { real = ` + busyboxLayer + `; } ''
	    mkdir -p $out/blobs/sha256
	    cp $real/layer.json $out/
	    hex=$(basename $real/blobs/sha256/*)
	    ` + make + `
	  '')
	]; }`
}

// TestCachedLayerBinaryCache copies a cached layer (with its closure) to a
// file:// binary cache, then builds the image in a fresh store that has
// only that cache as a substituter: the layer is substituted, not built,
// and the image is the same, byte for byte.
func TestCachedLayerBinaryCache(t *testing.T) {
	testutil.RequireTool(t, "nix")
	expr := "let layer = " + busyboxLayer + "; in { layer = layer; image = nl.buildLayeredImage { name = \"bc\"; tag = \"v1\"; contents = [ testPkgs.hello ]; layers = [ layer ]; }; }"
	layerOut := testutil.NixBuild(t, expr, "-A", "layer")
	image := testutil.NixBuild(t, expr, "-A", "image")
	cache := "file://" + filepath.Join(t.TempDir(), "cache")
	env := []string{"NIX_CONFIG=" + testutil.NixConfig + "\nexperimental-features = nix-command"}
	testutil.Run(t, "", env, "nix", "copy", "--to", cache, layerOut)
	store := filepath.Join(t.TempDir(), "store")
	out, stderr, err := testutil.NixBuildErr(t, expr, "-A", "image", "--store", store,
		"--option", "substituters", cache, "--option", "require-sigs", "false")
	if err != nil {
		t.Fatalf("building in a fresh store: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "copying path '"+layerOut+"' from '"+cache+"'") {
		t.Errorf("the layer %s was not substituted from %s:\n%s", layerOut, cache, stderr)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "building '") && strings.HasSuffix(l, "-busybox-layer.drv'...") {
			t.Errorf("the layer was built in the fresh store: %s\n%s", l, stderr)
		}
	}
	if out != image {
		t.Fatalf("the fresh store built %s, the host %s", out, image)
	}
	got, err := os.ReadFile(filepath.Join(store, image))
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Errorf("the image built in the fresh store (%d bytes) differs from the host's (%d bytes)", len(got), len(wantBytes))
	}
}

// TestCachedLayerPush pushes a stream over a cached layer to a registry,
// then the stream of a new app version through a counting proxy: the
// cached layer is found on the registry (HEAD) and not uploaded; the app's
// layer, the root layer and the config are. The SBOM and provenance
// referrers are left out (--no-sbom, --no-provenance): they are counted by
// tests/sbom_push_test.go and tests/signing_test.go.
func TestCachedLayerPush(t *testing.T) {
	stream := func(v string) string {
		return `(nl.streamLayeredImage { name = "p"; tag = "v1"; contents = [ (testPkgs.run "app-` + v + `" "mkdir -p $out; echo ` + v + ` > $out/version" {}) ]; layers = [ layer ]; })`
	}
	paths := strings.Fields(testutil.NixBuild(t, "let layer = "+busyboxLayer+"; in [ layer "+stream("1")+" "+stream("2")+" ]"))
	if len(paths) != 3 {
		t.Fatalf("nix-build gave %q", paths)
	}
	cached := readLayerFile(t, paths[0]).Layers[0].Digest
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	exe := testutil.Exe(t)
	testutil.Run(t, "", nil, exe, "push", "--quiet", "--insecure", "--no-sbom", "--no-provenance", paths[1], reg.Host+"/cached/app:v1")
	testutil.Run(t, "", nil, exe, "push", "--quiet", "--insecure", "--no-sbom", "--no-provenance", paths[2], proxy.Host+"/cached/app:v2")
	if n := proxy.Count("PUT", "/blobs/uploads/"); n != 3 {
		t.Errorf("the second push committed %d blob uploads, want 3 (app layer, root layer, config)", n)
	}
	if n := proxy.Count("HEAD", "/blobs/"+cached); n == 0 {
		t.Errorf("the second push did not ask the registry for the cached layer %s", cached)
	}
}

// TestCachedLayerIndex joins two images, each over a cached layer built
// for its platform (one of them a stream), into a multi-platform OCI
// index: each image's first layer is its cached layer's blob.
func TestCachedLayerIndex(t *testing.T) {
	img := func(fn, arch string) string {
		return `(nl.` + fn + ` { name = "m"; tag = "v1"; architecture = "` + arch + `"; contents = [ testPkgs.hello ];
  layers = [ (nl.buildLayer { name = "bb-` + arch + `"; deps = [ testPkgs.bbBin ]; architecture = "` + arch + `"; }) ]; })`
	}
	expr := `[ (nl.buildLayer { name = "bb-amd64"; deps = [ testPkgs.bbBin ]; architecture = "amd64"; })
  (nl.buildImageIndex { name = "m"; tag = "v1"; images = [ ` + img("buildLayeredImage", "amd64") + " " + img("streamLayeredImage", "arm64") + ` ]; }) ]`
	paths := strings.Fields(testutil.NixBuild(t, expr))
	if len(paths) != 2 {
		t.Fatalf("nix-build gave %q", paths)
	}
	want := readLayerFile(t, paths[0]).Layers[0].Digest
	testutil.RequireTool(t, "skopeo")
	for _, arch := range []string{"amd64", "arm64"} {
		out := testutil.Run(t, "", nil, "skopeo", "--override-arch", arch, "inspect", "oci:"+paths[1]+":v1")
		var info struct {
			Architecture string
			Layers       []string
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if info.Architecture != arch || len(info.Layers) == 0 {
			t.Fatalf("the index's %s image: %+v", arch, info)
		}
		if arch == "amd64" && info.Layers[0] != want {
			t.Errorf("the amd64 image's first layer is %s, want the cached %s", info.Layers[0], want)
		}
	}
}

// TestBuildLayerFlags builds a cached layer from the command line
// (build-layer --spec --closure --out), then an image over it with
// build-image --layers: the image's first layer is the layer's blob.
func TestBuildLayerFlags(t *testing.T) {
	hello := testutil.NixBuild(t, "testPkgs.hello")
	paths := strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-qR", hello))
	dir := t.TempDir()
	reg := filepath.Join(dir, "registration")
	dump := testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"--dump-db"}, paths...)...)
	spec := filepath.Join(dir, "layer.json")
	if err := os.WriteFile(reg, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(`{"deps":["`+hello+`"],"compression":"zstd"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"NIX_ATTRS_JSON_FILE="}
	layer := filepath.Join(dir, "layer")
	testutil.Run(t, "", env, testutil.Exe(t), "build-layer", "--spec", spec, "--closure", reg, "--out", layer)
	want := readLayerFile(t, layer).Layers[0]
	if len(want.StorePaths) != len(paths) {
		t.Errorf("the layer holds %v, want hello's closure %v", want.StorePaths, paths)
	}
	out := filepath.Join(dir, "img.tar")
	testutil.Run(t, "", env, testutil.Exe(t), "build-image", "--closure", reg, "--out", out, "--name", "flags",
		"--contents", hello, "--layering", "popularity", "--layers", layer)
	if r := nixlayerInspect(t, out); len(r.Layers) != 2 || r.Layers[0].Digest != want.Digest {
		t.Errorf("layers %+v: want the cached %s, then the root", r.Layers, want.Digest)
	}
}
