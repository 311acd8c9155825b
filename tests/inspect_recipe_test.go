package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// inspectFull is the part of `nixlayer inspect --json` these tests read.
type inspectFull struct {
	Format, Ref, ConfigDigest string
	Layers                    []struct {
		Digest, DiffID string
		Size           int64
		StorePaths     []string
	}
	Images []struct {
		Ref, ConfigDigest, Platform string
		Layers                      int
	}
}

func inspectJSON(t *testing.T, args ...string) inspectFull {
	t.Helper()
	out := testutil.Run(t, "", nil, testutil.Exe(t), append([]string{"inspect", "--json"}, args...)...)
	var r inspectFull
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("nixlayer inspect --json %q: %v\n%s", args, err, out)
	}
	return r
}

// TestInspectStreamScript: `nixlayer inspect` of a stream script reads its
// recipe: the same layers, digests, store paths and config as the image the
// script writes, without producing a layer (a copy naming a store path
// that does not exist is described all the same).
func TestInspectStreamScript(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, "[ "+
		layeredExpr("streamLayeredImage", "recipe", "docker-archive", "none")+" testPkgs.hello ]"))
	script, hello := paths[0], paths[1]
	file := filepath.Join(t.TempDir(), "image.tar")
	testutil.Run(t, "", nil, script, "-o", file)

	got, want := inspectJSON(t, script), inspectJSON(t, file)
	if got.Format != "stream-script" || got.Ref != "recipe:v1" {
		t.Errorf("format %q, ref %q; want stream-script, recipe:v1", got.Format, got.Ref)
	}
	if got.ConfigDigest != want.ConfigDigest || !reflect.DeepEqual(got.Layers, want.Layers) {
		t.Errorf("recipe:\n%+v\nwritten image:\n%+v", got, want)
	}
	found := false
	for _, l := range got.Layers {
		found = found || reflect.DeepEqual(l.StorePaths, []string{hello})
	}
	if !found {
		t.Errorf("no layer of the recipe holds %s: %+v", hello, got.Layers)
	}
	table := testutil.Run(t, "", nil, testutil.Exe(t), "inspect", script)
	if !strings.Contains(table, "stream-script") || !strings.Contains(table, filepath.Base(hello)) {
		t.Errorf("inspect table:\n%s", table)
	}

	// A copy whose recipe names a store path that is not there: the stream
	// fails, the recipe is still described.
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	gone := strings.Replace(hello, filepath.Base(hello)[:8], "00000000", 1)
	copyPath := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(data), hello, gone)), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := testutil.RunErr("", nil, testutil.Exe(t), "stream", copyPath, "-o", filepath.Join(t.TempDir(), "x.tar")); err == nil {
		t.Error("streaming a script whose store path is gone succeeded")
	}
	r := inspectJSON(t, copyPath)
	found = false
	for _, l := range r.Layers {
		found = found || reflect.DeepEqual(l.StorePaths, []string{gone})
	}
	if !found {
		t.Errorf("the recipe of the copy does not list %s: %+v", gone, r.Layers)
	}
}

// TestInspectSeveralImages: an OCI layout holding several images (skopeo
// copies two into one) and a mergeImages archive list each image.
func TestInspectSeveralImages(t *testing.T) {
	testutil.RequireTool(t, "skopeo")
	paths := strings.Fields(testutil.NixBuild(t, `let
  a = nl.buildImage { name = "several-a"; tag = "one"; contents = testPkgs.bbBin; };
  b = nl.buildLayeredImage { name = "several-b"; tag = "two"; contents = [ testPkgs.hello testPkgs.bbBin ]; };
in [ a b (nl.mergeImages [ a b ]) ]`))
	a, b, merged := paths[0], paths[1], paths[2]
	dir := filepath.Join(t.TempDir(), "layout")
	testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+a, "oci:"+dir+":one")
	testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+b, "oci:"+dir+":two")
	ra, rb := inspectJSON(t, a), inspectJSON(t, b)

	// skopeo rewrites the configs it copies into a layout (other digests),
	// so only the merged archive keeps ours.
	for _, tt := range []struct {
		src     string
		refs    []string
		ourCfgs bool
	}{
		{dir, []string{":one", ":two"}, false},
		{merged, []string{"several-a:one", "several-b:two"}, true},
	} {
		r := inspectJSON(t, tt.src)
		if len(r.Images) != 2 {
			t.Fatalf("%s: %d images listed, want 2: %+v", tt.src, len(r.Images), r.Images)
		}
		for i, want := range []inspectFull{ra, rb} {
			im := r.Images[i]
			if im.Ref != tt.refs[i] || (tt.ourCfgs && im.ConfigDigest != want.ConfigDigest) || im.Layers != len(want.Layers) || im.Platform != "linux/"+runtime.GOARCH {
				t.Errorf("%s: image %d is %+v, want %s, config %s, %d layers", tt.src, i+1, im, tt.refs[i], want.ConfigDigest, len(want.Layers))
			}
		}
		if r.ConfigDigest != r.Images[0].ConfigDigest {
			t.Errorf("%s: describes config %s, want the first image's %s", tt.src, r.ConfigDigest, r.Images[0].ConfigDigest)
		}
		if second := inspectJSON(t, tt.src, "--tag", "two"); second.ConfigDigest != r.Images[1].ConfigDigest || len(second.Layers) != len(rb.Layers) {
			t.Errorf("%s --tag two: config %s, want %s", tt.src, second.ConfigDigest, r.Images[1].ConfigDigest)
		}
	}
	table := testutil.Run(t, "", nil, testutil.Exe(t), "inspect", merged)
	if !strings.Contains(table, "holds 2 images") || !strings.Contains(table, "several-b:two") {
		t.Errorf("inspect table of the merged archive:\n%s", table)
	}
}

// TestInspectStreamScriptOnBase: the recipe of a stream script on a base
// image describes the base's layers too (their store paths read from the
// base's tars), as the image the script writes.
func TestInspectStreamScriptOnBase(t *testing.T) {
	script := testutil.NixBuild(t, `nl.streamLayeredImage {
  name = "recipe-on-base"; tag = "v1";
  fromImage = nl.buildImage { name = "recipe-base"; tag = "v1"; contents = testPkgs.bbBin; };
  contents = [ testPkgs.hello ];
  config.Cmd = [ "/bin/hello" ];
}`)
	file := filepath.Join(t.TempDir(), "image.tar")
	testutil.Run(t, "", nil, script, "-o", file)
	got, want := inspectJSON(t, script), inspectJSON(t, file)
	if got.ConfigDigest != want.ConfigDigest || !reflect.DeepEqual(got.Layers, want.Layers) || len(got.Layers) < 2 {
		t.Errorf("recipe:\n%+v\nwritten image:\n%+v", got, want)
	}
	if len(got.Layers[0].StorePaths) == 0 {
		t.Errorf("the base layer's store paths are not listed: %+v", got.Layers[0])
	}
}
