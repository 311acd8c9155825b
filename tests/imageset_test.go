package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// setImages are three images over overlapping closures: api and worker
// share hello and busybox, cli has busybox only; each has one path of its
// own. maxLayers 4 leaves 3 store-path layers, fewer than api's and
// worker's 4 store paths, so per-image popularity puts hello with each
// image's own path, in different layers.
const setImages = `{
  api = { contents = [ testPkgs.hello testPkgs.bbBin testPkgs.twins ]; tag = "v1"; compression = "gzip"; };
  worker = { builder = "streamLayeredImage"; contents = [ testPkgs.hello testPkgs.bbBin testPkgs.big ]; tag = "v1"; compression = "gzip"; };
  cli = { contents = [ testPkgs.bbBin ]; tag = "v1"; };
}`

// layerByPath maps each store path of an image to the digest of the layer
// holding it.
func layerByPath(r inspectReport) map[string]string {
	m := map[string]string{}
	for _, l := range r.Layers {
		for _, p := range l.StorePaths {
			m[p] = l.Digest
		}
	}
	return m
}

// TestImageSetSharesLayers builds a set (api a docker-archive, worker a
// stream, both gzip) and the same images layered alone: in the set, every
// store path api and worker share is in a layer of the same digest in
// both; alone, hello is not. The report passthru counts the shared layers.
func TestImageSetSharesLayers(t *testing.T) {
	expr := `let
  set = nl.buildImageSet { maxLayers = 4; images = ` + setImages + `; };
  alone = builtins.mapAttrs (n: a: nl.buildLayeredImage ({ name = n; maxLayers = 4; } // builtins.removeAttrs a [ "builder" ])) ` + setImages + `;
in [ set.api set.worker set.cli alone.api alone.worker set.api.imageSet.report testPkgs.hello ]`
	paths := strings.Fields(testutil.NixBuild(t, expr))
	if len(paths) != 7 {
		t.Fatalf("nix-build gave %q", paths)
	}
	api, worker := layerByPath(nixlayerInspect(t, paths[0])), layerByPath(nixlayerInspect(t, paths[1]))
	shared := 0
	for p, d := range api {
		if w, ok := worker[p]; ok {
			shared++
			if w != d {
				t.Errorf("in the set, %s is in layer %s of api and %s of worker", p, d, w)
			}
		}
	}
	if shared < 3 {
		t.Errorf("api and worker share %d store paths, want at least 3 (hello, busybox, busybox-static)", shared)
	}
	if n := len(nixlayerInspect(t, paths[0]).Layers); n > 4 {
		t.Errorf("api has %d layers, more than maxLayers 4", n)
	}
	hello := paths[6]
	aloneAPI, aloneWorker := layerByPath(nixlayerInspect(t, paths[3])), layerByPath(nixlayerInspect(t, paths[4]))
	if aloneAPI[hello] == "" || aloneAPI[hello] == aloneWorker[hello] {
		t.Errorf("layered alone, hello is in layer %q of api and %q of worker: want different layers (the test shows nothing)", aloneAPI[hello], aloneWorker[hello])
	}
	report, err := os.ReadFile(paths[5])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"unique blob bytes: ", "api: ", "worker: ", "cli: ", "api & worker: 2 layers"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
}

// TestImageSetPush pushes api, then worker through a counting proxy, to
// the same repository: the layers worker shares with api are already
// there and are not uploaded again; worker's own layer, its root layer
// and config are. (Into another repository, push uploads them again: it
// does not mount blobs across repositories; the registry stores each blob
// once either way.)
func TestImageSetPush(t *testing.T) {
	expr := `let set = nl.buildImageSet { maxLayers = 4; images = ` + setImages + `; }; in [ set.api set.worker ]`
	paths := strings.Fields(testutil.NixBuild(t, expr))
	if len(paths) != 2 {
		t.Fatalf("nix-build gave %q", paths)
	}
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	exe := testutil.Exe(t)
	testutil.Run(t, "", nil, exe, "push", "--quiet", "--insecure", "--no-sbom", "--no-provenance", paths[0], reg.Host+"/set/app:api")
	testutil.Run(t, "", nil, exe, "push", "--quiet", "--insecure", "--no-sbom", "--no-provenance", paths[1], proxy.Host+"/set/app:worker")
	worker := nixlayerInspect(t, paths[1])
	if n, want := proxy.Count("PUT", "/blobs/uploads/"), len(worker.Layers)+1-2; n != want {
		t.Errorf("pushing worker after api committed %d blob uploads, want %d (its %d layers less the 2 it shares with api, and its config)", n, want, len(worker.Layers))
	}
}

// TestImageSetBadInput: each bad set is an evaluation error that says
// what is wrong and names the images.
func TestImageSetBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, expr, want string
	}{
		{"empty", `nl.buildImageSet { images = { }; }`, "images is empty"},
		{"platforms", `nl.buildImageSet { images = { a = { contents = [ testPkgs.hello ]; architecture = "arm64"; }; b = { contents = [ testPkgs.hello ]; architecture = "amd64"; }; }; }`,
			"images a (arm64) and b (amd64) are for different platforms"},
		{"maxLayers of an image", `nl.buildImageSet { images = { a = { contents = [ testPkgs.hello ]; maxLayers = 3; }; }; }`,
			"image a: maxLayers is an argument of the set"},
		{"buildImage", `nl.buildImageSet { images = { a = { builder = "buildImage"; }; }; }`, "image a: builder buildImage cannot be a member"},
		// an attribute set cannot hold a name twice: Nix refuses it (two
		// attribute set literals under one name merge instead)
		{"name twice", `let x = { contents = [ testPkgs.hello ]; }; in nl.buildImageSet { images = { a = x; a = x; }; }`, "attribute 'a' already defined"},
		{"unknown argument", `nl.buildImageSet { images = { a = { contnets = [ ]; }; }; }`, "did you mean contents?"},
		// the Nix database and two cached layers leave maxLayers = 4 no
		// store-path layer: the error names the smallest that works
		{"budget", `nl.buildImageSet { maxLayers = 4; images = {
  a = { contents = [ testPkgs.hello ]; };
  b = { builder = "buildLayeredImageWithNixDb"; contents = [ testPkgs.hello ];
    layers = [ (nl.buildLayer { name = "l1"; deps = [ testPkgs.bbBin ]; }) (nl.buildLayer { name = "l2"; deps = [ testPkgs.twins ]; }) ]; };
}; }`, "maxLayers = 4 leaves image b no layer for store paths (3 layers are its Nix database and cached layers, 1 its customisation layer); the smallest maxLayers that works for this set is 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := testutil.NixBuildErr(t, `builtins.attrValues (`+tc.expr+`)`)
			if err == nil {
				t.Fatalf("nix-build succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("error lacks %q:\n%s", tc.want, errOut)
			}
		})
	}
}

// TestImageSetComposes: a set whose images take a cached layer and the
// Nix database (api) and a base image (worker) still shares hello's layer
// byte for byte; sets built per platform join into a multi-platform index.
func TestImageSetComposes(t *testing.T) {
	expr := `let
  set = nl.buildImageSet { maxLayers = 6; images = {
    api = { builder = "buildLayeredImageWithNixDb"; contents = [ testPkgs.hello testPkgs.bbBin ];
      layers = [ (nl.buildLayer { name = "bb"; deps = [ testPkgs.bbBin ]; }) ]; };
    worker = { contents = [ testPkgs.hello testPkgs.twins ];
      fromImage = nl.buildImage { name = "base"; tag = "v1"; contents = [ testPkgs.bbBin ]; }; };
  }; };
  perArch = arch: nl.buildImageSet { images = {
    api = { tag = "v1"; architecture = arch; contents = [ testPkgs.hello ]; };
    worker = { tag = "v1"; architecture = arch; contents = [ testPkgs.hello testPkgs.twins ]; };
  }; };
in [ set.api set.worker testPkgs.hello
  (nl.buildImageIndex { name = "api"; tag = "v1"; images = [ (perArch "amd64").api (perArch "arm64").api ]; }) ]`
	paths := strings.Fields(testutil.NixBuild(t, expr))
	if len(paths) != 4 {
		t.Fatalf("nix-build gave %q", paths)
	}
	api, worker, hello := layerByPath(nixlayerInspect(t, paths[0])), layerByPath(nixlayerInspect(t, paths[1])), paths[2]
	if api[hello] == "" || api[hello] != worker[hello] {
		t.Errorf("hello is in layer %q of api and %q of worker, want one layer", api[hello], worker[hello])
	}
	testutil.RequireTool(t, "skopeo")
	for _, arch := range []string{"amd64", "arm64"} {
		out := testutil.Run(t, "", nil, "skopeo", "--override-arch", arch, "inspect", "oci:"+paths[3]+":v1")
		if !strings.Contains(out, `"Architecture": "`+arch+`"`) {
			t.Errorf("the index's %s image:\n%s", arch, out)
		}
	}
}
