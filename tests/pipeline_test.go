package tests

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// pipelineExpr builds, over the closure of hello (hello, busybox, the
// static busybox) and twins: a buildLayeredImage whose layeringPipeline is
// a Nix list naming derivations, and a streamLayeredImage whose pipeline is
// a JSON file a derivation wrote (both forms nixpkgs takes); then the store
// paths.
const pipelineExpr = `let
  contents = [ testPkgs.hello testPkgs.twins ];
  inline = [
    [ "subcomponent_out" [ testPkgs.hello ] ]
    [ "over" "main" [ "popularity_contest" ] ]
    [ "over" "rest" [ "pipe" [ [ "popularity_contest" ] [ "limit_layers" 1 ] ] ] ]
    [ "flatten" ]
  ];
  file = testPkgs.writeText "pipeline.json" (builtins.toJSON [
    [ "remove_paths" [ testPkgs.twins ] ] [ "popularity_contest" ] [ "reverse" ] [ "limit_layers" 2 ]
  ]);
in [
  (nl.buildLayeredImage { name = "pipeline"; tag = "v1"; inherit contents; layeringPipeline = inline; compression = "gzip"; })
  (nl.streamLayeredImage { name = "pipeline"; tag = "v1"; inherit contents; layeringPipeline = file; layering = "pipeline"; })
  testPkgs.hello testPkgs.bbBin testPkgs.twins
]`

// TestLayeringPipeline: the layers of both images hold the store paths
// nixpkgs' pipeline semantics give, in order (the customisation layer on
// top), the stream's pipeline dropping twins, which comes back in a layer
// of its own; skopeo reads the archive; a rebuild (nix-build --check, the
// sandbox on) gives the same bytes.
func TestLayeringPipeline(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, pipelineExpr))
	if len(paths) != 5 {
		t.Fatalf("nix-build gave %q", paths)
	}
	hello, bbBin, twins := paths[2], paths[3], paths[4]
	closure := strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--query", "--requisites", hello))
	var static string
	for _, p := range closure {
		if p != hello && p != bbBin {
			static = p
		}
	}
	if len(closure) != 3 || static == "" {
		t.Fatalf("the closure of hello is %q, want hello, busybox and the static busybox", closure)
	}
	layersOf := func(img string) [][]string {
		var out [][]string
		for _, l := range nixlayerInspect(t, img).Layers {
			var sp []string // nil for a layer of no store path
			if len(l.StorePaths) > 0 {
				sp = slices.Clone(l.StorePaths)
				slices.Sort(sp)
			}
			out = append(out, sp)
		}
		return out
	}
	sorted := func(ps ...string) []string { slices.Sort(ps); return ps }
	// subcomponent_out hello: its closure ranked by popularity (the static
	// busybox, which everything needs, first); the rest (twins) after it.
	want := [][]string{{static}, {bbBin}, {hello}, {twins}, nil}
	if got := layersOf(paths[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("buildLayeredImage layers:\n got %q\nwant %q", got, want)
	}
	// remove_paths twins, popularity, reverse, limit_layers 2: hello alone,
	// busybox with the static busybox; twins, dropped, in a layer above.
	want = [][]string{{hello}, sorted(bbBin, static), {twins}, nil}
	if got := layersOf(paths[1]); !reflect.DeepEqual(got, want) {
		t.Errorf("streamLayeredImage layers:\n got %q\nwant %q", got, want)
	}
	testutil.RequireTool(t, "skopeo")
	var info struct{ Layers []string }
	if err := json.Unmarshal([]byte(testutil.Run(t, "", nil, "skopeo", "inspect", "docker-archive:"+paths[0])), &info); err != nil || len(info.Layers) != 5 {
		t.Errorf("skopeo inspect: %d layers (%v), want 5", len(info.Layers), err)
	}
	if again := strings.Fields(testutil.NixBuild(t, pipelineExpr, "--check")); !reflect.DeepEqual(again, paths) {
		t.Errorf("nix-build --check gave %q, want %q", again, paths)
	}
}

// TestLayeringPipelineErrors: a bad pipeline fails the build with the step
// named, before anything is written; too many layers says how to fix it.
func TestLayeringPipelineErrors(t *testing.T) {
	for _, tc := range []struct{ name, expr, want string }{
		{"unknown step", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; layeringPipeline = [ [ "popularity_contest" ] [ "topological_sort" ] ]; }`,
			`layeringPipeline: step 1: unknown step "topological_sort"`},
		{"negative limit", `nl.streamLayeredImage { name = "x"; contents = [ testPkgs.hello ]; layeringPipeline = [ [ "over" "rest" [ "pipe" [ [ "limit_layers" (-1) ] ] ] ] ]; }`,
			"layeringPipeline: step 0 (over) > step (pipe) > step 0 (limit_layers): the count -1 must be at least 1"},
		{"over budget", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; maxLayers = 3; layeringPipeline = [ [ "popularity_contest" ] ]; }`,
			`it gives 3 layers of store paths, and 2 are available`},
		{"both layerings", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; layering = "size"; layeringPipeline = [ [ "popularity_contest" ] ]; }`,
			`layering = "size" and layeringPipeline are both given`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := testutil.NixBuildErr(t, tc.expr)
			if err == nil {
				t.Fatalf("built %s", out)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr, tc.want)
			}
		})
	}
}
