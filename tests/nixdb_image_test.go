package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestImageWithNixDB builds a layered image with includeNixDB through Nix,
// unpacks it, and lets the host's Nix check the database inside: every path
// verifies, and each contents path has the references and requisites the
// host's store has for it.
func TestImageWithNixDB(t *testing.T) {
	out := testutil.NixBuild(t, `[
	  (nl.buildLayeredImageWithNixDb { name = "dbimg"; tag = "v1"; contents = [ testPkgs.hello testPkgs.bbBin ]; config.Cmd = [ "/bin/hello" ]; })
	  testPkgs.hello testPkgs.bbBin ]`)
	paths := strings.Fields(out)
	if len(paths) != 3 {
		t.Fatalf("nix-build printed %q", out)
	}
	img, roots := paths[0], paths[1:]
	rootfs := testutil.Unpack(t, img)

	if stderr, err := verifyStore(rootfs); err != nil {
		t.Fatalf("nix-store --verify --check-contents in the image: %v\n%s", err, stderr)
	}
	for _, p := range roots {
		for _, q := range []string{"--references", "--requisites"} {
			got := lines(nixStore(t, rootfs, "-q", q, p))
			want := lines(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-q", q, p))
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("nix-store -q %s %s in the image = %v, on the host %v", q, p, got, want)
			}
		}
		link := filepath.Join(rootfs, "nix/var/nix/gcroots/docker", filepath.Base(p))
		if target, err := os.Readlink(link); err != nil || target != p {
			t.Errorf("gcroot %s -> %q (%v), want %s", link, target, err, p)
		}
	}
}
