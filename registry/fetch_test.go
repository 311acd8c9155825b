package registry

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestChoosePlatformBounded: an index of 100,000 manifests (duplicates
// among them) gives a short error listing each platform once.
func TestChoosePlatformBounded(t *testing.T) {
	var idx v1.IndexManifest
	for i := range 100000 {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1,
			Platform: &v1.Platform{OS: "linux", Architecture: fmt.Sprintf("arch%d", i%50)}})
	}
	_, err := choosePlatform(&idx, v1.Platform{OS: "linux", Architecture: "riscv64"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if len(msg) > 2000 || strings.Count(msg, "linux/arch1,") != 1 || !strings.Contains(msg, "and 18 more") {
		t.Errorf("error of %d bytes: %.400s", len(msg), msg)
	}
}
