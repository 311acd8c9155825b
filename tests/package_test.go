package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestVendorHashCurrent guards nix/package.nix: its vendorHash must be the
// hash of what `go mod vendor` makes now, or buildGoModule fails for users.
func TestVendorHashCurrent(t *testing.T) {
	testutil.RequireTool(t, "nix-hash")
	root := testutil.RepoRoot(t)
	want := strings.TrimSpace(testutil.Run(t, root, nil, "bash", filepath.Join(root, "nix", "vendor-hash.sh")))
	pkg, err := os.ReadFile(filepath.Join(root, "nix", "package.nix"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pkg), `vendorHash = "`+want+`";`) {
		t.Errorf("nix/package.nix has a stale vendorHash: set it to %q (nix/vendor-hash.sh prints it)", want)
	}
}

// TestPackageSourceFilter evaluates nix/package.nix's source filter with a
// stand-in for nixpkgs' lib (the few functions it calls, with nixpkgs'
// meaning): every Go package directory and Go file is in the source, and
// the directories the build does not read are out.
func TestPackageSourceFilter(t *testing.T) {
	testutil.RequireTool(t, "nix-instantiate")
	root := testutil.RepoRoot(t)
	expr := `
let
  lib = rec {
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
    hasSuffix = x: s: let n = builtins.stringLength s; m = builtins.stringLength x;
      in n >= m && builtins.substring (n - m) m s == x;
    removePrefix = p: s: if hasPrefix p s then builtins.substring (builtins.stringLength p) (-1) s else s;
    splitString = sep: s: builtins.filter builtins.isString (builtins.split sep s);
    cleanSourceWith = a: a;
    licenses.asl20 = null; platforms.linux = [ ];
  };
  pkg = import ` + root + `/nix/package.nix { inherit lib; buildGoModule = a: a; };
  keep = rel: type: pkg.src.filter (toString ` + root + ` + "/" + rel) type;
in map (x: keep x.rel x.type) [
  { rel = "nixdb"; type = "directory"; } { rel = "nixattrs"; type = "directory"; }
  { rel = "nixdb/schema.sql"; type = "regular"; } { rel = "spec"; type = "directory"; }
  { rel = "image/base"; type = "directory"; } { rel = "main.go"; type = "regular"; }
  { rel = "go.mod"; type = "regular"; }
  { rel = "nix"; type = "directory"; } { rel = "tests"; type = "directory"; }
  { rel = "examples"; type = "directory"; } { rel = "bench"; type = "directory"; }
  { rel = "README.md"; type = "regular"; }
]`
	got := strings.TrimSpace(testutil.Run(t, root, testutil.NixEnv(), "nix-instantiate", "--eval", "--strict", "--json", "-E", expr))
	want := `[true,true,true,true,true,true,true,false,false,false,false,false]`
	if got != want {
		t.Errorf("filter of nixdb, nixattrs, nixdb/schema.sql, spec, image/base, main.go, go.mod, nix, tests, examples, bench, README.md = %s, want %s", got, want)
	}
}
