package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// emptyTarDiffID is the diffID of an empty tar (two zero blocks), the
// layer Docker itself calls empty.
var emptyTarDiffID = func() string {
	sum := sha256.Sum256(make([]byte, 1024))
	return "sha256:" + hex.EncodeToString(sum[:])
}()

// TestBuildImageOnBaseAddsALayer: dockerTools' buildImage always adds its
// one layer to fromImage, even when it brings nothing new (nixpkgs'
// examples layer runAsRoot-only images this way); so does nixlayer's, with
// an empty tar, and the image loads and runs.
func TestBuildImageOnBaseAddsALayer(t *testing.T) {
	paths := strings.Fields(testutil.NixBuild(t, `let
  bash = nl.buildImage { name = "onbase-bash"; tag = "latest"; contents = testPkgs.bbBin; };
in [
  bash
  (nl.buildImage { name = "onbase-nothing"; tag = "latest"; fromImage = bash; sbom = false; })
  (nl.buildImage { name = "onbase-same"; tag = "latest"; fromImage = bash; contents = testPkgs.bbBin; })
]`))
	if len(paths) != 3 {
		t.Fatalf("nix-build gave %q", paths)
	}
	base := nixlayerInspect(t, paths[0])
	for _, p := range paths[1:] {
		r := nixlayerInspect(t, p)
		if len(r.Layers) != len(base.Layers)+1 {
			t.Errorf("%s: %d layers on a base of %d, want one more", filepath.Base(p), len(r.Layers), len(base.Layers))
			continue
		}
		// With contents the base already has, the layer keeps their
		// directories' entries; with nothing at all (and no SBOM, which
		// would be new), it is empty.
		if top := r.Layers[len(r.Layers)-1]; p == paths[1] && top.DiffID != emptyTarDiffID {
			t.Errorf("%s: the new layer has diffID %s, want the empty tar's %s", filepath.Base(p), top.DiffID, emptyTarDiffID)
		}
	}
	testutil.RequireTool(t, "skopeo")
	testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+paths[1], "oci:"+filepath.Join(t.TempDir(), "oci")+":x")
	if !testutil.DockerAvailable() {
		t.Skip("SKIP: no Docker engine answers `docker info`")
	}
	testutil.Run(t, "", nil, "docker", "load", "--input", paths[1])
	t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", "onbase-nothing:latest") })
	testutil.Run(t, "", nil, "docker", "run", "--rm", "onbase-nothing:latest", "sh", "-c", "true")
}

// TestExportImageNames: the NixOS test's check of exportImage,
// `tar -tf ${exportBash} | grep '\./bin/bash'`, with busybox for bash:
// names are dockerTools' (`tar -C root -c .`), the root "./" first, and the
// export is byte-for-byte reproducible.
func TestExportImageNames(t *testing.T) {
	testutil.RequireTool(t, "tar")
	expr := `let bash = nl.buildImage { name = "export-bash"; tag = "latest"; contents = testPkgs.bbBin; };
in nl.exportImage { fromImage = bash; }`
	out := testutil.NixBuild(t, expr)
	list := strings.Split(strings.TrimSpace(testutil.Run(t, "", nil, "tar", "-tf", out)), "\n")
	if len(list) == 0 || list[0] != "./" {
		t.Fatalf("first entry %q, want ./", list)
	}
	for _, want := range []string{"./bin/", "./bin/sh", "./nix/", "./nix/store/"} {
		if !slices.Contains(list, want) {
			t.Errorf("no %s in the export: %q", want, list)
		}
	}
	for _, name := range list {
		if !strings.HasPrefix(name, "./") {
			t.Errorf("entry %q lacks the ./ prefix", name)
		}
	}
	drv := strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--query", "--deriver", out))
	testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--realise", "--check", drv)
}
