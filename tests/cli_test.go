package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestBuildImageFlags builds a layered image with the Nix DB from the
// command line alone, from a closure given as `nix-store --dump-db` prints
// it: the flags reach the image.
func TestBuildImageFlags(t *testing.T) {
	hello := testutil.NixBuild(t, "testPkgs.hello")
	paths := strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-qR", hello))
	reg := filepath.Join(t.TempDir(), "registration")
	dump := testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"--dump-db"}, paths...)...)
	if err := os.WriteFile(reg, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar.gz")
	testutil.Run(t, "", []string{"NIX_ATTRS_JSON_FILE="}, testutil.Exe(t), "build-image", "--closure", reg, "--out", out,
		"--name", "Flags", "--tag", "v2", "--contents", hello, "--layering", "popularity", "--max-layers", "3",
		"--include-nix-db", "--compression", "zstd", "--config", `{"Cmd":["/bin/hello"]}`)
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, h := range cf.History {
		comments = append(comments, h.Comment)
	}
	if len(comments) != 3 || !strings.Contains(comments[0], hello) || !strings.HasPrefix(comments[2], "Nix database registering 3") {
		t.Errorf("history %q: want one store layer holding hello (maxLayers 3 keeps two for the root and the DB), the root, then the Nix database", comments)
	}
	m := string(archiveMember(t, out, "manifest.json"))
	if !strings.Contains(m, `"flags:v2"`) || strings.Count(m, ".tar.zst") != 3 {
		t.Errorf("manifest.json %s: want the tag flags:v2 and three .tar.zst layers", m)
	}
}
