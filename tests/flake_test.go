package tests

import (
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestFlakeOutputs evaluates flake.nix's outputs function with a stand-in
// for nixpkgs (no nixpkgs can be fetched here): callPackage hands back the
// nixlayer binary under test and pkgs.hello is the test hello. It builds the
// flake's hello-image and checks that lib exposes every builder.
func TestFlakeOutputs(t *testing.T) {
	root := testutil.RepoRoot(t)
	out := testutil.NixBuild(t, `let
	  flake = import `+root+`/flake.nix;
	  system = builtins.currentSystem;
	  nixlayerBin = builtins.path { path = `+testutil.Binary(t)+`; name = "nixlayer"; };
	  fakePkgs = { hello = testPkgs.hello; callPackage = _: _: nixlayerBin; };
	  nixpkgs = {
	    lib.genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
	    legacyPackages.${system} = fakePkgs;
	  };
	  outputs = flake.outputs { self = outputs; inherit nixpkgs; };
	  lib = outputs.lib.${system};
	  wanted = [ "buildImage" "buildLayeredImage" "streamLayeredImage" "buildImageWithNixDb" "pullImage" "exportImage" "closureInfo" "copyToRegistry" "copyToDockerDaemon" "copyToPodman" "copyTo" "pullImageFromLock" "streamNixShellImage" "buildNixShellImage" ];
	  missing = builtins.filter (n: !(lib ? ${n})) wanted;
	in
	  assert missing == [ ] || throw "flake lib lacks ${toString missing}";
	  assert outputs.packages.${system}.default == nixlayerBin;
	  outputs.packages.${system}.hello-image`)
	if !strings.HasSuffix(out, "docker-image-hello.tar") {
		t.Fatalf("the flake's hello-image is %q", out)
	}
	rootfs := testutil.Unpack(t, out)
	if got := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/hello"); got != "Hello from nixlayer\n" {
		t.Errorf("the flake's hello-image runs /bin/hello: %q", got)
	}
}
