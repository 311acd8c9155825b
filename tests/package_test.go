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
